import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../src/config/load.js';
import { configChecks, startGatehouse, type RunningNode } from '../../src/main.js';
import type { AuthenticatorRegistry } from '../../src/authn/registry.js';
import { LogCapture } from '../helpers/node.js';

export const ADMIN_KEY = 'ops';
export const ADMIN_SECRET = 'ops-secret-Zq81';
export const VIEWER_KEY = 'watcher';
export const VIEWER_SECRET = 'watcher-secret-Pv20';

export const adminAuth = 'Basic ' + Buffer.from(`${ADMIN_KEY}:${ADMIN_SECRET}`).toString('base64');
export const viewerAuth = 'Basic ' + Buffer.from(`${VIEWER_KEY}:${VIEWER_SECRET}`).toString('base64');

export interface ApiNode {
  node: RunningNode;
  logs: LogCapture;
  dataDir: string;
  conf: string;
  /** `http://127.0.0.1:PORT/api/v5` */
  base: string;
  port(listenerId?: string): number;
  /** fetch with the administrator API key; JSON body when given. */
  call(method: string, path: string, body?: unknown, auth?: string): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  stop(): Promise<void>;
}

/**
 * A node with the management API on 127.0.0.1:0, API keys for an administrator and a viewer,
 * loading `cluster.hocon` from its data dir like `gatehouse start` does. Pass the same
 * dataDir again to restart from the same state.
 */
export async function startApiNode(conf = '', opts: { dataDir?: string; authenticators?: AuthenticatorRegistry } = {}): Promise<ApiNode> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-api-'));
  const keys = join(dataDir, 'api_keys.txt');
  writeFileSync(keys, `# test keys\n${ADMIN_KEY}:${ADMIN_SECRET}:administrator\n${VIEWER_KEY}:${VIEWER_SECRET}:viewer\n`);
  const text = [
    `node.data_dir = "${dataDir}"`,
    'listeners.tcp.default.bind = "127.0.0.1:0"',
    'listeners.ws.default.bind = "127.0.0.1:0"',
    'dashboard.listeners.http.bind = "127.0.0.1:0"',
    `api_key.bootstrap_file = "${keys}"`,
    conf,
  ].join('\n');
  const config = loadConfigText(text, { checks: configChecks(opts.authenticators), overridesFrom: dataDir });
  const logs = new LogCapture();
  const node = await startGatehouse(config, { logger: logs.logger, baseDir: dataDir, ...(opts.authenticators ? { authenticators: opts.authenticators } : {}) });
  const base = `http://127.0.0.1:${node.api!.address.port}/api/v5`;
  return {
    node,
    logs,
    dataDir,
    conf,
    base,
    port: (id = 'tcp:default') => node.address(id).port,
    async call(method, path, body, auth = adminAuth) {
      const headers: Record<string, string> = {};
      if (auth) headers['authorization'] = auth;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async stop() {
      await node.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const BUILT_IN = 'password_based:built_in_database';
export const BUILT_IN_PATH = encodeURIComponent(BUILT_IN);
