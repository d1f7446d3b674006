import { serveLoad } from './harness/load-process.js';
import { startCpuWindow } from './harness/cpu.js';
import { percentile } from './harness/stats.js';
import { userName, userPassword } from './wire/credentials.js';
import { WireClient, type ConnectOptions, type Endpoint } from './wire/client.js';
import { tlsResumption } from './wire/transport.js';

/** Load process: opens `clients` connections, `concurrency` at a time, timing CONNECT → CONNACK. */

export interface ConnectLoadParams {
  endpoint: Endpoint;
  clients: number;
  /** Short-lived clients first, outside the window, so both brokers are measured with warm code paths. */
  warmup: number;
  concurrency: number;
  keepalive: number;
  clientIdPrefix: string;
  /**
   * Send `user-<i>` / `pass-<i>` (the broker child's seeded users): measured client n is user
   * firstUser + n, warm-up client n is user firstUser + clients + n. No username without it.
   */
  credentials?: { firstUser: number; /** Send `wrong-<i>` instead of the user's password (a failed-login storm). */ wrongPassword?: boolean };
  /** Per-client CONNACK timeout (default 10 s); login storms against bcrypt need more. */
  timeoutMs?: number;
}

export interface ConnectLoadResult {
  connected: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  /** Wall clock (performance.timeOrigin + now, ms) of the first CONNECT and of the last CONNACK of the measured batch. */
  startedAtMs: number;
  endedAtMs: number;
  ratePerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  cpuPercent: number;
  /** Measured connections whose TLS handshake resumed a session (`endpoint.tlsResume`). */
  tlsResumed: number;
}

serveLoad<ConnectLoadParams, ConnectLoadResult>(async (p, mark) => {
  const options = (clientId: string, user: number): ConnectOptions => ({
    clientId,
    keepalive: p.keepalive,
    ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
    ...(p.credentials ? { username: userName(p.credentials.firstUser + user), password: p.credentials.wrongPassword ? `wrong-${user}` : userPassword(p.credentials.firstUser + user) } : {}),
  });
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
      warm.push(await WireClient.open(p.endpoint, options(`warm-${n}`, p.clients + n)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.concurrency, p.warmup) }, warmWorker));
  for (const c of warm) c.end();
  if (p.warmup > 0) await new Promise((r) => setTimeout(r, 200));
  const worker = async () => {
    while (next < p.clients) {
      const n = next++;
      const t0 = performance.now();
      try {
        open.push(await WireClient.open(p.endpoint, options(`${p.clientIdPrefix}${n}`, n)));
        latencies.push(performance.now() - t0);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await mark('start');
  const resumedBefore = tlsResumption.resumed;
  const stopCpu = startCpuWindow();
  const startedAtMs = performance.timeOrigin + performance.now();
  await Promise.all(Array.from({ length: Math.min(p.concurrency, p.clients) }, worker));
  const cpu = stopCpu();
  const endedAtMs = performance.timeOrigin + performance.now();
  await mark('end');
  for (const c of open) c.destroy();
  return {
    connected: open.length,
    failed,
    firstError,
    elapsedMs: cpu.wallMs,
    startedAtMs,
    endedAtMs,
    ratePerSec: (open.length / cpu.wallMs) * 1000,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencyMaxMs: percentile(latencies, 100),
    cpuPercent: cpu.percentOfCore,
    tlsResumed: tlsResumption.resumed - resumedBefore,
  };
});
