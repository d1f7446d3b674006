import { serveLoad } from './harness/load-process.js';
import { startCpuWindow } from './harness/cpu.js';
import { PacketType, publishPacketId } from './wire/framer.js';
import { PublishTemplate, WireClient, pubacks, type Endpoint } from './wire/client.js';
import { SendTemplate, StompClient } from './wire/stomp.js';

/**
 * Load process for publish throughput: `pairs` publishers, each with its own
 * subscriber on its own topic. Each pair keeps at most `window` messages in
 * flight end to end (published, not yet received), so the broker always has
 * work queued but no unbounded buffers build up. Counts deliveries to
 * subscribers in the window between marks `start` and `end`. Either side of a
 * pair speaks MQTT or STOMP (STOMP always travels at QoS 0).
 */

export type Protocol = 'mqtt' | 'stomp';

export interface PublishLoadParams {
  endpoint: Endpoint;
  /** Needed when either side speaks STOMP. */
  stompEndpoint?: Endpoint;
  publisher: Protocol;
  subscriber: Protocol;
  pairs: number;
  qos: 0 | 1;
  payloadBytes: number;
  warmupMs: number;
  durationMs: number;
  window: number;
  /** MQTT clients log in as `user-<i>` (pair i, both ends), for rules templated on `${username}`. */
  usernames?: boolean;
}

export interface PublishLoadResult {
  deliveredInWindow: number;
  ratePerSec: number;
  windowMs: number;
  cpuPercent: number;
}

/** The sending end of a pair: writes `count` messages in one go. */
interface Publisher {
  publish(count: number): void;
  destroy(): void;
}

/** The receiving end of a pair: calls `onDelivered` once per message, acknowledges what its protocol needs. */
interface Subscriber {
  destroy(): void;
}

function stompEndpoint(p: PublishLoadParams): Endpoint {
  if (!p.stompEndpoint) throw new Error('this broker runs no STOMP listener');
  return p.stompEndpoint;
}

async function openPublisher(p: PublishLoadParams, i: number, topic: string, payload: Buffer): Promise<Publisher> {
  if (p.publisher === 'stomp') {
    const c = await StompClient.open(stompEndpoint(p));
    const template = new SendTemplate(topic, payload);
    return { publish: (count) => c.write(template.batch(count)), destroy: () => c.destroy() };
  }
  const c = await WireClient.open(p.endpoint, { clientId: `pub-${i}`, keepalive: 600, ...(p.usernames ? { username: `user-${i}` } : {}) });
  const template = new PublishTemplate(topic, payload, p.qos);
  let nextId = 1;
  c.onFrame = () => undefined; // PUBACKs from the broker need no answer
  return {
    publish(count) {
      c.write(template.batch(count, nextId));
      nextId = ((nextId - 1 + count) % 65535) + 1;
    },
    destroy: () => c.destroy(),
  };
}

async function openSubscriber(p: PublishLoadParams, i: number, topic: string, onDelivered: () => void): Promise<Subscriber> {
  if (p.subscriber === 'stomp') {
    const c = await StompClient.open(stompEndpoint(p));
    await c.subscribe(topic, '0');
    c.onFrame = (frame) => {
      if (frame.command === 'MESSAGE') onDelivered();
    };
    return { destroy: () => c.destroy() };
  }
  const c = await WireClient.open(p.endpoint, { clientId: `sub-${i}`, keepalive: 600, ...(p.usernames ? { username: `user-${i}` } : {}) });
  await c.subscribe(topic, p.qos);
  let pendingAcks: number[] = [];
  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    c.write(pubacks(pendingAcks));
    pendingAcks = [];
  };
  c.onFrame = (frame) => {
    if (frame.type !== PacketType.publish) return;
    const id = publishPacketId(frame);
    if (id !== undefined) {
      pendingAcks.push(id);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    }
    onDelivered();
  };
  return { destroy: () => c.destroy() };
}

interface Pair {
  pub: Publisher;
  sub: Subscriber;
  sent: number;
  received: number;
  pumpQueued: boolean;
}

serveLoad<PublishLoadParams, PublishLoadResult>(async (p, mark) => {
  const payload = Buffer.alloc(p.payloadBytes, 0x61);
  const pairs: Pair[] = [];
  let running = true;
  const refill = Math.max(1, Math.floor(p.window / 4));
  const pump = (pair: Pair) => {
    pair.pumpQueued = false;
    if (!running) return;
    const room = p.window - (pair.sent - pair.received);
    if (room < refill) return;
    pair.pub.publish(room);
    pair.sent += room;
  };
  for (let i = 0; i < p.pairs; i++) {
    const topic = `bench/throughput/${i}`;
    const pair = { sent: 0, received: 0, pumpQueued: false } as Pair;
    pair.sub = await openSubscriber(p, i, topic, () => {
      pair.received++;
      if (!pair.pumpQueued) {
        pair.pumpQueued = true;
        queueMicrotask(() => pump(pair));
      }
    });
    pair.pub = await openPublisher(p, i, topic, payload);
    pairs.push(pair);
  }
  const total = () => pairs.reduce((n, pair) => n + pair.received, 0);
  for (const pair of pairs) pump(pair);
  await new Promise((r) => setTimeout(r, p.warmupMs));
  const before = total();
  const stopCpu = startCpuWindow();
  await mark('start');
  await new Promise((r) => setTimeout(r, p.durationMs));
  const cpu = stopCpu();
  const delivered = total() - before;
  await mark('end');
  running = false;
  for (const pair of pairs) {
    pair.pub.destroy();
    pair.sub.destroy();
  }
  return { deliveredInWindow: delivered, ratePerSec: (delivered / cpu.wallMs) * 1000, windowMs: cpu.wallMs, cpuPercent: cpu.percentOfCore };
});
