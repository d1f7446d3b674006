import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AclRuleError, AclRules, DEFAULT_MAX_RULES } from '../authz/sources/built_in_database/index.js';
import { StoreInputError } from '../store/errors.js';
import type { ApiContext, ResourceOptions } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { ACCESS_ERRORS, errors, NoContent, PageMeta, PageQuery } from './schemas.js';

const SOURCE = 'built_in_database';
const BASE = `/authorization/sources/${SOURCE}/rules`;

/** A rule as §9.3 takes and answers it (stored one topic per rule). */
const Rule = Type.Object(
  {
    topic: Type.String({ minLength: 1, description: 'a topic filter; "eq t" is exact; placeholders allowed' }),
    permission: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    action: Type.Union([Type.Literal('publish'), Type.Literal('subscribe'), Type.Literal('all')]),
    qos: Type.Optional(Type.Array(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)]), { description: 'default [0, 1, 2]' })),
    retain: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('all')], { description: 'default "all"' })),
  },
  { additionalProperties: false },
);
const Rules = Type.Array(Rule);

/** The two kinds of named records: clients (by client id) and users (by username). */
const KINDS = [
  { path: 'clients', kind: 'clientid', key: 'clientid', like: 'like_clientid' },
  { path: 'users', kind: 'username', key: 'username', like: 'like_username' },
] as const;

/**
 * The built-in database source's rules (emqx5-auth.md §9.3): per client id, per username and
 * for all clients, over `AclRules` in the node's store. Data, not configuration: nothing is
 * applied to the node. Every write reaches the running source at once through the store's
 * change listener, which drops the affected clients' cached decisions (one client's for a
 * client-id record, every client's otherwise). Only when a built_in_database source is
 * configured (404 otherwise), enabled or not.
 */
