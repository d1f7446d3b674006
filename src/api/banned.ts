import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { BAN_KINDS, BanInputError, viewOf, type BanRequest } from '../access/banned/entry.js';
import { BannedQueryError, type BannedList, type BannedQuery } from '../access/banned/list.js';
import { Enum } from '../config/types.js';
import { ApiError, badRequest } from './errors.js';
import { ACCESS_ERRORS, errors, NoContent, PageMeta, PageQuery } from './schemas.js';

/** What the routes need of the node's banned list. */
export interface BannedRoutesOptions {
  banned: Pick<BannedList, 'add' | 'delete' | 'clear' | 'page'>;
}

const Kind = Enum(BAN_KINDS, { description: 'what `who` names' });
const Time = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })], {
  expected: 'seconds since the epoch or an RFC 3339 date-time',
});

/** An entry as EMQX answers it (`emqx_banned:format`): times as RFC 3339 in the node's offset. */
const BannedView = Type.Object(
  {
    as: Kind,
    who: Type.String({ description: 'a client id, username, expression, address or CIDR' }),
    by: Type.String(),
    reason: Type.String(),
    at: Type.String({ description: 'RFC 3339' }),
    until: Type.String({ description: 'RFC 3339, or "infinity"' }),
  },
  { additionalProperties: false },
);

const BanBody = Type.Object(
  {
    as: Kind,
    who: Type.String({ minLength: 1 }),
    by: Type.Optional(Type.String({ description: 'default "mgmt_api"' })),
    reason: Type.Optional(Type.String()),
    at: Type.Optional(Time),
    until: Type.Optional(Type.Union([Type.Literal('infinity'), Time], { expected: '"infinity", seconds since the epoch or an RFC 3339 date-time' })),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    clientid: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    peerhost: Type.Optional(Type.String()),
    like_clientid: Type.Optional(Type.String({ description: 'a regular expression searched in clientid and clientid_re entries' })),
    like_username: Type.Optional(Type.String()),
    like_peerhost: Type.Optional(Type.String()),
    like_peerhost_net: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

function refused(err: unknown): unknown {
  if (err instanceof BanInputError || err instanceof BannedQueryError) return badRequest(err.message);
  return err;
}

/**
 * EMQX's `/banned` API (5.8.9 `emqx_mgmt_api_banned`), as a fastify plugin to register under
 * `/api/v5`. Viewer keys read, administrators write (the API's access hook). Differences kept
 * from EMQX: POST answers the entry itself (as EMQX does, whatever its schema says), a
 * duplicate still in force is 400 `ALREADY_EXISTS` with the existing entry as JSON text in
 * `message` (EMQX's answer, not 409).
 */
export async function bannedRoutes(app: FastifyInstance, options: BannedRoutesOptions): Promise<void> {
  const { banned } = options;
  const tags = ['banned'];

  app.get(
    '/banned',
    {
      schema: {
        tags,
        summary: 'The banned list, paged (at most one filter)',
        querystring: ListQuery,
        response: { 200: Type.Object({ data: Type.Array(BannedView), meta: PageMeta }, { additionalProperties: false }), ...errors(400, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const q = request.query as Partial<BannedQuery>;
      try {
        const page = banned.page({ ...q, page: q.page ?? 1, limit: q.limit ?? 100 });
        return { data: page.data.map(viewOf), meta: page.meta };
      } catch (err) {
        throw refused(err);
      }
    },
  );

  app.post(
    '/banned',
    {
      schema: {
        tags,
        summary: 'Ban a client id, username, address, network or expression',
        body: BanBody,
        response: { 200: BannedView, ...errors(400, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      let result: ReturnType<BannedRoutesOptions['banned']['add']>;
      try {
        result = banned.add(request.body as BanRequest);
      } catch (err) {
        throw refused(err);
      }
      if (!result.added) throw new ApiError(400, 'ALREADY_EXISTS', JSON.stringify(viewOf(result.existing)));
      return viewOf(result.entry);
    },
  );

  app.delete(
    '/banned',
    { schema: { tags, summary: 'Clear the banned list', response: { 204: NoContent, ...errors(...ACCESS_ERRORS) } } },
    async (_request, reply) => {
      banned.clear();
      return reply.status(204).send();
    },
  );

  app.delete(
    '/banned/:as/:who',
    {
      schema: {
        tags,
        summary: 'Lift one ban',
        params: Type.Object({ as: Kind, who: Type.String({ minLength: 1 }) }),
        response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request, reply) => {
      const { as, who } = request.params as { as: string; who: string };
      let removed: boolean;
      try {
        removed = banned.delete(as, who);
      } catch (err) {
        throw refused(err);
      }
      if (!removed) throw new ApiError(404, 'NOT_FOUND', `${as}: ${who} not found`);
      return reply.status(204).send();
    },
  );
}
