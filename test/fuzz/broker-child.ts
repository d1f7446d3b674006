// The broker under fuzz, in its own process: a crash (an exception aedes does not catch)
// ends this process, not the test, and the harness reports and replays the inputs.
// Run by target.ts as `node --expose-gc --import tsx test/fuzz/broker-child.ts`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfigText } from '../../src/config/load.js';
import { nodeConfigChecks as configChecks, startGatehouse } from '../../src/main.js';
import type { ChildReply, ChildRequest } from './target.js';

const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-fuzz-'));
const conf = [
  `node.data_dir = "${dataDir}"`,
  'mqtt.idle_timeout = 2s',
  'listeners.tcp.default.bind = "127.0.0.1:0"',
  'listeners.tcp.proxied { bind = "127.0.0.1:0", proxy_protocol = true, proxy_protocol_timeout = 1s }',
  'listeners.ws.default.bind = "127.0.0.1:0"',
  'dashboard.listeners.http.bind = "127.0.0.1:0"',
  'gateway.stomp {',
  '  idle_timeout = 2s',
  '  listeners.tcp.default.bind = "127.0.0.1:0"',
  '  listeners.tcp.proxied { bind = "127.0.0.1:0", proxy_protocol = true, proxy_protocol_timeout = 1s }',
  '}',
].join('\n');

// Logs are counted by message, not kept: a log that grew with every refused input would
// read as a leak. Warnings and errors keep their last few lines for the report.
const counts = new Map<string, number>();
const recent: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line) as { msg?: string; level?: number };
      const key = `${entry.level ?? '?'}:${entry.msg ?? ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if ((entry.level ?? 0) >= 50) {
        recent.push(line.slice(0, 600));
        if (recent.length > 10) recent.shift();
      }
    }
    cb();
  },
});

const node = await startGatehouse(loadConfigText(conf, { checks: configChecks() }), { logger: pino({ level: 'info', base: undefined }, sink) });
const send = (reply: ChildReply): void => {
  process.send?.(reply);
};

/** aedes's map of connected clients (the `connectedClients` counter is reported next to it: the two can drift). */
const clients = (): Record<string, unknown> => (node.broker.aedes as unknown as { clients: Record<string, unknown> }).clients;
const gc = (globalThis as { gc?: () => void }).gc;

async function settledHeap(): Promise<number> {
  // Several collections with turns in between: finalizers and weak callbacks run, then the heap is read.
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage().heapUsed;
}

process.on('message', (msg: ChildRequest) => {
  if (msg.type === 'memory') {
    void settledHeap().then((heapUsed) =>
      send({
        type: 'memory',
        heapUsed,
        rss: process.memoryUsage().rss,
        gc: gc !== undefined,
        clients: Object.keys(clients()).length,
        connectedCounter: node.broker.connectedClients,
        clientIds: Object.keys(clients()).slice(0, 20),
      }),
    );
  } else if (msg.type === 'logs') {
    send({ type: 'logs', counts: Object.fromEntries(counts), errors: [...recent] });
  } else if (msg.type === 'stop') {
    void node.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
process.on('disconnect', () => process.exit(0));

send({
  type: 'ready',
  dataDir,
  ports: {
    mqtt: node.address('tcp:default').port,
    mqttProxied: node.address('tcp:proxied').port,
    stomp: node.address('stomp:tcp:default').port,
    stompProxied: node.address('stomp:tcp:proxied').port,
  },
});
