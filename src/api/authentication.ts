import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiContext } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { restoreMasked } from './redact.js';
import { ACCESS_ERRORS, AuthenticatorBody, AuthenticatorView, errors, IdParam, NoContent, RateMetrics } from './schemas.js';
import {
  authenticatorView,
  chainConfigs,
  commitChain,
  idOf,
  requireEntry,
  type AuthenticatorConfig,
  type ChainScope,
} from './chains.js';
import { usersRoutes } from './users.js';

export type ScopeResolver = (request: FastifyRequest) => ChainScope;

const POSITION = /^(front|rear|before:.+|after:.+)$/;

/**
 * `/authentication…` (emqx5-auth.md §7.1–7.4) for one kind of chain: the global MQTT
 * chain, or a listener's (`/listeners/{listener_id}/authentication…`, gatehouse-choices 9).
 */
export async function authenticationRoutes(app: FastifyInstance, ctx: ApiContext, scopeOf: ScopeResolver, tag: string): Promise<void> {
  const tags = [tag];

  app.get(
    '/authentication',
    { schema: { tags, summary: 'List the chain\'s authenticators in order', response: { 200: Type.Array(AuthenticatorView), ...errors(404, ...ACCESS_ERRORS) } } },
    async (request) => chainConfigs(ctx, scopeOf(request)).map(authenticatorView),
  );

  app.post(
    '/authentication',
    {
      schema: {
        tags,
        summary: 'Append an authenticator to the chain',
        body: AuthenticatorBody,
        response: { 200: AuthenticatorView, ...errors(400, 404, 409, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const body = request.body as AuthenticatorConfig;
      const id = idOf(body);
      return ctx.state.serial(async () => {
        const configs = chainConfigs(ctx, scope);
        if (configs.some((c) => idOf(c) === id)) throw new ApiError(409, 'ALREADY_EXISTS', `Authenticator '${id}' already exist`);
        const { id: _id, ...config } = body;
        await commitChain(ctx, scope, [...configs, config as AuthenticatorConfig]);
        const created = chainConfigs(ctx, scope).find((c) => idOf(c) === id)!;
        return authenticatorView(created);
      });
    },
  );

  app.put(
    '/authentication/order',
    {
      schema: {
        tags,
        summary: 'Reorder the whole chain',
        body: Type.Array(Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
        response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const order = (request.body as Array<{ id: string }>).map((o) => o.id);
      await ctx.state.serial(async () => {
        const configs = chainConfigs(ctx, scope);
        const ids = configs.map(idOf);
        const unknown = order.filter((id) => !ids.includes(id));
        const missing = ids.filter((id) => !order.includes(id));
        const dup = order.filter((id, i) => order.indexOf(id) !== i);
        const problems: string[] = [];
        if (unknown.length > 0) problems.push(`Authenticators: ${unknown.join(', ')} are not found`);
        if (missing.length > 0) problems.push(`No positions are specified for authenticators: ${missing.join(', ')}`);
        if (dup.length > 0) problems.push(`Authenticators listed twice: ${dup.join(', ')}`);
        if (problems.length > 0) throw badRequest(problems.join('; '));
        await commitChain(ctx, scope, order.map((id) => configs[ids.indexOf(id)]!));
      });
      return reply.status(204).send();
    },
  );

  app.get(
    '/authentication/:id',
    { schema: { tags, summary: 'One authenticator', params: IdParam, response: { 200: AuthenticatorView, ...errors(404, ...ACCESS_ERRORS) } } },
    async (request) => {
      const { id } = request.params as { id: string };
      const configs = chainConfigs(ctx, scopeOf(request));
      return authenticatorView(configs[requireEntry(configs, id)]!);
    },
  );

  app.put(
    '/authentication/:id',
    {
      schema: {
        tags,
        summary: 'Replace an authenticator\'s config ("******" keeps a stored secret)',
        params: IdParam,
        body: AuthenticatorBody,
        response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) },
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const { id } = request.params as { id: string };
      const body = request.body as AuthenticatorConfig;
      await ctx.state.serial(async () => {
        const configs = chainConfigs(ctx, scope);
        const index = requireEntry(configs, id);
        if (idOf(body) !== id) throw badRequest('Change of authentication type is not allowed');
        const { id: _id, ...rest } = restoreMasked(body, configs[index]);
        const next = [...configs];
        next[index] = rest as AuthenticatorConfig;
        await commitChain(ctx, scope, next);
      });
      return reply.status(204).send();
    },
  );

  app.delete(
    '/authentication/:id',
    { schema: { tags, summary: 'Remove an authenticator (unknown id: also 204)', params: IdParam, response: { 204: NoContent, ...errors(400, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const scope = scopeOf(request);
      const { id } = request.params as { id: string };
      await ctx.state.serial(async () => {
        const configs = chainConfigs(ctx, scope);
        if (!configs.some((c) => idOf(c) === id)) return;
        await commitChain(ctx, scope, configs.filter((c) => idOf(c) !== id));
      });
      return reply.status(204).send();
    },
  );

  app.get(
    '/authentication/:id/status',
    {
      schema: {
        tags,
        summary: 'Counters, rates and resource status of an authenticator',
        params: IdParam,
        response: {
          200: Type.Object(
            {
              status: Type.String(),
              node_status: Type.Array(Type.Object({ node: Type.String(), status: Type.String() })),
              metrics: RateMetrics,
              node_metrics: Type.Array(Type.Object({ node: Type.String(), metrics: RateMetrics })),
              resource_metrics: Type.Object({}, { additionalProperties: true }),
              node_resource_metrics: Type.Array(Type.Object({ node: Type.String(), metrics: Type.Object({}, { additionalProperties: true }) })),
              node_error: Type.Array(Type.Object({ node: Type.String(), reason: Type.String() })),
            },
            { additionalProperties: false },
          ),
          ...errors(404, 500, ...ACCESS_ERRORS),
        },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const { id } = request.params as { id: string };
      requireEntry(chainConfigs(ctx, scope), id);
      const entry = ctx.node.authn.chain(scope.name)?.entries.find((e) => e.id === id);
      if (!entry) throw new ApiError(500, 'INTERNAL_ERROR', `Authenticator '${id}' is configured but not running`);
      const counts = entry.metrics.snapshot();
      const rate = entry.metrics.rate('total') ?? { current: 0, max: 0, last5m: 0 };
      const metrics = { ...counts, rate: rate.current, rate_max: rate.max, rate_last5m: rate.last5m };
      const status = entry.authenticator.status?.() ?? 'connected';
      const node = ctx.state.config.node.name;
      return {
        status,
        node_status: [{ node, status }],
        metrics,
        node_metrics: [{ node, metrics }],
        resource_metrics: {},
        node_resource_metrics: [{ node, metrics: {} }],
        node_error: [],
      };
    },
  );

  app.put(
    '/authentication/:id/position/:position',
    {
      schema: {
        tags,
        summary: 'Move an authenticator: front, rear, before:ID or after:ID',
        params: Type.Object({ id: Type.String({ minLength: 1 }), position: Type.String() }),
        response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const { id, position } = request.params as { id: string; position: string };
      if (!POSITION.test(position)) throw badRequest("Invalid value for 'position'");
      await ctx.state.serial(async () => {
        const configs = chainConfigs(ctx, scope);
        const moved = configs[requireEntry(configs, id)]!;
        const rest = configs.filter((c) => c !== moved);
        let at: number;
        if (position === 'front') at = 0;
        else if (position === 'rear') at = rest.length;
        else {
          const [where, ...relParts] = position.split(':');
          const rel = relParts.join(':');
          const relIndex = rest.findIndex((c) => idOf(c) === rel);
          if (relIndex < 0) throw new ApiError(404, 'NOT_FOUND', `Authenticator '${rel}' does not exist`);
          at = where === 'before' ? relIndex : relIndex + 1;
        }
        rest.splice(at, 0, moved);
        await commitChain(ctx, scope, rest);
      });
      return reply.status(204).send();
    },
  );

  await app.register(async (users) => usersRoutes(users, ctx, (request) => {
    const { id } = request.params as { id: string };
    return { scope: scopeOf(request), id };
  }, tag), { prefix: '/authentication/:id' });
}
