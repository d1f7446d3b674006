import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { formatBind, parseBind, type BindAddress } from '../config/bind.js';
import { ListenerStartError } from '../transport/errors.js';
import { readPemOrPath } from '../config/load.js';
import type { GatehouseNode } from '../node/node.js';
import { ApiAccess } from './access.js';
import type { ApiContext } from './context.js';
import { installErrorHandler } from './errors.js';
import { installValidator } from './validation.js';
import { installOpenApi } from './openapi.js';
import { installAccessControl, loginPlugin } from './login.js';
import { authenticationPlugin } from './authentication.js';
import { authorizationPlugin } from './authorization.js';
import { explainPlugin } from './explain.js';
import { listenersPlugin } from './listeners.js';
import { gatewaysPlugin } from './gateways.js';
import { metricsPlugin } from './metrics.js';
import { bannedRoutes } from './banned.js';
import { ApiMetrics } from './prometheus.js';
import type { MultipartBody } from './multipart.js';

export const API_BASE = '/api/v5';

export interface ApiOptions {
  /** Relative paths (data_dir, api_key.bootstrap_file, TLS files) resolve against this; default cwd. */
  baseDir?: string;
}

/** The running management API. */
export interface ApiServer {
  /** The HTTP listener's address (port 0 resolved). */
  address: BindAddress;
  /** The HTTPS listener's address, when dashboard.listeners.https is enabled. */
  httpsAddress?: BindAddress;
  close(): Promise<void>;
}

function packageVersion(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const file = join(d, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(d) === d) return '0.0.0';
  }
}

/** The shared state of the API's servers: the node, access control, metrics. */
export async function createApiContext(node: GatehouseNode, opts: ApiOptions = {}): Promise<ApiContext> {
  const baseDir = opts.baseDir ?? process.cwd();
  const access = await ApiAccess.create({
    logger: node.logger,
    meta: node.store.meta,
    username: node.config.dashboard.default_username,
    password: node.config.dashboard.default_password,
    apiKeyFile: node.config.api_key.bootstrap_file,
    baseDir,
  });
  return { node, access, metrics: new ApiMetrics(node) };
}

/** One fastify instance serving the whole API over a context (use `inject()` in tests). */
export async function buildApiApp(ctx: ApiContext, opts: { https?: { key: Buffer; cert: Buffer }; ownsContext?: boolean } = {}): Promise<FastifyInstance> {
  const https = opts.https;
  const app = Fastify({
    bodyLimit: 4 * 1024 * 1024,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;
  const version = packageVersion();
  installValidator(app);
  installErrorHandler(app, ctx.node.logger);
  installOpenApi(app, version);
  installAccessControl(app, ctx);
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: 256 * 1024 * 1024 }, (request, body, done) => {
    const parsed: MultipartBody = { multipart: body as Buffer, contentType: String(request.headers['content-type'] ?? '') };
    done(null, parsed);
  });
  // One encapsulated plugin per resource, each with its own schemas; a new resource is one
  // more line here.
  await app.register(
    async (api) => {
      await api.register(loginPlugin, { ctx, version });
      await api.register(explainPlugin, { ctx });
      await api.register(authenticationPlugin, { ctx, tag: 'authentication', scopeOf: () => ({ name: 'mqtt:global', path: ['authentication'], label: 'global' }) });
      await api.register(listenersPlugin, { ctx });
      await api.register(gatewaysPlugin, { ctx });
      await api.register(authorizationPlugin, { ctx });
      await api.register(metricsPlugin, { ctx });
      await api.register(bannedRoutes, { banned: ctx.node.protection.banned });
    },
    { prefix: API_BASE },
  );
  if (opts.ownsContext) app.addHook('onClose', async () => ctx.metrics.close());
  await app.ready();
  return app;
}

/** `buildApiApp` over a fresh context; closing the app releases the context's metrics. */
export async function buildApi(node: GatehouseNode, opts: ApiOptions = {}): Promise<FastifyInstance> {
  const ctx = await createApiContext(node, opts);
  return buildApiApp(ctx, { ownsContext: true });
}

/** Starts the API on dashboard.listeners.http (and https when enabled). */
export async function startApi(node: GatehouseNode, opts: ApiOptions = {}): Promise<ApiServer> {
  const baseDir = opts.baseDir ?? process.cwd();
  const ctx = await createApiContext(node, opts);
  const apps: FastifyInstance[] = [];
  const listen = async (app: FastifyInstance, bind: string | number, name: 'http' | 'https'): Promise<BindAddress> => {
    apps.push(app);
    const where = parseBind(bind);
    try {
      await app.listen({ host: where.host, port: where.port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
      throw new ListenerStartError(`dashboard:${name}`, formatBind(where), code, `listener dashboard:${name} cannot bind ${formatBind(where)}: ${why}`);
    }
    const addr = app.server.address();
    return typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : where;
  };
  try {
    const conf = node.config.dashboard.listeners;
    const address = conf.http.enable ? await listen(await buildApiApp(ctx), conf.http.bind, 'http') : undefined;
    let httpsAddress: BindAddress | undefined;
    if (conf.https.enable) {
      const ssl = conf.https.ssl_options;
      if (!ssl.certfile || !ssl.keyfile) throw new Error('dashboard.listeners.https needs ssl_options.certfile and ssl_options.keyfile');
      const tls = { cert: readPemOrPath(ssl.certfile, baseDir), key: readPemOrPath(ssl.keyfile, baseDir) };
      httpsAddress = await listen(await buildApiApp(ctx, { https: tls }), conf.https.bind, 'https');
    }
    for (const [scheme, a] of [['http', address], ['https', httpsAddress]] as const) {
      if (a) node.logger.info({ address: `${scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}${API_BASE}` }, 'management API started');
    }
    return {
      address: address ?? httpsAddress ?? { host: '', port: 0 },
      ...(httpsAddress ? { httpsAddress } : {}),
      async close() {
        await Promise.all(apps.map((a) => a.close()));
        ctx.metrics.close();
      },
    };
  } catch (err) {
    await Promise.all(apps.map((a) => a.close().catch(() => undefined)));
    ctx.metrics.close();
    throw err;
  }
}
