import type { FastifyInstance, RouteOptions } from 'fastify';
import { ROUTING } from '../config/fragments.js';

interface RouteSchema {
  tags?: string[];
  summary?: string;
  security?: unknown[];
  params?: { properties?: Record<string, unknown> };
  querystring?: { properties?: Record<string, unknown>; required?: string[] };
  body?: unknown;
  response?: Record<string, unknown>;
}

interface Operation {
  method: string;
  url: string;
  schema: RouteSchema;
}

/**
 * Collects every route's schema as it is registered and serves them as an OpenAPI 3.1
 * document at `/api-docs` (and `/api-docs/swagger.json`), without credentials. Bodies and
 * answers assembled from the registered types' fragments show every type's fields.
 */
export function installOpenApi(app: FastifyInstance, version: string): void {
  const operations: Operation[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema || !route.url.startsWith('/api/v5')) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) if (m !== 'HEAD') operations.push({ method: m.toLowerCase(), url: route.url, schema });
  });
  let document: string | undefined;
  const serve = async () => (document ??= JSON.stringify(build(operations, version)));
  for (const url of ['/api-docs', '/api-docs/swagger.json']) {
    app.get(url, async (_request, reply) => reply.type('application/json').send(await serve()));
  }
}

function build(operations: Operation[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = op.url.replace(/\/$/, '').replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [name, schema] of Object.entries(op.schema.params?.properties ?? {})) {
      parameters.push({ name, in: 'path', required: true, schema });
    }
    const required = new Set(op.schema.querystring?.required ?? []);
    for (const [name, schema] of Object.entries(op.schema.querystring?.properties ?? {})) {
      parameters.push({ name, in: 'query', required: required.has(name), schema });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(op.schema.response ?? {})) {
      responses[status] = status === '204' ? { description: 'No Content' } : { description: describe(status), content: { 'application/json': { schema: documentForm(schema) } } };
    }
    (paths[path] ??= {})[op.method] = {
      ...(op.schema.tags ? { tags: op.schema.tags } : {}),
      ...(op.schema.summary ? { summary: op.schema.summary } : {}),
      ...(op.schema.security ? { security: op.schema.security } : {}),
      parameters,
      ...(op.schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: documentForm(op.schema.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse management API (EMQX v5 compatible)', version },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        basicAuth: { type: 'http', scheme: 'basic', description: 'API key and secret from api_key.bootstrap_file' },
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'token from POST /api/v5/login' },
      },
    },
    security: [{ basicAuth: [] }, { bearerAuth: [] }],
    paths,
  };
}

function describe(status: string): string {
  const texts: Record<string, string> = {
    '200': 'OK',
    '201': 'Created',
    '400': 'Bad request: {code, message} naming the field',
    '401': 'Unauthorized',
    '403': 'Forbidden (viewer role)',
    '404': 'Not found',
    '409': 'Conflict',
    '500': 'Internal error',
  };
  return texts[status] ?? status;
}

/**
 * A schema as the document shows it: an answer chosen by `if`/`then` (one per authenticator
 * type, or list-or-one) becomes `oneOf` its shapes; a request's routing part (what the
 * route itself checks) is left out; a field with a default is not required of a client.
 */
function documentForm(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(documentForm);
  if (schema === null || typeof schema !== 'object') return schema;
  const node = schema as Record<string, unknown>;
  if ('if' in node && 'then' in node) {
    const shapes: unknown[] = [];
    let at: Record<string, unknown> | undefined = node;
    while (at && 'if' in at && 'then' in at) {
      shapes.push(documentForm(at['then']));
      at = at['else'] as Record<string, unknown> | undefined;
    }
    if (at) shapes.push(documentForm(at));
    const { if: _i, then: _t, else: _e, ...rest } = node;
    return { ...rest, oneOf: shapes };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) if (key !== ROUTING) out[key] = documentForm(value);
  const props = node['properties'] as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(node['required']) && props) out['required'] = (node['required'] as string[]).filter((k) => props[k]?.default === undefined);
  return out;
}
