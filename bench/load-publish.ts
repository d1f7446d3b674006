import { serveLoad } from './harness/load-process.js';
import { startCpuWindow } from './harness/cpu.js';
import { PacketType, publishPacketId } from './wire/framer.js';
import { PublishTemplate, WireClient, pubacks, type Endpoint } from './wire/client.js';

/**
 * Load process for publish throughput: `pairs` publishers, each with its own
 * subscriber on its own topic. Each pair keeps at most `window` messages in
 * flight end to end (published, not yet received), so the broker always has
 * work queued but no unbounded buffers build up. Counts deliveries to
 * subscribers in the window between marks `start` and `end`.
 */

export interface PublishLoadParams {
  endpoint: Endpoint;
  pairs: number;
  qos: 0 | 1;
  payloadBytes: number;
  warmupMs: number;
  durationMs: number;
  window: number;
}

export interface PublishLoadResult {
  deliveredInWindow: number;
  ratePerSec: number;
  windowMs: number;
  cpuPercent: number;
}

interface Pair {
  pub: WireClient;
  sub: WireClient;
  template: PublishTemplate;
  sent: number;
  received: number;
  nextId: number;
  pendingAcks: number[];
  flushQueued: boolean;
}

serveLoad<PublishLoadParams, PublishLoadResult>(async (p, mark) => {
  const payload = Buffer.alloc(p.payloadBytes, 0x61);
  const pairs: Pair[] = [];
  for (let i = 0; i < p.pairs; i++) {
    const topic = `bench/throughput/${i}`;
    const sub = await WireClient.open(p.endpoint, { clientId: `sub-${i}`, keepalive: 600 });
    await sub.subscribe(topic, p.qos);
    const pub = await WireClient.open(p.endpoint, { clientId: `pub-${i}`, keepalive: 600 });
    pairs.push({ pub, sub, template: new PublishTemplate(topic, payload, p.qos), sent: 0, received: 0, nextId: 1, pendingAcks: [], flushQueued: false });
  }
  let running = true;
  const refill = Math.max(1, Math.floor(p.window / 4));
  const pump = (pair: Pair) => {
    if (!running) return;
    const room = p.window - (pair.sent - pair.received);
    if (room < refill) return;
    pair.pub.write(pair.template.batch(room, pair.nextId));
    pair.nextId = ((pair.nextId - 1 + room) % 65535) + 1;
    pair.sent += room;
  };
  const flush = (pair: Pair) => {
    pair.flushQueued = false;
    if (pair.pendingAcks.length > 0) {
      pair.sub.write(pubacks(pair.pendingAcks));
      pair.pendingAcks = [];
    }
    pump(pair);
  };
  for (const pair of pairs) {
    pair.sub.onFrame = (frame) => {
      if (frame.type !== PacketType.publish) return;
      pair.received++;
      const id = publishPacketId(frame);
      if (id !== undefined) pair.pendingAcks.push(id);
      if (!pair.flushQueued) {
        pair.flushQueued = true;
        queueMicrotask(() => flush(pair));
      }
    };
    // PUBACKs from the broker to publishers need no answer.
    pair.pub.onFrame = () => undefined;
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
