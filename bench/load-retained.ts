import mqttPacket from 'mqtt-packet';
import { serveLoad } from './harness/load-process.js';
import { startCpuWindow } from './harness/cpu.js';
import { percentile } from './harness/stats.js';
import { WireClient, type Endpoint } from './wire/client.js';
import { PacketType } from './wire/framer.js';

/**
 * Load process: `clients` connections each send SUBSCRIBEs one after another (the same
 * pre-encoded packet, QoS 0 filters), each one complete when its SUBACK and its
 * `expected` retained PUBLISHes have arrived. A SUBSCRIBE to a filter already held
 * replaces the subscription and replays the retained messages again [MQTT-3.8.4-3].
 */

export interface RetainedLoadParams {
  endpoint: Endpoint;
  filters: string[];
  /** Retained messages each SUBSCRIBE brings back. */
  expected: number;
  clients: number;
  /** SUBSCRIBEs before the measured window (warms both brokers' code paths). */
  warmup: number;
  subscribes: number;
}

export interface RetainedLoadResult {
  subscribes: number;
  /** Retained PUBLISHes received in the window, and how many the filters should have brought. */
  received: number;
  expectedReceived: number;
  elapsedMs: number;
  ratePerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  cpuPercent: number;
}

serveLoad<RetainedLoadParams, RetainedLoadResult>(async (p, mark) => {
  const packet = mqttPacket.generate(
    { cmd: 'subscribe', messageId: 1, subscriptions: p.filters.map((topic) => ({ topic, qos: 0 as const })) },
    { protocolVersion: 4 },
  );
  const clients: WireClient[] = [];
  for (let i = 0; i < p.clients; i++) clients.push(await WireClient.open(p.endpoint, { clientId: `retained-${i}`, keepalive: 600 }));
  let received = 0;
  /** One SUBSCRIBE on `client`, resolved when its SUBACK and every expected retained message are in. */
  const subscribeOnce = (client: WireClient): Promise<void> =>
    new Promise((resolve) => {
      let acked = false;
      let got = 0;
      client.onFrame = (frame) => {
        if (frame.type === PacketType.suback) acked = true;
        else if (frame.type === PacketType.publish) {
          got++;
          received++;
        }
        if (acked && got >= p.expected) resolve();
      };
      client.write(packet);
    });
  const run = async (total: number, latencies: number[] | null) => {
    let next = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (next < total) {
          next++;
          const t0 = performance.now();
          await subscribeOnce(client);
          latencies?.push(performance.now() - t0);
        }
      }),
    );
  };
  await run(p.warmup, null);
  received = 0;
  const latencies: number[] = [];
  await mark('start');
  const stopCpu = startCpuWindow();
  await run(p.subscribes, latencies);
  const cpu = stopCpu();
  await mark('end');
  for (const c of clients) c.destroy();
  return {
    subscribes: latencies.length,
    received,
    expectedReceived: latencies.length * p.expected,
    elapsedMs: cpu.wallMs,
    ratePerSec: (latencies.length / cpu.wallMs) * 1000,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencyMaxMs: percentile(latencies, 100),
    cpuPercent: cpu.percentOfCore,
  };
});
