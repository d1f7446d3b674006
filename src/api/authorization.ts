import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { fillDefaults } from '../config/defaults.js';
import { schemaProblems } from '../config/load.js';
import { AuthorizationConfig } from '../config/schema.js';
import { UNCHANGED } from '../node/changes.js';
import { SourceInputError } from '../authz/source.js';
import type { AuthorizationSettings } from '../authz/authorizer.js';
import type { ApiContext, ResourceOptions } from './context.js';
import { applyAt } from './apply.js';
import { ApiError, badRequest, problemsText } from './errors.js';
import { restoreMasked } from './redact.js';
import { ACCESS_ERRORS, errors, NoContent, StatusAnswer, statusOf } from './schemas.js';
import { authorizationRulesPlugin } from './authorization-rules.js';
import { authorizationExplainPlugin } from './authorization-explain.js';

type SourceBlock = Record<string, unknown> & { type: string };

const SOURCES_PATH = ['authorization', 'sources'] as const;

const Settings = Type.Object(
  {
    no_match: AuthorizationConfig.properties.no_match,
    deny_action: AuthorizationConfig.properties.deny_action,
    cache: AuthorizationConfig.properties.cache,
  },
  { additionalProperties: false },
);

/** The body: all three keys (§9.2); the cache's fields take their defaults. */
const SettingsBody = Type.Object(
  {
    no_match: AuthorizationConfig.properties.no_match,
    deny_action: AuthorizationConfig.properties.deny_action,
    cache: Type.Partial(AuthorizationConfig.properties.cache),
  },
  { additionalProperties: false },
);

const SourceMetrics = Type.Object(
  {
    total: Type.Integer(),
    allow: Type.Integer(),
    deny: Type.Integer(),
    nomatch: Type.Integer(),
    ignore: Type.Integer(),
    rate: Type.Number(),
    rate_max: Type.Number(),
    rate_last5m: Type.Number(),
  },
  { additionalProperties: false },
);

/** §9.1 status: like an authenticator's, with the source counters. */
const Status = StatusAnswer(SourceMetrics);

const CachedDecisionView = Type.Object(
  {
    access: Type.Object(
      { action: Type.String(), qos: Type.Integer(), retain: Type.Boolean() },
      { additionalProperties: false },
    ),
    topic: Type.String(),
    result: Type.String(),
    updated_time: Type.Integer({ description: 'milliseconds since the epoch' }),
  },
  { additionalProperties: false },
);

const Position = Type.Object({ position: Type.String({ description: 'front, rear, before:TYPE or after:TYPE' }) }, { additionalProperties: false });
const Order = Type.Array(Type.Object({ type: Type.String({ minLength: 1 }) }, { additionalProperties: false }));
const ClientParam = Type.Object({ clientid: Type.String({ minLength: 1 }) });

/**
 * `/authorization…` (emqx5-auth.md §9.1, §9.2): the sources in order, the settings and the
 * cache, applied through the node (`authorizationHandler` owns the subtree) and persisted; the
 * built-in database's rules (§9.3, `authorization-rules.ts`) and explain.
 */
