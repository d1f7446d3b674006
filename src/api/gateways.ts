import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { StompListeners, type GatehouseConfig } from '../config/schema.js';
import { listenerSpec, type ListenerBlock } from '../transport/listener-spec.js';
import type { TransportType } from '../transport/types.js';
import type { ApiContext } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { redact, restoreMasked } from './redact.js';
import { ACCESS_ERRORS, AuthenticatorBody, AuthenticatorView, errors, NoContent } from './schemas.js';
import { authenticatorView, chainConfigs, commitChain, idOf, type AuthenticatorConfig, type ChainScope } from './chains.js';
import { applyListener, bodyToBlock, ListenerBody, ListenerView, listenerView } from './listeners.js';
import { usersRoutes } from './users.js';

const GATEWAYS = ['stomp'] as const;
const STOMP_TYPES = ['tcp', 'ssl', 'ws'] as const;
type StompType = (typeof STOMP_TYPES)[number];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

const notFound = (message: string) => new ApiError(404, 'RESOURCE_NOT_FOUND', message);

interface GatewayListener {
  id: string;
  type: StompType;
  name: string;
  block: Record<string, unknown>;
  /** Not written in the config: the listener a gateway without listeners gets. */
  implicit: boolean;
}

type StompConfig = NonNullable<GatehouseConfig['gateway']['stomp']>;

function stompConfig(ctx: ApiContext, name: string): StompConfig {
  if (!(GATEWAYS as readonly string[]).includes(name)) throw notFound(`Resource not found. gateway: ${name}`);
  const stomp = ctx.state.config.gateway.stomp;
  if (!stomp) throw notFound('Gateway not loaded');
  return stomp;
}

