import { serveLoad } from './harness/load-process.js';
import { startCpuWindow } from './harness/cpu.js';
import { WireClient, type Endpoint } from './wire/client.js';

/**
 * Load process for memory per idle connection: warms the broker's connect path
 * with a few short-lived clients (mark `warm`), opens `connections` clients and
 * leaves them idle (mark `opened`: the runner samples broker RSS), then closes them.
 */

export interface IdleLoadParams {
  endpoint: Endpoint;
  warmup: number;
  connections: number;
  concurrency: number;
  keepalive: number;
}

export interface IdleLoadResult {
  opened: number;
  failed: number;
  firstError: string | null;
  openMs: number;
  cpuPercent: number;
}

async function openMany(p: IdleLoadParams, count: number, prefix: string, into: WireClient[]): Promise<{ failed: number; firstError: string | null }> {
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      try {
        into.push(await WireClient.open(p.endpoint, { clientId: `${prefix}${n}`, keepalive: p.keepalive }));
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(p.concurrency, count) }, worker));
  return { failed, firstError };
}

serveLoad<IdleLoadParams, IdleLoadResult>(async (p, mark) => {
  const warm: WireClient[] = [];
  await openMany(p, p.warmup, 'warm-', warm);
  for (const c of warm) c.end();
  await new Promise((r) => setTimeout(r, 200));
  await mark('warm');
  const idle: WireClient[] = [];
  const stopCpu = startCpuWindow();
  const { failed, firstError } = await openMany(p, p.connections, 'idle-', idle);
  const cpu = stopCpu();
  await mark('opened');
  for (const c of idle) c.destroy();
  return { opened: idle.length, failed, firstError, openMs: cpu.wallMs, cpuPercent: cpu.percentOfCore };
});
