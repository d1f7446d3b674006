import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiContext, ResourceOptions } from './context.js';
import { ApiError } from './errors.js';
import { errors, NoContent } from './schemas.js';
import type { Principal } from './access.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const OPEN_PATHS = new Set(['/api/v5/login']);
const API_KEY_FORBIDDEN = /^\/api\/v5\/(logout|users|api_key)(\/|$)/;

/** Credentials on every `/api/v5` request except /login (§10); viewers may only read. */
export function installAccessControl(app: FastifyInstance, ctx: ApiContext): void {
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    if (!path.startsWith('/api/v5/') && path !== '/api/v5') return;
    if (OPEN_PATHS.has(path)) return;
    const principal = ctx.access.authenticate(request.headers.authorization);
    if (principal.kind === 'api_key' && API_KEY_FORBIDDEN.test(path)) throw new ApiError(401, 'API_KEY_NOT_ALLOW', 'API key is not allowed to call this endpoint');
    if (principal.role === 'viewer' && request.method !== 'GET' && request.method !== 'HEAD') {
      throw new ApiError(403, 'UNAUTHORIZED_ROLE', 'the viewer role may only read (GET)');
    }
    request.principal = principal;
  });
}

/** `POST /login` and `POST /logout` (§10). */
export const loginPlugin: FastifyPluginAsync<ResourceOptions & { version: string }> = async (app, { ctx, version }) => {
  const tags = ['auth'];
  app.post(
    '/login',
    {
      schema: {
        tags,
        summary: 'A bearer token for the dashboard admin user',
        security: [],
        body: Type.Object({ username: Type.String({ minLength: 1 }), password: Type.String() }, { additionalProperties: false }),
        response: {
          200: Type.Object(
            { token: Type.String(), version: Type.String(), role: Type.String(), license: Type.Object({ edition: Type.String() }, { additionalProperties: false }) },
            { additionalProperties: false },
          ),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const { username, password } = request.body as { username: string; password: string };
      const result = await ctx.access.login(username, password);
      if (!result) throw new ApiError(401, 'BAD_USERNAME_OR_PWD', 'Auth failed');
      return { token: result.token, version, role: result.role, license: { edition: 'ce' } };
    },
  );

  app.post(
    '/logout',
    {
      schema: {
        tags,
        summary: 'Invalidate the bearer token',
        body: Type.Object({ username: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        response: { 204: NoContent, ...errors(400, 401) },
      },
    },
    async (request, reply) => {
      const header = request.headers.authorization ?? '';
      ctx.access.logout(header.replace(/^bearer\s+/i, ''));
      return reply.status(204).send();
    },
  );
};
