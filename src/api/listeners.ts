import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { LISTENER_TYPES, type GatehouseConfig, type ListenerType } from '../config/schema.js';
import { mergeOverrides } from '../config/overrides.js';
import { listenerSpec, type ListenerBlock } from '../transport/listener-spec.js';
import { ListenerStartError } from '../transport/errors.js';
import type { ListenerSpec } from '../transport/types.js';
import type { ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { redact, restoreMasked } from './redact.js';
import { ACCESS_ERRORS, errors, NoContent } from './schemas.js';
import { authenticationRoutes } from './authentication.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Fields of an answer that are not configuration (dropped from a PUT/POST body). */
const VIEW_ONLY = ['id', 'type', 'name', 'running', 'status', 'node_status', 'authentication'];
/** tcp:default and ws:default always exist (§11.1): deleting them disables them. */
const ALWAYS_PRESENT = new Set(['tcp:default', 'ws:default']);

export const ListenerView = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    name: Type.String(),
    enable: Type.Boolean(),
    running: Type.Boolean(),
    bind: Type.Union([Type.String(), Type.Integer()]),
    status: Type.Object({ running: Type.Boolean(), current_connections: Type.Integer(), max_connections: Type.Union([Type.Integer(), Type.String()]) }),
    node_status: Type.Array(Type.Object({ node: Type.String(), status: Type.Object({ running: Type.Boolean(), current_connections: Type.Integer() }) })),
  },
  { additionalProperties: true, description: 'listener config (without authentication; secrets shown as "******") and status' },
);

export const ListenerBody = Type.Object(
  {
    id: Type.Optional(Type.String()),
    type: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    enable: Type.Optional(Type.Boolean()),
    bind: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
  },
  { additionalProperties: true },
);

export interface ListenerRef {
  id: string;
  type: ListenerType;
  name: string;
}

export function parseListenerId(id: string): ListenerRef {
  const [type, name, ...more] = id.split(':');
  if (!type || !name || more.length > 0 || !(LISTENER_TYPES as string[]).includes(type) || !NAME.test(name)) {
    throw new ApiError(400, 'BAD_LISTENER_ID', `Invalid listener id ${JSON.stringify(id)}: expected <tcp|ssl|ws|wss>:<name>`);
  }
  return { id, type: type as ListenerType, name };
}

function blockOf(config: GatehouseConfig, ref: ListenerRef): Record<string, unknown> | undefined {
  return (config.listeners[ref.type] as Record<string, Record<string, unknown>>)[ref.name];
}

function requireListener(ctx: ApiContext, id: string): { ref: ListenerRef; block: Record<string, unknown> } {
  const ref = parseListenerId(id);
  const block = blockOf(ctx.state.config, ref);
  if (!block) throw new ApiError(404, 'BAD_LISTENER_ID', 'Listener not found');
  return { ref, block };
}

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
    ...redact(config),
    running,
    status: { running, current_connections: current, max_connections: max },
    node_status: [{ node: ctx.state.config.node.name, status: { running, current_connections: current } }],
  };
}

/** The body of a PUT/POST as a config block: answer-only fields dropped, masked secrets restored. */
export function bodyToBlock(body: Record<string, unknown>, stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!VIEW_ONLY.includes(k)) clean[k] = v;
  const restored = restoreMasked(clean, stored);
  if (!stored) return restored;
  const { authentication, ...rest } = stored;
  return { ...mergeOverrides(rest, restored), authentication };
}

/** Makes a listener's new spec live: start, update in place or restart, stop, or remove. */
export async function applyListener(ctx: ApiContext, id: string, spec: ListenerSpec | undefined): Promise<void> {
  const manager = ctx.node.listeners;
  try {
    if (!spec) {
      if (manager.has(id)) await manager.remove(id);
      return;
    }
    if (manager.has(id)) await manager.update(spec);
    else if (spec.enable) await manager.add(spec);
  } catch (err) {
    if (err instanceof ListenerStartError) throw new ApiError(400, 'BAD_REQUEST', err.message);
    throw err;
  }
}

