import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { LISTENER_TYPES, ListenerSchemas, type GatehouseConfig, type ListenerType } from '../config/schema.js';
import { mergeOverrides } from '../config/overrides.js';
import type { ApiContext, ResourceOptions } from './context.js';
import { applyAt } from './apply.js';
import { ApiError } from './errors.js';
import { restoreMasked } from './redact.js';
import { ACCESS_ERRORS, blockView, errors, NoContent } from './schemas.js';
import { authenticationPlugin } from './authentication.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Fields of an answer that are not configuration (dropped from a PUT/POST body). */
const VIEW_ONLY = ['id', 'type', 'name', 'running', 'status', 'node_status', 'authentication'];
/** tcp:default and ws:default always exist (§11.1): deleting them disables them. */
const ALWAYS_PRESENT = new Set(['tcp:default', 'ws:default']);

/** Around a listener's configuration in an answer: who it is, and its status. */
export const LISTENER_IDENTITY = { id: Type.String(), type: Type.String(), name: Type.String() };
export const LISTENER_STATUS = {
  running: Type.Boolean(),
  status: Type.Object({ running: Type.Boolean(), current_connections: Type.Integer(), max_connections: Type.Union([Type.Integer(), Type.String()]) }),
  node_status: Type.Array(Type.Object({ node: Type.String(), status: Type.Object({ running: Type.Boolean(), current_connections: Type.Integer() }) })),
};

/** An MQTT listener as answered: its configuration without its chain (secrets masked) and its status. */
const ListenerView = blockView(Object.values(ListenerSchemas), ['authentication'], LISTENER_IDENTITY, LISTENER_STATUS);

export const ListenerBody = Type.Object(
  {
    id: Type.Optional(Type.String()),
    type: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    enable: Type.Optional(Type.Boolean()),
    bind: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
  },
  { additionalProperties: true, description: 'listener settings; checked with the whole configuration when applied' },
);

export interface ListenerRef {
  id: string;
  type: ListenerType;
  name: string;
  path: string[];
}

export function parseListenerId(id: string): ListenerRef {
  const [type, name, ...more] = id.split(':');
  if (!type || !name || more.length > 0 || !(LISTENER_TYPES as string[]).includes(type) || !NAME.test(name)) {
    throw new ApiError(400, 'BAD_LISTENER_ID', `Invalid listener id ${JSON.stringify(id)}: expected <tcp|ssl|ws|wss>:<name>`);
  }
  return { id, type: type as ListenerType, name, path: ['listeners', type, name] };
}

function blockOf(config: GatehouseConfig, ref: ListenerRef): Record<string, unknown> | undefined {
  return (config.listeners[ref.type] as Record<string, Record<string, unknown>>)[ref.name];
}

function requireListener(ctx: ApiContext, id: string): { ref: ListenerRef; block: Record<string, unknown> } {
  const ref = parseListenerId(id);
  const block = blockOf(ctx.node.config, ref);
  if (!block) throw listenerNotFound();
  return { ref, block };
}

const listenerNotFound = () => new ApiError(404, 'BAD_LISTENER_ID', 'Listener not found');

/** A listener for an answer: config without its chain, secrets masked, with status. */
export function listenerView(ctx: ApiContext, id: string, type: string, name: string, block: Record<string, unknown>): Record<string, unknown> {
  const { authentication: _chain, ...config } = block;
  const status = ctx.node.listeners.get(id)?.status();
  const running = status?.running ?? false;
  const current = status?.current_connections ?? 0;
  const max = block['max_connections'] as number | string;
  return {
    id,
    type,
    name,
    ...ctx.node.secrets.redact(config),
    running,
    status: { running, current_connections: current, max_connections: max },
    node_status: [{ node: ctx.node.config.node.name, status: { running, current_connections: current } }],
  };
}

/** The body of a PUT/POST as a config block: answer-only fields dropped, masked secrets restored, the chain kept. */
export function bodyToBlock(body: Record<string, unknown>, stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!VIEW_ONLY.includes(k)) clean[k] = v;
  const restored = restoreMasked(clean, stored);
  if (!stored) return restored;
  const { authentication, ...rest } = stored;
  return { ...mergeOverrides(rest, restored), authentication };
}

type Block = Record<string, unknown> | undefined;

