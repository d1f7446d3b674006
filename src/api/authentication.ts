import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ResourceOptions } from './context.js';
import { ApiError } from './errors.js';
import { ACCESS_ERRORS, errors, IdParam, NoContent, RateMetrics, StatusAnswer, statusOf } from './schemas.js';
import {
  appendAuthenticator,
  authenticatorView,
  chainIn,
  editChain,
  idOf,
  moveAuthenticator,
  removeAuthenticator,
  reorderChain,
  replaceAuthenticator,
  requireEntry,
  type AuthenticatorConfig,
  type ChainScope,
} from './chains.js';
import { usersPlugin } from './users.js';

export type ScopeResolver = (request: FastifyRequest) => ChainScope;

export interface AuthenticationOptions extends ResourceOptions {
  /** Which chain a request is about (global, a listener's). */
  scopeOf: ScopeResolver;
  tag: string;
}

const Status = StatusAnswer(RateMetrics);

const PositionParams = Type.Object({ id: Type.String({ minLength: 1 }), position: Type.String() });
const Order = Type.Array(Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false }));

/**
 * `/authentication…` (emqx5-auth.md §7.1–7.4) for one kind of chain: the global MQTT
 * chain, or a listener's (`/listeners/{listener_id}/authentication…`, gatehouse-choices 9).
 * Bodies and answers are assembled from the registered authenticator types' fragments.
 */
export const authenticationPlugin: FastifyPluginAsync<AuthenticationOptions> = async (app, { ctx, scopeOf, tag }) => {
  const tags = [tag];
  const Body = ctx.node.authenticators.bodySchema();
  const View = ctx.node.authenticators.viewSchema({ id: Type.String({ description: 'mechanism:backend, e.g. password_based:built_in_database' }) });
  const chainOf = (request: FastifyRequest) => chainIn(ctx.node.config, scopeOf(request));

  app.get(
    '/authentication',
    { schema: { tags, summary: "List the chain's authenticators in order", response: { 200: Type.Array(View), ...errors(404, ...ACCESS_ERRORS) } } },
    async (request) => chainOf(request).map((c) => authenticatorView(ctx, c)),
  );

  app.post(
    '/authentication',
    { schema: { tags, summary: 'Append an authenticator to the chain', body: Body, response: { 200: View, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
    async (request) => {
      const body = request.body as AuthenticatorConfig;
      const chain = await editChain(ctx, scopeOf(request), appendAuthenticator(body));
      return authenticatorView(ctx, chain[requireEntry(chain, idOf(body))]!);
    },
  );

  app.put(
    '/authentication/order',
    { schema: { tags, summary: 'Reorder the whole chain', body: Order, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      await editChain(ctx, scopeOf(request), reorderChain((request.body as Array<{ id: string }>).map((o) => o.id)));
      return reply.status(204).send();
    },
  );

  app.get(
    '/authentication/:id',
    { schema: { tags, summary: 'One authenticator', params: IdParam, response: { 200: View, ...errors(404, ...ACCESS_ERRORS) } } },
    async (request) => {
      const chain = chainOf(request);
      return authenticatorView(ctx, chain[requireEntry(chain, (request.params as { id: string }).id)]!);
    },
  );

  app.put(
    '/authentication/:id',
    {
      schema: {
        tags,
        summary: 'Replace an authenticator\'s config ("******" keeps a stored secret)',
        params: IdParam,
        body: Body,
        response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) },
      },
    },
    async (request, reply) => {
      await editChain(ctx, scopeOf(request), replaceAuthenticator((request.params as { id: string }).id, request.body as AuthenticatorConfig));
      return reply.status(204).send();
    },
  );

  app.delete(
    '/authentication/:id',
    { schema: { tags, summary: 'Remove an authenticator (unknown id: also 204)', params: IdParam, response: { 204: NoContent, ...errors(400, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      await editChain(ctx, scopeOf(request), removeAuthenticator((request.params as { id: string }).id));
      return reply.status(204).send();
    },
  );

  app.get(
    '/authentication/:id/status',
    { schema: { tags, summary: 'Counters, rates and resource status of an authenticator', params: IdParam, response: { 200: Status, ...errors(404, 500, ...ACCESS_ERRORS) } } },
    async (request) => {
      const scope = scopeOf(request);
      const { id } = request.params as { id: string };
      requireEntry(chainIn(ctx.node.config, scope), id);
      const entry = ctx.node.authn.chain(scope.name)?.entries.find((e) => e.id === id);
      if (!entry) throw new ApiError(500, 'INTERNAL_ERROR', `Authenticator '${id}' is configured but not running`);
      return statusOf(ctx.node.config.node.name, entry.authenticator.status?.() ?? 'connected', entry.metrics);
    },
  );

  app.put(
    '/authentication/:id/position/:position',
    { schema: { tags, summary: 'Move an authenticator: front, rear, before:ID or after:ID', params: PositionParams, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const { id, position } = request.params as { id: string; position: string };
      await editChain(ctx, scopeOf(request), moveAuthenticator(id, position));
      return reply.status(204).send();
    },
  );

  await app.register(usersPlugin, {
    ctx,
    tag,
    prefix: '/authentication/:id',
    target: (request) => ({ scope: scopeOf(request), id: (request.params as { id: string }).id }),
  });
};