/** Commits an MQTT listener block (or its removal), chain included. Call inside `serial`. */
async function commitListener(ctx: ApiContext, ref: ListenerRef, block: Record<string, unknown> | undefined): Promise<void> {
  const prefix = `listeners.${ref.type}.${ref.name}.`;
  await ctx.state.commit({
    path: ['listeners', ref.type, ref.name],
    value: block,
    field: (p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p),
    apply: async (next) => {
      const nextBlock = blockOf(next, ref) as ListenerBlock | undefined;
      await applyListener(ctx, ref.id, nextBlock ? listenerSpec(ref.id, ref.type, 'mqtt', nextBlock) : undefined);
      await ctx.node.authn.setChain(ref.id, (nextBlock?.authentication as Array<Record<string, unknown>> | undefined) ?? [], false);
    },
  });
}

/** `/listeners…` (§11.1): MQTT listeners, live and persistent; their chains under `/listeners/{id}/authentication`. */
export async function listenerRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const tags = ['listeners'];
  const Params = Type.Object({ listener_id: Type.String({ minLength: 1 }) });
  const idOf = (request: FastifyRequest) => (request.params as { listener_id: string }).listener_id;

  app.get('/listeners', { schema: { tags, summary: 'Every MQTT listener with its status', response: { 200: Type.Array(ListenerView), ...errors(...ACCESS_ERRORS) } } }, async () => {
    const out: Array<Record<string, unknown>> = [];
    for (const type of LISTENER_TYPES) {
      for (const [name, block] of Object.entries(ctx.state.config.listeners[type])) {
        out.push(listenerView(ctx, `${type}:${name}`, type, name, block as Record<string, unknown>));
      }
    }
    return out;
  });

  const create = async (id: string, body: Record<string, unknown>) => {
    const ref = parseListenerId(id);
    return ctx.state.serial(async () => {
      if (blockOf(ctx.state.config, ref)) throw new ApiError(400, 'BAD_LISTENER_ID', 'Already Exist');
      await commitListener(ctx, ref, bodyToBlock(body, undefined));
      return listenerView(ctx, ref.id, ref.type, ref.name, blockOf(ctx.state.config, ref)!);
    });
  };

  app.post(
    '/listeners',
    {
      schema: {
        tags,
        summary: 'Create a listener (body names type and name, or id)',
        body: ListenerBody,
        response: { 200: ListenerView, ...errors(400, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const body = request.body as Record<string, unknown>;
      const id = typeof body['id'] === 'string' ? body['id'] : `${String(body['type'])}:${String(body['name'])}`;
      return create(id, body);
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
    async (request) => {
      const id = idOf(request);
      return ctx.state.serial(async () => {
        const { ref, block } = requireListener(ctx, id);
        await commitListener(ctx, ref, bodyToBlock(request.body as Record<string, unknown>, block));
        return listenerView(ctx, ref.id, ref.type, ref.name, blockOf(ctx.state.config, ref)!);
      });
    },
  );

  app.delete('/listeners/:listener_id', { schema: { tags, summary: 'Remove a listener', params: Params, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } }, async (request, reply) => {
    const id = idOf(request);
    await ctx.state.serial(async () => {
      const { ref, block } = requireListener(ctx, id);
      await commitListener(ctx, ref, ALWAYS_PRESENT.has(ref.id) ? { ...block, enable: false } : undefined);
    });
    return reply.status(204).send();
  });

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/listeners/:listener_id/${action}`,
      { schema: { tags, summary: `${action} a listener${action === 'restart' ? '' : ' (persisted as enable)'}`, params: Params, response: { 200: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
      async (request, reply) => {
        const id = idOf(request);
        await ctx.state.serial(async () => {
          const { ref, block } = requireListener(ctx, id);
          if (action === 'restart' && ctx.node.listeners.has(id) && block['enable'] !== false) {
            try {
              await ctx.node.listeners.restart(id);
            } catch (err) {
              if (err instanceof ListenerStartError) throw new ApiError(400, 'BAD_REQUEST', err.message);
              throw err;
            }
            return;
          }
          await commitListener(ctx, ref, { ...block, enable: action !== 'stop' });
        });
        return reply.status(200).send();
      },
    );
  }

  await app.register(
    async (scoped) =>
      authenticationRoutes(
        scoped,
        ctx,
        (request) => {
          const { ref } = requireListener(ctx, idOf(request));
          return { name: ref.id, path: ['listeners', ref.type, ref.name, 'authentication'], label: ref.id };
        },
        'listener authentication',
      ),
    { prefix: '/listeners/:listener_id' },
  );
}
