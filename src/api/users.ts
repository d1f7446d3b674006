import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { UserError, type UserManager } from '../authn/authenticator.js';
import { UserImportError } from '../store/index.js';
import type { ResourceOptions } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { usersOf, type ChainScope } from './chains.js';
import { readMultipartFile, type MultipartBody } from './multipart.js';
import { ACCESS_ERRORS, errors, NoContent, PageMeta, PageQuery, UserView } from './schemas.js';

/** Which users a request is about: a chain, and an authenticator id (or the chain's one with users). */
export type UsersTarget = (request: FastifyRequest) => { scope: ChainScope; id: string | undefined };

export interface UsersOptions extends ResourceOptions {
  target: UsersTarget;
  tag: string;
}

const ImportResult = Type.Object(
  { total: Type.Integer(), success: Type.Integer(), override: Type.Integer(), skipped: Type.Integer(), failed: Type.Integer() },
  { additionalProperties: false },
);

/** EMQX's exact texts for user errors (§7.3). */
function userError(err: unknown): unknown {
  if (err instanceof UserError) {
    if (err.code === 'NOT_FOUND') return new ApiError(404, 'NOT_FOUND', 'User not found');
    if (err.code === 'ALREADY_EXISTS') return new ApiError(409, 'ALREADY_EXISTS', 'User already exists');
    return badRequest(err.message);
  }
  if (err instanceof UserImportError) return badRequest(`${err.code}: ${err.message}`);
  return err;
}

async function run<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw userError(err);
  }
}

/**
 * `…/users`, `…/users/{user_id}`, `…/import_users` of one authenticator (§6, §7.3). Users
 * are data of the authenticator's store, not configuration: they change at once, without
 * a configuration change.
 */
export const usersPlugin: FastifyPluginAsync<UsersOptions> = async (app, { ctx, target, tag }) => {
  const tags = [tag];
  const manager = (request: FastifyRequest): UserManager => {
    const { scope, id } = target(request);
    return usersOf(ctx, scope, id);
  };
  const UserIdParam = Type.Object({ user_id: Type.String({ minLength: 1 }) }, { additionalProperties: true });

  app.get(
    '/users',
    {
      schema: {
        tags,
        summary: 'List users, paged',
        querystring: Type.Object(
          { ...PageQuery, like_user_id: Type.Optional(Type.String()), is_superuser: Type.Optional(Type.Boolean()) },
          { additionalProperties: true },
        ),
        response: { 200: Type.Object({ data: Type.Array(UserView), meta: PageMeta }, { additionalProperties: false }), ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const q = request.query as { page?: number; limit?: number; like_user_id?: string; is_superuser?: boolean };
      const users = manager(request);
      const page = users.list({
        page: q.page ?? 1,
        limit: q.limit ?? 100,
        ...(q.like_user_id !== undefined ? { like_user_id: q.like_user_id } : {}),
        ...(q.is_superuser !== undefined ? { is_superuser: q.is_superuser } : {}),
      });
      if (q.like_user_id !== undefined) {
        const { count: _count, ...meta } = page.meta;
        return { data: page.data, meta };
      }
      return page;
    },
  );

  app.post(
    '/users',
    {
      schema: {
        tags,
        summary: 'Add a user',
        body: Type.Object(
          { user_id: Type.String({ minLength: 1 }), password: Type.String(), is_superuser: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 201: UserView, ...errors(400, 404, 409, ...ACCESS_ERRORS) },
      },
    },
    async (request, reply) => {
      const users = manager(request);
      const body = request.body as { user_id: string; password: string; is_superuser?: boolean };
      const created = await run(() => users.add(body));
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/users/:user_id',
    { schema: { tags, summary: 'One user', params: UserIdParam, response: { 200: UserView, ...errors(404, ...ACCESS_ERRORS) } } },
    async (request) => {
      const users = manager(request);
      return run(() => users.lookup((request.params as { user_id: string }).user_id));
    },
  );

  app.put(
    '/users/:user_id',
    {
      schema: {
        tags,
        summary: 'Change a user\'s password and superuser flag',
        params: UserIdParam,
        body: Type.Object({ password: Type.String(), is_superuser: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: UserView, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const users = manager(request);
      const body = request.body as { password: string; is_superuser?: boolean };
      return run(() => users.update((request.params as { user_id: string }).user_id, body));
    },
  );

  app.delete(
    '/users/:user_id',
    { schema: { tags, summary: 'Delete a user', params: UserIdParam, response: { 204: NoContent, ...errors(404, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const users = manager(request);
      await run(() => users.delete((request.params as { user_id: string }).user_id));
      return reply.status(204).send();
    },
  );

  app.post(
    '/import_users',
    {
      bodyLimit: 256 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Import users: multipart file part "filename" (.csv or .json) or a JSON array; type=plain|hash',
        querystring: Type.Object({ type: Type.Optional(Type.String()) }, { additionalProperties: true }),
        body: Type.Unknown({ description: 'a JSON array of users, or multipart/form-data with a file part named filename' }),
        response: { 200: ImportResult, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const users = manager(request);
      const type = (request.query as { type?: string }).type === 'plain' ? 'plain' : 'hash';
      const body = request.body as unknown;
      if (Array.isArray(body)) return run(() => users.import(JSON.stringify(body), 'json', type));
      if (body && typeof body === 'object' && 'multipart' in body) {
        const file = readMultipartFile(body as MultipartBody, 'filename');
        if (!file) throw badRequest('Missing required parameter: filename');
        const ext = file.filename.includes('.') ? file.filename.slice(file.filename.lastIndexOf('.')).toLowerCase() : '';
        if (!ext) throw badRequest('unknown_file_format');
        if (ext !== '.csv' && ext !== '.json') throw badRequest(`unsupported_file_format: ${ext}`);
        return run(() => users.import(file.content, ext === '.csv' ? 'csv' : 'json', type));
      }
      throw badRequest('unknown_file_format: send a JSON array or multipart/form-data with a part named filename');
    },
  );
};