/** Applies a change of one MQTT listener's block (chain included) through the node; answers its view. */
async function changeListener(ctx: ApiContext, ref: ListenerRef, to: (stored: Block) => Block): Promise<Record<string, unknown> | undefined> {
  const { config } = await applyAt(ctx.node, ref.path, (current) => to(current as Block));
  const block = blockOf(config, ref);
  return block && listenerView(ctx, ref.id, ref.type, ref.name, block);
}

/** `/listeners…` (§11.1): MQTT listeners, live and persistent; their chains under `/listeners/{id}/authentication`. */
export const listenersPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  const tags = ['listeners'];
  const Params = Type.Object({ listener_id: Type.String({ minLength: 1 }) });
  const idOf = (request: FastifyRequest) => (request.params as { listener_id: string }).listener_id;

  app.get('/listeners', { schema: { tags, summary: 'Every MQTT listener with its status', response: { 200: Type.Array(ListenerView), ...errors(...ACCESS_ERRORS) } } }, async () =>
    LISTENER_TYPES.flatMap((type) =>
      Object.entries(ctx.node.config.listeners[type]).map(([name, block]) => listenerView(ctx, `${type}:${name}`, type, name, block as Record<string, unknown>)),
    ),
  );

  const create = (id: string, body: Record<string, unknown>) =>
    changeListener(ctx, parseListenerId(id), (stored) => {
      if (stored) throw new ApiError(400, 'BAD_LISTENER_ID', 'Already Exist');
      return bodyToBlock(body, undefined);
    });

  app.post(
    '/listeners',
    { schema: { tags, summary: 'Create a listener (body names type and name, or id)', body: ListenerBody, response: { 200: ListenerView, ...errors(400, ...ACCESS_ERRORS) } } },
    async (request) => {
      const body = request.body as Record<string, unknown>;
      return create(typeof body['id'] === 'string' ? body['id'] : `${String(body['type'])}:${String(body['name'])}`, body);
    },
  );

  app.get('/listeners/:listener_id', { schema: { tags, summary: 'One listener', params: Params, response: { 200: ListenerView, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request) => {
    const { ref, block } = requireListener(ctx, idOf(request));
    return listenerView(ctx, ref.id, ref.type, ref.name, block);
  });

  app.post(
    '/listeners/:listener_id',
    { schema: { tags, summary: 'Create a listener with this id', params: Params, body: ListenerBody, response: { 200: ListenerView, ...errors(400, ...ACCESS_ERRORS) } } },
    async (request) => create(idOf(request), request.body as Record<string, unknown>),
  );

  app.put(
    '/listeners/:listener_id',
    {
      schema: {
        tags,
        summary: 'Change a listener (fields given are merged; "******" keeps a secret); applied at once',
        params: Params,
        body: ListenerBody,
        response: { 200: ListenerView, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request) =>
      changeListener(ctx, parseListenerId(idOf(request)), (stored) => {
        if (!stored) throw listenerNotFound();
        return bodyToBlock(request.body as Record<string, unknown>, stored);
      }),
  );

  app.delete('/listeners/:listener_id', { schema: { tags, summary: 'Remove a listener', params: Params, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    const ref = parseListenerId(idOf(request));
    await changeListener(ctx, ref, (stored) => {
      if (!stored) throw listenerNotFound();
      return ALWAYS_PRESENT.has(ref.id) ? { ...stored, enable: false } : undefined;
    });
    return reply.status(204).send();
  });

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/listeners/:listener_id/${action}`,
      { schema: { tags, summary: `${action} a listener${action === 'restart' ? '' : ' (persisted as enable)'}`, params: Params, response: { 200: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
      async (request, reply) => {
        const { ref, block } = requireListener(ctx, idOf(request));
        // A restart of a running listener is not a configuration change; of a stopped one it starts it.
        if (action === 'restart' && ctx.node.listeners.has(ref.id) && block['enable'] !== false) await ctx.node.listeners.restart(ref.id);
        else {
          await changeListener(ctx, ref, (stored) => {
            if (!stored) throw listenerNotFound();
            return { ...stored, enable: action !== 'stop' };
          });
        }
        return reply.status(200).send();
      },
    );
  }

  await app.register(authenticationPlugin, {
    ctx,
    prefix: '/listeners/:listener_id',
    tag: 'listener authentication',
    scopeOf: (request) => {
      const { ref } = requireListener(ctx, idOf(request));
      return { name: ref.id, path: [...ref.path, 'authentication'], label: ref.id };
    },
  });
};