export const authorizationRulesPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  const tags = ['authorization'];

  for (const { path, kind, key, like } of KINDS) {
    const Record = Type.Object({ [key]: Type.String({ minLength: 1 }), rules: Rules }, { additionalProperties: false });
    const Param = Type.Object({ [key]: Type.String({ minLength: 1 }) });
    const PutBody = Type.Object({ [key]: Type.Optional(Type.String({ minLength: 1, description: 'the same as in the path' })), rules: Rules }, { additionalProperties: false });
    const Query = Type.Object({ ...PageQuery, [like]: Type.Optional(Type.String({ description: `records whose ${key} contains this text` })) });

    app.get(
      `${BASE}/${path}`,
      {
        schema: {
          tags,
          summary: `Rules by ${key}, paged`,
          querystring: Query,
          response: { 200: Type.Object({ data: Type.Array(Record), meta: PageMeta }, { additionalProperties: false }), ...errors(400, 404, ...ACCESS_ERRORS) },
        },
      },
      async (request) => {
        const q = request.query as { page?: number; limit?: number } & { [k: string]: unknown };
        const text = q[like];
        const page = rulesOf(ctx).list(kind, { page: q.page ?? 1, limit: q.limit ?? 100, ...(typeof text === 'string' && text !== '' ? { like: text } : {}) });
        return { data: page.data.map((r) => ({ [key]: r.who, rules: r.rules })), meta: page.meta };
      },
    );

    app.post(
      `${BASE}/${path}`,
      { schema: { tags, summary: `Add rule records by ${key} (all or none; 409 when one exists)`, body: Type.Array(Record), response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
      async (request, reply) => {
        const records = (request.body as Array<{ [k: string]: unknown; rules: unknown }>).map((r) => ({ who: String(r[key]), rules: r.rules }));
        return written(reply, () => rulesOf(ctx).add(kind, records));
      },
    );

    app.get(
      `${BASE}/${path}/:${key}`,
      { schema: { tags, summary: `The rules of one ${key}`, params: Param, response: { 200: Record, ...errors(404, ...ACCESS_ERRORS) } } },
      async (request) => {
        const who = (request.params as { [k: string]: string })[key]!;
        const record = guarded(() => rulesOf(ctx).get(kind, who));
        return { [key]: record.who, rules: record.rules };
      },
    );

    app.put(
      `${BASE}/${path}/:${key}`,
      { schema: { tags, summary: `Create or replace the rules of one ${key}`, params: Param, body: PutBody, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
      async (request, reply) => {
        const who = (request.params as { [k: string]: string })[key]!;
        const body = request.body as { [k: string]: unknown; rules: unknown };
        if (body[key] !== undefined && body[key] !== who) throw badRequest(`${key}: ${JSON.stringify(body[key])} differs from the path's ${JSON.stringify(who)}`);
        return written(reply, () => rulesOf(ctx).put(kind, who, body.rules));
      },
    );

    app.delete(
      `${BASE}/${path}/:${key}`,
      { schema: { tags, summary: `Remove the rules of one ${key}`, params: Param, response: { 204: NoContent, ...errors(404, ...ACCESS_ERRORS) } } },
      async (request, reply) => written(reply, () => rulesOf(ctx).delete(kind, (request.params as { [k: string]: string })[key]!)),
    );
  }

  const AllRules = Type.Object({ rules: Rules }, { additionalProperties: false });

  app.get(
    `${BASE}/all`,
    { schema: { tags, summary: 'The rules for every client', response: { 200: AllRules, ...errors(404, ...ACCESS_ERRORS) } } },
    async () => ({ rules: rulesOf(ctx).getAll() }),
  );

  app.post(
    `${BASE}/all`,
    { schema: { tags, summary: 'Replace the rules for every client', body: AllRules, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
    async (request, reply) => written(reply, () => rulesOf(ctx).setAll((request.body as { rules: unknown }).rules)),
  );

  app.delete(
    `${BASE}/all`,
    { schema: { tags, summary: 'Empty the rules for every client', response: { 204: NoContent, ...errors(404, ...ACCESS_ERRORS) } } },
    async (_request, reply) => written(reply, () => rulesOf(ctx).clearAll()),
  );

  app.delete(
    BASE,
    { schema: { tags, summary: 'Remove every rule record (the source must be disabled first)', response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
    async (_request, reply) => {
      const source = sourceBlock(ctx);
      // §9.3's quirk: an absent source is 404 with code BAD_REQUEST.
      if (!source) throw new ApiError(404, 'BAD_REQUEST', `Not found: ${SOURCE}`);
      if (source['enable'] !== false) throw badRequest(`'${SOURCE}' type source must be disabled before purge.`);
      return written(reply, () => rulesOf(ctx).purge());
    },
  );
};

function sourceBlock(ctx: ApiContext): Record<string, unknown> | undefined {
  return ctx.node.config.authorization.sources.find((s) => s.type === SOURCE) as Record<string, unknown> | undefined;
}

/** The rule records, with the configured source's `max_rules`; 404 without a built_in_database source. */
function rulesOf(ctx: ApiContext): AclRules {
  const source = sourceBlock(ctx);
  if (!source) throw new ApiError(404, 'NOT_FOUND', `Not found: ${SOURCE}`);
  const max = typeof source['max_rules'] === 'number' ? source['max_rules'] : DEFAULT_MAX_RULES;
  return new AclRules(ctx.node.store, () => max);
}

/** A rule-management failure as EMQX answers it: 404, 409 or 400 with its message. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AclRuleError) throw new ApiError(err.code === 'NOT_FOUND' ? 404 : err.code === 'ALREADY_EXISTS' ? 409 : 400, err.code, err.message);
    if (err instanceof StoreInputError) throw new ApiError(400, err.code === 'invalid_paging' ? 'INVALID_PARAMETER' : 'BAD_REQUEST', err.message);
    throw err;
  }
}

function written(reply: FastifyReply, write: () => void): FastifyReply {
  guarded(write);
  return reply.status(204).send();
}
