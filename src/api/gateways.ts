import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { StompGateway, StompListeners, type GatehouseConfig } from '../config/schema.js';
import { viewForm } from '../config/fragments.js';
import { UNCHANGED } from '../node/changes.js';
import type { ApiContext, ResourceOptions } from './context.js';
import { applyAt } from './apply.js';
import { ApiError, badRequest } from './errors.js';
import { restoreMasked } from './redact.js';
import { ACCESS_ERRORS, blockView, errors, listOrOne, NoContent } from './schemas.js';
import { authenticatorView, chainIn, editChain, idOf, type AuthenticatorConfig, type ChainEdit, type ChainScope } from './chains.js';
import { bodyToBlock, ListenerBody, listenerView, LISTENER_IDENTITY, LISTENER_STATUS } from './listeners.js';
import { usersPlugin } from './users.js';

const GATEWAYS = ['stomp'] as const;
const STOMP_TYPES = ['tcp', 'ssl', 'ws'] as const;
type StompType = (typeof STOMP_TYPES)[number];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const STOMP_PATH = ['gateway', 'stomp'];

const notFound = (message: string) => new ApiError(404, 'RESOURCE_NOT_FOUND', message);

interface GatewayListener {
  id: string;
  type: StompType;
  name: string;
  block: Record<string, unknown>;
  path: string[];
  /** Not written in the config: the listener a gateway without listeners gets. */
  implicit: boolean;
}

type StompConfig = NonNullable<GatehouseConfig['gateway']['stomp']>;

function requireGateway(name: string): void {
  if (!(GATEWAYS as readonly string[]).includes(name)) throw notFound(`Resource not found. gateway: ${name}`);
}

function stompConfig(ctx: ApiContext, name: string): StompConfig {
  requireGateway(name);
  const stomp = ctx.node.config.gateway.stomp;
  if (!stomp) throw notFound('Gateway not loaded');
  return stomp;
}

function gatewayListeners(stomp: StompConfig): GatewayListener[] {
  const out: GatewayListener[] = [];
  for (const type of STOMP_TYPES) {
    for (const [name, block] of Object.entries(stomp.listeners[type] as Record<string, Record<string, unknown>>)) {
      out.push({ id: `stomp:${type}:${name}`, type, name, block, path: [...STOMP_PATH, 'listeners', type, name], implicit: false });
    }
  }
  if (out.length === 0) {
    const schema = Object.values(StompListeners.properties.tcp.patternProperties)[0];
    out.push({ id: 'stomp:tcp:default', type: 'tcp', name: 'default', block: Value.Default(schema, {}) as Record<string, unknown>, path: [...STOMP_PATH, 'listeners', 'tcp', 'default'], implicit: true });
  }
  return out;
}

function parseGatewayListenerId(id: string): { type: StompType; name: string } {
  const [proto, type, name, ...more] = id.split(':');
  if (proto !== 'stomp' || !type || !name || more.length > 0 || !(STOMP_TYPES as readonly string[]).includes(type) || !NAME.test(name)) {
    throw badRequest(`Invalid listener id ${JSON.stringify(id)}: expected stomp:<tcp|ssl|ws>:<name>`);
  }
  return { type: type as StompType, name };
}

function requireGatewayListener(stomp: StompConfig, id: string): GatewayListener {
  parseGatewayListenerId(id);
  const found = gatewayListeners(stomp).find((l) => l.id === id);
  if (!found) throw notFound(`Listener not found: ${id}`);
  return found;
}

function gatewayView(ctx: ApiContext, stomp: StompConfig): Record<string, unknown> {
  const { listeners: _l, authentication, ...rest } = stomp;
  const ls = gatewayListeners(stomp);
  const running = ls.some((l) => ctx.node.listeners.get(l.id)?.running);
  return {
    name: 'stomp',
    ...ctx.node.secrets.redact(rest),
    status: stomp.enable ? (running ? 'running' : 'stopped') : 'stopped',
    current_connections: ls.reduce((n, l) => n + (ctx.node.listeners.get(l.id)?.status().current_connections ?? 0), 0),
    authentication: (authentication as Array<Record<string, unknown>>).map((c) => authenticatorView(ctx, c)),
    listeners: ls.map((l) => listenerView(ctx, l.id, l.type, l.name, l.block)),
  };
}

/** A body's `listeners` as EMQX sends them (an array of {type, name, …}) or in config shape. */
function listenersFromBody(value: unknown, stored: StompConfig['listeners'] | undefined): unknown {
  if (!Array.isArray(value)) return value;
  const out: Record<string, Record<string, unknown>> = {};
  for (const item of value as Array<Record<string, unknown>>) {
    const type = String(item['type']);
    const name = String(item['name']);
    const old = (stored as Record<string, Record<string, Record<string, unknown>>> | undefined)?.[type]?.[name];
    (out[type] ??= {})[name] = bodyToBlock(item, old);
  }
  return out;
}

