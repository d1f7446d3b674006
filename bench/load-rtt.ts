import { serveLoad } from './harness/load-process.js';
import { startCpuWindow } from './harness/cpu.js';
import { userName, userPassword } from './wire/credentials.js';
import { PacketType } from './wire/framer.js';
import { PublishTemplate, WireClient, pubacks, type Endpoint } from './wire/client.js';

/**
 * Load process for publish round-trip latency: `clients` connected clients, each
 * subscribed to its own topic and publishing to it at a steady `ratePerClient`,
 * timing each echo. Once all are connected and publishing it marks `ready`; the
 * parent runs its windows (a quiet period, a login storm…) before answering, and
 * the child then stops and returns every round trip with its wall-clock send time
 * so the parent can split them by window.
 */

export interface RttLoadParams {
  endpoint: Endpoint;
  clients: number;
  /** Log in as the seeded users firstUser … firstUser + clients − 1 (none when absent). */
  credentials?: { firstUser: number };
  connectConcurrency: number;
  connectTimeoutMs: number;
  qos: 0 | 1;
  ratePerClient: number;
  /** Publishing before `ready`, so every client has a few round trips behind it. */
  warmupMs: number;
  /** After the parent answers `ready`: time left for the last echoes to come back. */
  drainMs: number;
}

export interface RttLoadResult {
  /** Wall-clock send time (performance.timeOrigin-based, ms) of each echoed message, paired with `rttMs`. */
  sentAtMs: number[];
  rttMs: number[];
  sent: number;
  received: number;
  cpuPercent: number;
}

const PAYLOAD = 8; // a float64: performance.now() at send

serveLoad<RttLoadParams, RttLoadResult>(async (p, mark) => {
  const clients: WireClient[] = [];
  let next = 0;
  const connectWorker = async () => {
    while (next < p.clients) {
      const i = next++;
      const user = p.credentials ? p.credentials.firstUser + i : undefined;
      const c = await WireClient.open(p.endpoint, {
        clientId: `rtt-${i}`,
        keepalive: 600,
        timeoutMs: p.connectTimeoutMs,
        ...(user !== undefined ? { username: userName(user), password: userPassword(user) } : {}),
      });
      await c.subscribe(`bench/rtt/${i}`, p.qos);
      clients[i] = c;
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.connectConcurrency, p.clients) }, connectWorker));

  const sentAtMs: number[] = [];
  const rttMs: number[] = [];
  let sent = 0;
  let received = 0;
  let recording = false;
  const payloadOffset = (topicLength: number, qos: number) => 2 + topicLength + (qos > 0 ? 2 : 0);
  const timers: NodeJS.Timeout[] = [];
  clients.forEach((c, i) => {
    const template = new PublishTemplate(`bench/rtt/${i}`, Buffer.alloc(PAYLOAD), p.qos);
    let id = 1;
    c.onFrame = (frame) => {
      if (frame.type !== PacketType.publish) return; // PUBACKs for our own publishes
      const now = performance.now();
      const qos = (frame.flags >> 1) & 0x03;
      const topicLength = frame.body.readUInt16BE(0);
      if (qos > 0) c.write(pubacks([frame.body.readUInt16BE(2 + topicLength)]));
      const at = frame.body.readDoubleBE(payloadOffset(topicLength, qos));
      received++;
      if (!recording) return;
      sentAtMs.push(performance.timeOrigin + at);
      rttMs.push(now - at);
    };
    const publish = () => {
      const bytes = template.batch(1, id);
      id = id === 65535 ? 1 : id + 1;
      bytes.writeDoubleBE(performance.now(), bytes.length - PAYLOAD);
      c.write(bytes);
      sent++;
    };
    const period = 1000 / p.ratePerClient;
    // Spread the clients' phases over one period so the broker sees a steady stream, not bursts.
    timers.push(
      setTimeout(() => {
        publish();
        timers.push(setInterval(publish, period));
      }, (period * i) / p.clients),
    );
  });

  await new Promise((r) => setTimeout(r, p.warmupMs));
  recording = true;
  const stopCpu = startCpuWindow();
  await mark('ready');
  const cpu = stopCpu();
  for (const t of timers) clearTimeout(t);
  await new Promise((r) => setTimeout(r, p.drainMs));
  recording = false;
  for (const c of clients) c.destroy();
  return { sentAtMs, rttMs, sent, received, cpuPercent: cpu.percentOfCore };
});
