import { serveLoad } from './harness/load-process.js';
import { startCpuWindow } from './harness/cpu.js';
import { percentile } from './harness/stats.js';
import { WireClient, type Endpoint } from './wire/client.js';

/** Load process: opens `clients` connections, `concurrency` at a time, timing CONNECT → CONNACK. */

export interface ConnectLoadParams {
  endpoint: Endpoint;
  clients: number;
  /** Short-lived clients first, outside the window, so both brokers are measured with warm code paths. */
  warmup: number;
  concurrency: number;
  keepalive: number;
  clientIdPrefix: string;
}

export interface ConnectLoadResult {
  connected: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  ratePerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  cpuPercent: number;
}

serveLoad<ConnectLoadParams, ConnectLoadResult>(async (p, mark) => {
  const open: WireClient[] = [];
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const warm: WireClient[] = [];
  let warmNext = 0;
  const warmWorker = async () => {
    while (warmNext < p.warmup) {
      const n = warmNext++;
      warm.push(await WireClient.open(p.endpoint, { clientId: `warm-${n}`, keepalive: p.keepalive }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.concurrency, p.warmup) }, warmWorker));
  for (const c of warm) c.end();
  await new Promise((r) => setTimeout(r, 200));
  const worker = async () => {
    while (next < p.clients) {
      const n = next++;
      const t0 = performance.now();
      try {
        open.push(await WireClient.open(p.endpoint, { clientId: `${p.clientIdPrefix}${n}`, keepalive: p.keepalive }));
        latencies.push(performance.now() - t0);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await mark('start');
  const stopCpu = startCpuWindow();
  await Promise.all(Array.from({ length: Math.min(p.concurrency, p.clients) }, worker));
  const cpu = stopCpu();
  await mark('end');
  for (const c of open) c.destroy();
  return {
    connected: open.length,
    failed,
    firstError,
    elapsedMs: cpu.wallMs,
    ratePerSec: (open.length / cpu.wallMs) * 1000,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    cpuPercent: cpu.percentOfCore,
  };
});