export const authorizationPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  const tags = ['authorization'];
  const authz = ctx.node.authz;
  const registry = authz.registry;
  const TypeParam = Type.Object({ type: Type.Union(registry.names().map((n) => Type.Literal(n)), { expected: `one of ${registry.names().join(', ')}` }) });
  const Body = registry.fragments.bodySchema();
  const View = registry.fragments.viewSchema();
  const configured = (): SourceBlock[] => ctx.node.config.authorization.sources.map((s) => structuredClone(s) as SourceBlock);

  app.get(
    '/authorization/settings',
    { schema: { tags, summary: 'no_match, deny_action and the cache (§8.3)', response: { 200: Settings, ...errors(...ACCESS_ERRORS) } } },
    async () => settingsOf(ctx),
  );

  app.put(
    '/authorization/settings',
    { schema: { tags, summary: 'Replace no_match, deny_action and the cache; every cached decision goes', body: SettingsBody, response: { 200: Settings, ...errors(400, ...ACCESS_ERRORS) } } },
    async (request) => {
      const body = request.body as Pick<AuthorizationSettings, 'no_match' | 'deny_action' | 'cache'>;
      await applyAt(ctx.node, ['authorization'], (current) => ({ ...(current as object), no_match: body.no_match, deny_action: body.deny_action, cache: body.cache }));
      return settingsOf(ctx);
    },
  );

  app.get(
    '/authorization/sources',
    { schema: { tags, summary: 'The sources in order (a file source shows its rules)', response: { 200: Type.Object({ sources: Type.Array(View) }, { additionalProperties: false }), ...errors(...ACCESS_ERRORS) } } },
    async () => ({ sources: configured().map((s) => sourceView(ctx, s, false)) }),
  );

  app.post(
    '/authorization/sources',
    { schema: { tags, summary: 'Add a source; it goes first (one source per type)', body: Body, response: { 204: NoContent, ...errors(400, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const body = request.body as SourceBlock;
      await editSources(ctx, (sources, toConfig) => {
        if (sources.some((s) => s.type === body.type)) throw badRequest(`{duplicated_authz_source_type,[${body.type}]}`);
        return [toConfig(body), ...sources];
      });
      return reply.status(204).send();
    },
  );

  app.put(
    '/authorization/sources/order',
    { schema: { tags, summary: 'All the sources in a new order', body: Order, response: { 204: NoContent, ...errors(400, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const order = (request.body as Array<{ type: string }>).map((o) => o.type);
      await editSources(ctx, (sources) => {
        const types = sources.map((s) => s.type);
        const unknown = order.filter((t) => !types.includes(t));
        const missing = types.filter((t) => !order.includes(t));
        const twice = order.filter((t, i) => order.indexOf(t) !== i);
        const problems: string[] = [];
        if (unknown.length > 0) problems.push(`Authorization sources: ${unknown.join(', ')} are not found`);
        if (missing.length > 0) problems.push(`No positions are specified for authorization sources: ${missing.join(', ')}`);
        if (twice.length > 0) problems.push(`Authorization sources listed twice: ${twice.join(', ')}`);
        if (problems.length > 0) throw badRequest(problems.join('; '));
        return order.map((t) => sources[types.indexOf(t)]!);
      });
      return reply.status(204).send();
    },
  );

  app.get(
    '/authorization/sources/:type',
    { schema: { tags, summary: 'One source', params: TypeParam, response: { 200: View, ...errors(400, 404, 500, ...ACCESS_ERRORS) } } },
    async (request) => sourceView(ctx, requireSource(configured(), (request.params as { type: string }).type), true),
  );

  app.put(
    '/authorization/sources/:type',
    {
      schema: {
        tags,
        summary: 'Replace a source in place ("******" keeps a stored secret); a file source\'s rules are checked first',
        params: TypeParam,
        body: Body,
        response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request, reply) => {
      const { type } = request.params as { type: string };
      const body = request.body as SourceBlock;
      await editSources(ctx, (sources, toConfig) => {
        const stored = requireSource(sources, type);
        if (body.type !== type) throw badRequest('Type mismatch');
        return sources.map((s) => (s === stored ? toConfig(restoreMasked(body, stored)) : s));
      });
      return reply.status(204).send();
    },
  );

  app.delete(
    '/authorization/sources/:type',
    { schema: { tags, summary: 'Remove a source', params: TypeParam, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const { type } = request.params as { type: string };
      await editSources(ctx, (sources) => {
        requireSource(sources, type);
        return sources.filter((s) => s.type !== type);
      });
      return reply.status(204).send();
    },
  );

  app.get(
    '/authorization/sources/:type/status',
    { schema: { tags, summary: 'Counters (total, allow, deny, nomatch, ignore), the rate of total, and resource status', params: TypeParam, response: { 200: Status, ...errors(400, 404, ...ACCESS_ERRORS) } } },
    async (request) => {
      const { type } = request.params as { type: string };
      requireSource(configured(), type);
      const running = authz.sources().find((s) => s.type === type);
      if (!running) throw new ApiError(400, 'INTERNAL_ERROR', `Authorization source '${type}' is configured but not running`);
      return statusOf(ctx.node.config.node.name, running.status, running.metrics);
    },
  );

  app.post(
    '/authorization/sources/:type/move',
    { schema: { tags, summary: 'Move a source: front, rear, before:TYPE or after:TYPE', params: TypeParam, body: Position, response: { 204: NoContent, ...errors(400, 404, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const { type } = request.params as { type: string };
      const { position } = request.body as { position: string };
      const m = /^(front|rear)$|^(before|after):(.+)$/.exec(position);
      if (!m) throw badRequest('Invalid parameter. Unknow position');
      await editSources(ctx, (sources) => {
        const moved = requireSource(sources, type);
        const rest = sources.filter((s) => s !== moved);
        let at = m[1] === 'front' ? 0 : rest.length;
        if (m[2] !== undefined) {
          const rel = rest.findIndex((s) => s.type === m[3]);
          if (rel < 0) throw new ApiError(404, 'NOT_FOUND', `Not found: ${m[3]}`);
          at = m[2] === 'before' ? rel : rel + 1;
        }
        rest.splice(at, 0, moved);
        return rest;
      });
      return reply.status(204).send();
    },
  );

  app.delete(
    '/authorization/cache',
    { schema: { tags, summary: "Drop every client's cached decisions", response: { 204: NoContent, ...errors(...ACCESS_ERRORS) } } },
    async (_request, reply) => {
      authz.invalidate();
      return reply.status(204).send();
    },
  );

  app.get(
    '/clients/:clientid/authorization/cache',
    { schema: { tags, summary: "A connected client's cached decisions", params: ClientParam, response: { 200: Type.Array(CachedDecisionView), ...errors(404, ...ACCESS_ERRORS) } } },
    async (request) => {
      const { clientid } = request.params as { clientid: string };
      requireConnected(ctx, clientid);
      return authz.cachedDecisions(clientid) ?? [];
    },
  );

  app.delete(
    '/clients/:clientid/authorization/cache',
    { schema: { tags, summary: "Drop a connected client's cached decisions", params: ClientParam, response: { 204: NoContent, ...errors(404, ...ACCESS_ERRORS) } } },
    async (request, reply) => {
      const { clientid } = request.params as { clientid: string };
      requireConnected(ctx, clientid);
      authz.invalidate(clientid);
      return reply.status(204).send();
    },
  );

  await app.register(authorizationRulesPlugin, { ctx });
  await app.register(authorizationExplainPlugin, { ctx });
};

function settingsOf(ctx: ApiContext): Pick<AuthorizationSettings, 'no_match' | 'deny_action' | 'cache'> {
  const { no_match, deny_action, cache } = ctx.node.config.authorization;
  return { no_match, deny_action, cache };
}

function requireSource(sources: SourceBlock[], type: string): SourceBlock {
  const found = sources.find((s) => s.type === type);
  if (!found) throw new ApiError(404, 'NOT_FOUND', `Not found: ${type}`);
  return found;
}

function requireConnected(ctx: ApiContext, clientid: string): void {
  if (!ctx.node.access.isConnected(clientid)) throw new ApiError(404, 'CLIENTID_NOT_FOUND', 'Client ID not found');
}

/** A source for an answer: its API form (a file's rules), secrets masked. */
function sourceView(ctx: ApiContext, config: SourceBlock, one: boolean): Record<string, unknown> {
  const form = ctx.node.authz.registry.find(config.type)?.api;
  let view: Record<string, unknown> = config;
  if (form) {
    try {
      view = form.view(config, ctx.node.authz.files);
    } catch (err) {
      // §9.1: a file that cannot be read is 500 for the one source; the list shows the rest.
      if (one) throw new ApiError(500, 'INTERNAL_ERROR', `${config.type}: ${(err as Error).message}`);
    }
  }
  return ctx.node.secrets.redact(view);
}

/**
 * Edits the sources through the node's `apply`, in the change's turn: validated with the whole
 * configuration, made live (`authorizationHandler`), persisted. `toConfig` turns an API body into
 * its configuration block (checked against its type's API form; a file's `rules` stored); what it
 * stored is put back when the change is refused. Problems are named relative to the source block.
 */
async function editSources(ctx: ApiContext, edit: (sources: SourceBlock[], toConfig: (body: SourceBlock) => SourceBlock) => SourceBlock[] | typeof UNCHANGED): Promise<void> {
  const undo: Array<() => void> = [];
  const toConfig = (body: SourceBlock): SourceBlock => {
    const sourceType = ctx.node.authz.registry.find(body.type);
    if (!sourceType) throw badRequest(`type: unknown authorization source type ${JSON.stringify(body.type)}; available: ${ctx.node.authz.registry.names().join(', ')}`);
    const form = sourceType.api;
    const checked = structuredClone(body);
    fillDefaults(form?.schema ?? sourceType.schema, checked);
    const problems = schemaProblems(form?.schema ?? sourceType.schema, checked, '', ctx.node.secrets);
    if (problems.length > 0) throw badRequest(problemsText(problems));
    if (!form) return checked;
    try {
      const made = form.toConfig(checked, ctx.node.authz.files);
      undo.push(made.undo);
      return made.config as SourceBlock;
    } catch (err) {
      if (err instanceof SourceInputError) throw badRequest(err.message);
      throw err;
    }
  };
  const prefix = SOURCES_PATH.join('.') + '.';
  try {
    await applyAt(
      ctx.node,
      SOURCES_PATH,
      (current) => edit(((current ?? []) as SourceBlock[]).map((s) => structuredClone(s)), toConfig),
      (p) => (p.startsWith(prefix) ? p.slice(prefix.length).replace(/^\d+\.?/, '') || p : p),
    );
  } catch (err) {
    for (const u of undo.reverse()) u();
    throw err;
  }
}