/** The gateway's settings from a PUT body: answer-only fields dropped, secrets kept, listeners and chain kept unless given. */
function gatewayFromBody(body: Record<string, unknown>, stored: StompConfig | undefined): Record<string, unknown> {
  const { name: _n, status: _s, current_connections: _c, ...fields } = body;
  const next = restoreMasked(fields, stored) as Record<string, unknown>;
  next['listeners'] = 'listeners' in fields ? listenersFromBody(fields['listeners'], stored?.listeners) : (stored?.listeners ?? {});
  if (!('authentication' in fields)) next['authentication'] = stored?.authentication ?? [];
  return next;
}

/** A STOMP listener as answered: the listener view with the gateway's listener fields. */
const StompListenerView = blockView(Object.values(StompListeners.properties).map((record) => Object.values(record.patternProperties)[0] as TObject), ['authentication'], LISTENER_IDENTITY, LISTENER_STATUS);

const NameParam = Type.Object({ name: Type.String() }, { additionalProperties: true });
const ListenerParams = Type.Object({ name: Type.String(), listener_id: Type.String({ minLength: 1 }) });

/** `/gateways…` (emqx5-auth.md §12.6), also answering on the seed's singular `/gateway/{name}…`. */
export const gatewaysPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  const tags = ['gateways'];
  const nameOf = (request: FastifyRequest) => (request.params as { name: string }).name;
  const lid = (request: FastifyRequest) => (request.params as { listener_id: string }).listener_id;
  const AuthenticatorView = ctx.node.authenticators.viewSchema({ id: Type.String() });
  const GatewayView = blockView(
    [StompGateway],
    ['listeners', 'authentication'],
    { name: Type.String() },
    { status: Type.String(), current_connections: Type.Integer(), authentication: Type.Array(AuthenticatorView), listeners: Type.Array(StompListenerView) },
  );
  const GatewaySummary = viewForm(
    Type.Object({
      name: Type.String(),
      status: Type.String(),
      current_connections: Type.Optional(Type.Integer()),
      listeners: Type.Optional(Type.Array(Type.Object({ id: Type.String(), type: Type.String(), name: Type.String(), running: Type.Boolean() }))),
    }),
  );

  /** Applies a change of a gateway subtree; answers the gateway as applied. */
  const changeGateway = async (path: readonly string[], to: (stored: unknown, config: GatehouseConfig) => unknown): Promise<StompConfig> => {
    const { config } = await applyAt(ctx.node, path, to);
    return config.gateway.stomp!;
  };

  app.get('/gateways', { schema: { tags, summary: 'The gateways and their status', response: { 200: Type.Array(GatewaySummary), ...errors(...ACCESS_ERRORS) } } }, async () =>
    GATEWAYS.map((name) => {
      const stomp = ctx.node.config.gateway.stomp;
      if (!stomp) return { name, status: 'unloaded' };
      const view = gatewayView(ctx, stomp);
      return { name, status: view['status'], current_connections: view['current_connections'], listeners: view['listeners'] };
    }),
  );

  for (const base of ['/gateways/:name', '/gateway/:name']) {
    await app.register(
      async (gw) => {
        gw.get('/', { schema: { tags, summary: "A gateway's config and status", params: NameParam, response: { 200: GatewayView, ...errors(404, ...ACCESS_ERRORS) } } }, async (request) =>
          gatewayView(ctx, stompConfig(ctx, nameOf(request))),
        );

        gw.put(
          '/',
          {
            schema: {
              tags,
              summary: "Replace a gateway's config (listeners and authentication kept unless given)",
              params: NameParam,
              body: Type.Object({ enable: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
              response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) },
            },
          },
          async (request, reply) => {
            requireGateway(nameOf(request));
            await changeGateway(STOMP_PATH, (stored) => gatewayFromBody(request.body as Record<string, unknown>, stored as StompConfig | undefined));
            return reply.status(204).send();
          },
        );

        gw.put(
          '/enable/:enable',
          { schema: { tags, summary: 'Enable or disable a gateway', params: Type.Object({ name: Type.String(), enable: Type.Boolean() }), response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
          async (request, reply) => {
            stompConfig(ctx, nameOf(request));
            await changeGateway([...STOMP_PATH, 'enable'], () => (request.params as { enable: boolean }).enable);
            return reply.status(204).send();
          },
        );

        gw.get('/listeners', { schema: { tags, summary: "A gateway's listeners", params: NameParam, response: { 200: Type.Array(StompListenerView), ...errors(404, ...ACCESS_ERRORS) } } }, async (request) =>
          gatewayListeners(stompConfig(ctx, nameOf(request))).map((l) => listenerView(ctx, l.id, l.type, l.name, l.block)),
        );

        gw.post(
          '/listeners',
          { schema: { tags, summary: 'Add a gateway listener (body: type, name, bind, …)', params: NameParam, body: ListenerBody, response: { 201: StompListenerView, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
          async (request, reply) => {
            const body = request.body as Record<string, unknown>;
            const id = typeof body['id'] === 'string' ? body['id'] : `stomp:${String(body['type'])}:${String(body['name'])}`;
            stompConfig(ctx, nameOf(request));
            const { type, name } = parseGatewayListenerId(id);
            const stomp = await changeGateway([...STOMP_PATH, 'listeners', type, name], (stored) => {
              if (stored) throw badRequest('Listener name has occupied');
              return bodyToBlock(body, undefined);
            });
            const l = requireGatewayListener(stomp, id);
            return reply.status(201).send(listenerView(ctx, l.id, l.type, l.name, l.block));
          },
        );

        gw.get('/listeners/:listener_id', { schema: { tags, summary: 'One gateway listener', params: ListenerParams, response: { 200: StompListenerView, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request) => {
          const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
          return listenerView(ctx, l.id, l.type, l.name, l.block);
        });

        gw.put(
          '/listeners/:listener_id',
          { schema: { tags, summary: 'Change a gateway listener', params: ListenerParams, body: ListenerBody, response: { 200: StompListenerView, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
          async (request) => {
            const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
            const stomp = await changeGateway(l.path, (stored, config) => {
              const now = requireGatewayListener(config.gateway.stomp!, l.id);
              return bodyToBlock(request.body as Record<string, unknown>, (stored as Record<string, unknown> | undefined) ?? now.block);
            });
            const now = requireGatewayListener(stomp, l.id);
            return listenerView(ctx, now.id, now.type, now.name, now.block);
          },
        );

        gw.delete('/listeners/:listener_id', { schema: { tags, summary: 'Remove a gateway listener', params: ListenerParams, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request, reply) => {
          const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
          await changeGateway(l.path, (_stored, config) => {
            const now = requireGatewayListener(config.gateway.stomp!, l.id);
            return now.implicit ? { ...now.block, enable: false } : undefined;
          });
          return reply.status(204).send();
        });

        const globalScope = (request: FastifyRequest): ChainScope => {
          stompConfig(ctx, nameOf(request));
          return { name: 'stomp:global', path: [...STOMP_PATH, 'authentication'], label: 'stomp' };
        };
        const listenerScope = (request: FastifyRequest): ChainScope => {
          const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
          return { name: l.id, path: [...l.path, 'authentication'], label: l.id };
        };
        for (const [scopeOf, prefix, params] of [
          [globalScope, '/authentication', NameParam],
          [listenerScope, '/listeners/:listener_id/authentication', ListenerParams],
        ] as const) {
          await gw.register(gatewayAuthenticationPlugin, { ctx, scopeOf, prefix, params, tags });
        }
      },
      { prefix: base },
    );
  }
};

interface GatewayAuthenticationOptions extends ResourceOptions {
  scopeOf: (request: FastifyRequest) => ChainScope;
  params: TSchema;
  tags: string[];
}

/** The gateway form of authentication (§12.6): one authenticator object, or a chain (gatehouse-choices 10). */
const gatewayAuthenticationPlugin: FastifyPluginAsync<GatewayAuthenticationOptions> = async (app, { ctx, scopeOf, params, tags }) => {
  const Body = ctx.node.authenticators.bodySchema();
  const OneView = ctx.node.authenticators.viewSchema({ id: Type.String() });
  const View = listOrOne(Type.Array(OneView), OneView);
  const RequestBody = Type.Union([Body, Type.Array(Body)]);
  const asList = (body: unknown) => (Array.isArray(body) ? body : [body]) as AuthenticatorConfig[];
  const answer = (chain: AuthenticatorConfig[]) => (chain.length === 1 ? authenticatorView(ctx, chain[0]!) : chain.map((c) => authenticatorView(ctx, c)));
  const edit = (request: FastifyRequest, change: (scope: ChainScope) => ChainEdit) => {
    const scope = scopeOf(request);
    return editChain(ctx, scope, change(scope));
  };

  app.get('/', { schema: { tags, summary: 'The authenticator (or chain); 204 when none', params, response: { 200: View, 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    const chain = chainIn(ctx.node.config, scopeOf(request));
    if (chain.length === 0) return reply.status(204).send();
    return answer(chain);
  });

  app.post('/', { schema: { tags, summary: 'Set the authenticator (or a chain)', params, body: RequestBody, response: { 201: View, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    const chain = await edit(request, (scope) => (stored) => {
      if (stored.length > 0) throw badRequest(`The authentication already exist on ${scope.label}`);
      return asList(request.body);
    });
    return reply.status(201).send(answer(chain));
  });

  app.put('/', { schema: { tags, summary: 'Replace the authenticator (or chain); "******" keeps a secret', params, body: RequestBody, response: { 200: View, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } }, async (request) => {
    const chain = await edit(request, (scope) => (stored) => {
      if (stored.length === 0) throw notFound(`The authentication doesn't exist on ${scope.label}`);
      return asList(request.body).map((c) => restoreMasked(c, stored.find((s) => idOf(s) === idOf(c))));
    });
    return answer(chain);
  });

  app.delete('/', { schema: { tags, summary: 'Remove the authentication', params, response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    await edit(request, () => (stored) => (stored.length > 0 ? [] : UNCHANGED));
    return reply.status(204).send();
  });

  await app.register(usersPlugin, { ctx, tag: tags[0]!, target: (request) => ({ scope: scopeOf(request), id: undefined }) });
};
