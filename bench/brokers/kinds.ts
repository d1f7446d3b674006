import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { loadConfigText } from '../../src/config/load.js';
import { configChecks } from '../../src/checks.js';
import { silentLogger } from '../../src/logging/index.js';
import { startGatehouse } from '../../src/main.js';
import type { BrokerKind, BrokerSetup, RunningBroker } from './types.js';

/** How the broker child starts each kind of setup. A new kind adds one entry here. */
export const starters: { [K in BrokerKind]: (setup: Extract<BrokerSetup, { kind: K }>) => Promise<RunningBroker> } = {
  async gatehouse(setup) {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
    const text = [
      `node.data_dir = "${dataDir}"`,
      'log.console.enable = false',
      'log.console.level = none',
      'listeners.tcp.default.bind = "127.0.0.1:0"',
      'listeners.ws.default.enable = false',
      setup.hocon,
    ].join('\n');
    const node = await startGatehouse(loadConfigText(text, { checks: configChecks() }), { logger: silentLogger(), baseDir: dataDir });
    const addr = node.address('tcp:default');
    return {
      endpoint: { host: '127.0.0.1', port: addr.port },
      async close() {
        await node.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },

  async aedes() {
    const aedes = await Aedes.createBroker();
    // Same socket option as Gatehouse's default (tcp_options.nodelay = true, as in EMQX): the
    // comparison measures what Gatehouse adds, not a different TCP setting.
    const server = net.createServer({ noDelay: true }, aedes.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    return {
      endpoint: { host: '127.0.0.1', port },
      close: () =>
        new Promise<void>((resolve) => {
          server.close();
          aedes.close(() => resolve());
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