function gatewayListeners(stomp: StompConfig): GatewayListener[] {
  const out: GatewayListener[] = [];
  for (const type of STOMP_TYPES) {
    for (const [name, block] of Object.entries(stomp.listeners[type] as Record<string, Record<string, unknown>>)) {
      out.push({ id: `stomp:${type}:${name}`, type, name, block, implicit: false });
    }
  }
  if (out.length === 0) {
    const schema = Object.values(StompListeners.properties.tcp.patternProperties)[0];
    out.push({ id: 'stomp:tcp:default', type: 'tcp', name: 'default', block: Value.Default(schema, {}) as Record<string, unknown>, implicit: true });
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

/** Every stomp listener of a config as specs, by id (the implicit default included). */
function stompSpecs(config: GatehouseConfig) {
  const stomp = config.gateway.stomp;
  const specs = new Map<string, ReturnType<typeof listenerSpec>>();
  if (!stomp) return specs;
  for (const l of gatewayListeners(stomp)) {
    const spec = listenerSpec(l.id, l.type as TransportType, 'stomp', l.block as unknown as ListenerBlock);
    specs.set(l.id, stomp.enable ? spec : { ...spec, enable: false });
  }
  return specs;
}

/** Commits a gateway subtree and brings the gateway's listeners and chains in line. Inside `serial`. */
async function commitGateway(ctx: ApiContext, path: string[], value: unknown): Promise<void> {
  const prefix = path.join('.') + '.';
  await ctx.state.commit({
    path,
    value,
    field: (p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p),
    apply: async (next) => {
      const before = stompSpecs(ctx.state.config);
      const after = stompSpecs(next);
      for (const id of before.keys()) if (!after.has(id)) await applyListener(ctx, id, undefined);
      for (const [id, spec] of after) await applyListener(ctx, id, spec);
      const stomp = next.gateway.stomp;
      // Frame limits, mountpoint, idle_timeout and clientinfo_override apply to the next connection.
      if (stomp) ctx.node.gateways.stomp = stomp;
      await ctx.node.authn.setChain('stomp:global', stomp ? (stomp.authentication as Array<Record<string, unknown>>) : [], false);
      for (const l of stomp ? gatewayListeners(stomp) : []) {
        await ctx.node.authn.setChain(l.id, (l.block['authentication'] as Array<Record<string, unknown>> | undefined) ?? [], false);
      }
    },
  });
}

function gatewayView(ctx: ApiContext, stomp: StompConfig): Record<string, unknown> {
  const { listeners: _l, authentication, ...rest } = stomp;
  const ls = gatewayListeners(stomp);
  const running = ls.some((l) => ctx.node.listeners.get(l.id)?.running);
  return {
    name: 'stomp',
    ...redact(rest),
    status: stomp.enable ? (running ? 'running' : 'stopped') : 'stopped',
    current_connections: ls.reduce((n, l) => n + (ctx.node.listeners.get(l.id)?.status().current_connections ?? 0), 0),
    authentication: (authentication as Array<Record<string, unknown>>).map(authenticatorView),
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

const GatewayView = Type.Object(
  { name: Type.String(), enable: Type.Boolean(), status: Type.String(), listeners: Type.Array(ListenerView) },
  { additionalProperties: true },
);
const NameParam = Type.Object({ name: Type.String() }, { additionalProperties: true });

/** `/gateways…` (emqx5-auth.md §12.6), also answering on the seed's singular `/gateway/{name}…`. */
export async function gatewayRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const tags = ['gateways'];
  const nameOf = (request: FastifyRequest) => (request.params as { name: string }).name;

  app.get('/gateways', { schema: { tags, summary: 'The gateways and their status', response: { 200: Type.Array(Type.Object({ name: Type.String(), status: Type.String() }, { additionalProperties: true })), ...errors(...ACCESS_ERRORS) } } }, async () =>
    GATEWAYS.map((name) => {
      const stomp = ctx.state.config.gateway.stomp;
      if (!stomp) return { name, status: 'unloaded' };
      const view = gatewayView(ctx, stomp);
      return { name, status: view['status'], current_connections: view['current_connections'], listeners: (view['listeners'] as Array<Record<string, unknown>>).map((l) => ({ id: l['id'], type: l['type'], name: l['name'], running: l['running'] })) };
    }),
  );

  for (const base of ['/gateways/:name', '/gateway/:name']) {
    await app.register(
      async (gw) => {
        gw.get('/', { schema: { tags, summary: 'A gateway\'s config and status', params: NameParam, response: { 200: GatewayView, ...errors(404, ...ACCESS_ERRORS) } } }, async (request) =>
          gatewayView(ctx, stompConfig(ctx, nameOf(request))),
        );

        gw.put(
          '/',
          {
            schema: {
              tags,
              summary: 'Replace a gateway\'s config (listeners and authentication kept unless given)',
              params: NameParam,
              body: Type.Object({ enable: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
              response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) },
            },
          },
          async (request, reply) => {
            const name = nameOf(request);
            await ctx.state.serial(async () => {
              const stored = (GATEWAYS as readonly string[]).includes(name) ? ctx.state.config.gateway.stomp : undefined;
              if (!(GATEWAYS as readonly string[]).includes(name)) throw notFound(`Resource not found. gateway: ${name}`);
              const body = { ...(request.body as Record<string, unknown>) };
              delete body['name'];
              delete body['status'];
              delete body['current_connections'];
              const next = restoreMasked(body, stored) as Record<string, unknown>;
              next['listeners'] = 'listeners' in body ? listenersFromBody(body['listeners'], stored?.listeners) : (stored?.listeners ?? {});
              if (!('authentication' in body)) next['authentication'] = stored?.authentication ?? [];
              await commitGateway(ctx, ['gateway', 'stomp'], next);
            });
            return reply.status(204).send();
          },
        );

        gw.put(
          '/enable/:enable',
          { schema: { tags, summary: 'Enable or disable a gateway', params: Type.Object({ name: Type.String(), enable: Type.Boolean() }), response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
          async (request, reply) => {
            const { enable } = request.params as { enable: boolean };
            await ctx.state.serial(async () => {
              stompConfig(ctx, nameOf(request));
              await commitGateway(ctx, ['gateway', 'stomp', 'enable'], enable);
            });
            return reply.status(204).send();
          },
        );

        gw.get('/listeners', { schema: { tags, summary: 'A gateway\'s listeners', params: NameParam, response: { 200: Type.Array(ListenerView), ...errors(404, ...ACCESS_ERRORS) } } }, async (request) => {
          const stomp = stompConfig(ctx, nameOf(request));
          return gatewayListeners(stomp).map((l) => listenerView(ctx, l.id, l.type, l.name, l.block));
        });

        gw.post(
          '/listeners',
          { schema: { tags, summary: 'Add a gateway listener (body: type, name, bind, …)', params: NameParam, body: ListenerBody, response: { 201: ListenerView, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
          async (request, reply) => {
            const body = request.body as Record<string, unknown>;
            const id = typeof body['id'] === 'string' ? body['id'] : `stomp:${String(body['type'])}:${String(body['name'])}`;
            const view = await ctx.state.serial(async () => {
              const stomp = stompConfig(ctx, nameOf(request));
              const { type, name } = parseGatewayListenerId(id);
              const existing = gatewayListeners(stomp).find((l) => l.id === id && !l.implicit);
              if (existing) throw badRequest('Listener name has occupied');
              await commitGateway(ctx, ['gateway', 'stomp', 'listeners', type, name], bodyToBlock(body, undefined));
              const l = requireGatewayListener(ctx.state.config.gateway.stomp!, id);
              return listenerView(ctx, l.id, l.type, l.name, l.block);
            });
            return reply.status(201).send(view);
          },
        );

        const LParams = Type.Object({ name: Type.String(), listener_id: Type.String({ minLength: 1 }) });
        const lid = (request: FastifyRequest) => (request.params as { listener_id: string }).listener_id;

        gw.get('/listeners/:listener_id', { schema: { tags, summary: 'One gateway listener', params: LParams, response: { 200: ListenerView, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request) => {
          const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
          return listenerView(ctx, l.id, l.type, l.name, l.block);
        });

        gw.put(
          '/listeners/:listener_id',
          { schema: { tags, summary: 'Change a gateway listener', params: LParams, body: ListenerBody, response: { 200: ListenerView, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } },
          async (request) =>
            ctx.state.serial(async () => {
              const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
              await commitGateway(ctx, ['gateway', 'stomp', 'listeners', l.type, l.name], bodyToBlock(request.body as Record<string, unknown>, l.block));
              const now = requireGatewayListener(ctx.state.config.gateway.stomp!, l.id);
              return listenerView(ctx, now.id, now.type, now.name, now.block);
            }),
        );

        gw.delete('/listeners/:listener_id', { schema: { tags, summary: 'Remove a gateway listener', params: LParams, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request, reply) => {
          await ctx.state.serial(async () => {
            const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
            await commitGateway(ctx, ['gateway', 'stomp', 'listeners', l.type, l.name], l.implicit ? { ...l.block, enable: false } : undefined);
          });
          return reply.status(204).send();
        });

        const globalScope = (request: FastifyRequest): ChainScope => {
          stompConfig(ctx, nameOf(request));
          return { name: 'stomp:global', path: ['gateway', 'stomp', 'authentication'], label: 'stomp' };
        };
        const listenerScope = (request: FastifyRequest): ChainScope => {
          const l = requireGatewayListener(stompConfig(ctx, nameOf(request)), lid(request));
          return { name: l.id, path: ['gateway', 'stomp', 'listeners', l.type, l.name, 'authentication'], label: l.id };
        };
        await gatewayAuthRoutes(gw, ctx, globalScope, '/authentication', tags, NameParam);
        await gatewayAuthRoutes(gw, ctx, listenerScope, '/listeners/:listener_id/authentication', tags, LParams);
      },
      { prefix: base },
    );
  }
}

/** The gateway form of authentication (§12.6): one authenticator object, or a chain (gatehouse-choices 10). */
async function gatewayAuthRoutes(
  app: FastifyInstance,
  ctx: ApiContext,
  scopeOf: (request: FastifyRequest) => ChainScope,
  path: string,
  tags: string[],
  params: ReturnType<typeof Type.Object>,
): Promise<void> {
  const Body = Type.Union([AuthenticatorBody, Type.Array(AuthenticatorBody)]);
  const View = Type.Union([AuthenticatorView, Type.Array(AuthenticatorView)]);
  const asList = (body: unknown) => (Array.isArray(body) ? body : [body]) as AuthenticatorConfig[];
  const answer = (configs: AuthenticatorConfig[]) => (configs.length === 1 ? authenticatorView(configs[0]!) : configs.map(authenticatorView));

  app.get(path, { schema: { tags, summary: 'The authenticator (or chain); 204 when none', params, response: { 200: View, 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    const configs = chainConfigs(ctx, scopeOf(request));
    if (configs.length === 0) return reply.status(204).send();
    return answer(configs);
  });

  app.post(path, { schema: { tags, summary: 'Set the authenticator (or a chain)', params, body: Body, response: { 201: View, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    const scope = scopeOf(request);
    const view = await ctx.state.serial(async () => {
      if (chainConfigs(ctx, scope).length > 0) throw badRequest(`The authentication already exist on ${scope.label}`);
      await commitChain(ctx, scope, asList(request.body));
      return answer(chainConfigs(ctx, scope));
    });
    return reply.status(201).send(view);
  });

  app.put(path, { schema: { tags, summary: 'Replace the authenticator (or chain); "******" keeps a secret', params, body: Body, response: { 200: View, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } }, async (request) => {
    const scope = scopeOf(request);
    return ctx.state.serial(async () => {
      const stored = chainConfigs(ctx, scope);
      if (stored.length === 0) throw notFound(`The authentication doesn't exist on ${scope.label}`);
      const next = asList(request.body).map((c) => restoreMasked(c, stored.find((s) => idOf(s) === idOf(c))));
      await commitChain(ctx, scope, next);
      return answer(chainConfigs(ctx, scope));
    });
  });

  app.delete(path, { schema: { tags, summary: 'Remove the authentication', params, response: { 204: NoContent, ...errors(400, 404, 409, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    const scope = scopeOf(request);
    await ctx.state.serial(async () => {
      if (chainConfigs(ctx, scope).length > 0) await commitChain(ctx, scope, []);
    });
    return reply.status(204).send();
  });

  await app.register(async (users) => usersRoutes(users, ctx, (request) => ({ scope: scopeOf(request), id: undefined }), tags[0]!), { prefix: path });
}
