import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { generateDevCertificates } from '../../certs/generate.js';
import { loadConfigText } from '../../src/config/load.js';
import { LISTENER_TYPES } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logging/index.js';
import { configChecks, startGatehouse, type RunningNode as GatehouseNode } from '../../src/main.js';
import type { Endpoint } from '../wire/client.js';
import { seedUsers } from './seed.js';
import { persistenceOf, seedRetained } from './retained-seed.js';
import { seedBanned } from './banned-seed.js';
import { benchDir } from '../harness/entry.js';
import type { BrokerKind, BrokerSetup, RunningBroker } from './types.js';

/** Hashed-users files survive between broker children (see seed.ts); bench/results/ is git-ignored. */
const SEED_CACHE = fileURLToPath(new URL('./results/seed-cache/', benchDir));

export class SetupError extends Error {
  constructor(label: string, reason: string) {
    super(`setup ${label}: ${reason}`);
    this.name = 'SetupError';
  }
}

/** How a client reaches MQTT listener `id` (`type:name`): TLS for ssl, a PROXY header when the listener expects one. */
function mqttEndpoint(node: GatehouseNode, id: string, label: string): Endpoint {
  const [type, name] = id.split(':');
  if (!type || !name || !(LISTENER_TYPES as readonly string[]).includes(type)) throw new SetupError(label, `listener ${id} is not an MQTT listener id (type:name)`);
  if (type === 'ws' || type === 'wss') throw new SetupError(label, `listener ${id}: WebSocket listeners are not supported by the load generators`);
  const block = (node.config.listeners as Record<string, Record<string, { proxy_protocol?: boolean }>>)[type]?.[name];
  const addr = node.address(id);
  return {
    host: '127.0.0.1',
    port: addr.port,
    ...(type === 'ssl' ? { tls: true } : {}),
    ...(block?.proxy_protocol ? { proxyProtocol: 2 as const } : {}),
  };
}

/** How the broker child starts each kind of setup. A new kind adds one entry here. */
export const starters: { [K in BrokerKind]: (setup: Extract<BrokerSetup, { kind: K }>) => Promise<RunningBroker> } = {
  async gatehouse(setup) {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
    if (setup.devCertificates) await generateDevCertificates(join(dataDir, 'certs'));
    const text = [
      `node.data_dir = "${dataDir}"`,
      'log.console.enable = false',
      'log.console.level = none',
      'listeners.tcp.default.bind = "127.0.0.1:0"',
      'listeners.ws.default.enable = false',
      // The management API runs as by default, on a port of its own.
      'dashboard.listeners.http.bind = "127.0.0.1:0"',
      setup.hocon,
    ].join('\n');
    const node = await startGatehouse(loadConfigText(text, { checks: configChecks() }), { logger: silentLogger(), baseDir: dataDir });
    const close = async () => {
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
    try {
      if (setup.seed) await seedUsers(node, setup.seed, SEED_CACHE);
      if (setup.retained) await seedRetained(persistenceOf(node.broker.aedes), setup.retained, node.broker.aedes.id);
      if (setup.banned && seedBanned(node.protection.banned, setup.banned) < setup.banned.entries) throw new Error('banned seed: entries missing');
      const stomp = node.config.gateway.stomp?.enable ? node.address('stomp:tcp:default') : undefined;
      return {
        endpoints: {
          mqtt: mqttEndpoint(node, setup.listener ?? 'tcp:default', setup.label),
          ...(stomp ? { stomp: { host: '127.0.0.1', port: stomp.port } } : {}),
        },
        close,
      };
    } catch (err) {
      await close().catch(() => undefined);
      throw err;
    }
  },

  async aedes(setup) {
    const aedes = await Aedes.createBroker();
    if (setup.retained) await seedRetained(persistenceOf(aedes), setup.retained, aedes.id);
    let server: net.Server;
    let certDir: string | undefined;
    if (setup.transport === 'tls') {
      certDir = mkdtempSync(join(tmpdir(), 'aedes-bench-certs-'));
      const paths = await generateDevCertificates(certDir);
      // The same P-256 server key, certificate and CA file Gatehouse gets (`certfile`, `keyfile`,
      // `cacertfile`), so both send the same chain; Node's TLS defaults on both sides otherwise.
      server = tls.createServer(
        { key: readFileSync(paths.serverKey), cert: readFileSync(paths.serverCert), ca: readFileSync(paths.caCert), noDelay: true },
        aedes.handle,
      );
    } else {
      // Same socket option as Gatehouse's default (tcp_options.nodelay = true, as in EMQX): the
      // comparison measures what Gatehouse adds, not a different TCP setting.
      server = net.createServer({ noDelay: true }, aedes.handle);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    return {
      endpoints: { mqtt: { host: '127.0.0.1', port, ...(setup.transport === 'tls' ? { tls: true } : {}) } },
      close: () =>
        new Promise<void>((resolve) => {
          server.close();
          aedes.close(() => {
            if (certDir) rmSync(certDir, { recursive: true, force: true });
            resolve();
          });
        }),
    };
  },
};

export function startSetup(setup: BrokerSetup): Promise<RunningBroker> {
  switch (setup.kind) {
    case 'gatehouse':
      return starters.gatehouse(setup);
    case 'aedes':
      return starters.aedes(setup);
  }
}
