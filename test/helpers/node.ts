import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import { loadConfigText } from '../../src/config/load.js';
import { configChecks, startGatehouse, type RunningNode as GatehouseNode } from '../../src/main.js';
import type { AuthenticationService } from '../../src/authn/types.js';
import type { AdmissionCheck } from '../../src/access/types.js';
import { connect, connackCodeOf, connectFrom } from './mqtt-connect.js';

export { connect, connectFrom };

/** Log lines a test node wrote, parsed. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly logger: Logger;
  constructor(level = 'info') {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    this.logger = pino({ level, base: undefined }, sink);
  }
  find(msg: string, where: Record<string, unknown> = {}): Record<string, unknown> | undefined {
    return this.lines.find((l) => l['msg'] === msg && Object.entries(where).every(([k, v]) => l[k] === v));
  }
  text(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n');
  }
}

export interface TestNode {
  node: GatehouseNode;
  logs: LogCapture;
  dataDir: string;
  port(listenerId?: string): number;
  url(listenerId?: string): string;
  stop(): Promise<void>;
}

/**
 * Starts a node from HOCON text. Listeners default to 127.0.0.1 port 0 (the OS picks),
 * the data directory is a fresh temp dir.
 */
export async function startTestNode(
  conf = '',
  opts: { dataDir?: string; keepData?: boolean; authn?: AuthenticationService; admissionChecks?: readonly AdmissionCheck[] } = {},
): Promise<TestNode> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const text = [
    `node.data_dir = "${dataDir}"`,
    'listeners.tcp.default.bind = "127.0.0.1:0"',
    'listeners.ws.default.bind = "127.0.0.1:0"',
    'dashboard.listeners.http.bind = "127.0.0.1:0"',
    conf,
  ].join('\n');
  const config = loadConfigText(text, { checks: configChecks() });
  const logs = new LogCapture();
  const node = await startGatehouse(config, {
    logger: logs.logger,
    ...(opts.authn ? { authn: opts.authn } : {}),
    ...(opts.admissionChecks ? { admissionChecks: opts.admissionChecks } : {}),
  });
  const port = (id = 'tcp:default') => node.address(id).port;
  return {
    node,
    logs,
    dataDir,
    port,
    url: (id = 'tcp:default') => {
      const type = id.split(':')[0];
      if (type === 'ws') return `ws://127.0.0.1:${port(id)}/mqtt`;
      if (type === 'wss') return `wss://localhost:${port(id)}/mqtt`;
      if (type === 'ssl') return `mqtts://localhost:${port(id)}`;
      return `mqtt://127.0.0.1:${port(id)}`;
    },
    async stop() {
      await node.stop();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The CONNACK code a refused client got (reasonCode for v5, returnCode for v3). */
export function connackCode(url: string, options: IClientOptions = {}): Promise<number> {
  return connackCodeOf(connect(url, options));
}

/** `connackCode` from a chosen local address (`connectFrom`). */
export function connackCodeFrom(port: number, localAddress: string, options: IClientOptions = {}): Promise<number> {
  return connackCodeOf(connectFrom(port, localAddress, options));
}

export function endClient(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(false, {}, () => resolve()));
}

/** Resolves with the next message on a topic. */
export function nextMessage(client: MqttClient, topic: string, timeoutMs = 5000): Promise<{ payload: Buffer; packet: mqtt.IPublishPacket }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${topic} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (t: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ payload, packet });
    };
    client.on('message', onMessage);
  });
}

export function subscribe(client: MqttClient, topic: string, qos: 0 | 1 | 2 = 0): Promise<mqtt.ISubscriptionGrant[]> {
  return new Promise((resolve, reject) =>
    client.subscribe(topic, { qos }, (err, granted) => (err ? reject(err) : resolve(granted ?? []))),
  );
}

export function publish(client: MqttClient, topic: string, payload: string | Buffer, opts: mqtt.IClientPublishOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, opts, (err) => (err ? reject(err) : resolve())));
}

/** The next packet of a kind the client receives. */
export function nextPacket<T extends Packet['cmd']>(c: MqttClient, cmd: T, timeoutMs = 5000): Promise<Extract<Packet, { cmd: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${cmd} within ${timeoutMs} ms`)), timeoutMs);
    const on = (p: Packet) => {
      if (p.cmd !== cmd) return;
      clearTimeout(timer);
      c.off('packetreceive', on);
      resolve(p as Extract<Packet, { cmd: T }>);
    };
    c.on('packetreceive', on);
  });
}
