import { runLoad } from '../harness/load-process.js';
import type { Workload } from '../harness/scenario.js';
import type { BrokerSample } from '../brokers/types.js';
import type { IdleLoadParams, IdleLoadResult } from '../load-idle.js';

export interface IdleMemoryOptions {
  connections: number;
  quickConnections: number;
  concurrency: number;
  /** Time given to the broker after the last CONNACK before sampling. */
  settleMs: number;
}

/**
 * Resident memory per idle connection: broker RSS after a full GC with
 * `connections` idle clients, minus RSS after a full GC before them, divided.
 */
export function idleMemory(opts: Partial<IdleMemoryOptions> = {}): Workload {
  const o: IdleMemoryOptions = { connections: 5000, quickConnections: 500, concurrency: 50, settleMs: 1000, ...opts };
  const count = (quick: boolean, max: number) => Math.min(quick ? o.quickConnections : o.connections, max);
  return {
    metric: 'memory per idle connection',
    unit: 'KiB/conn',
    better: 'lower',
    describe: (ctx) => `${count(ctx.quick, ctx.maxConnections)} idle connections (keepalive 600 s), RSS after full GC, after − before, divided`,
    async run(broker, ctx) {
      let before: BrokerSample | undefined;
      let after: BrokerSample | undefined;
      const settle = () => new Promise((r) => setTimeout(r, o.settleMs));
      const params: IdleLoadParams = {
        endpoint: broker.endpoint,
        warmup: 100,
        connections: count(ctx.quick, ctx.maxConnections),
        concurrency: o.concurrency,
        keepalive: 600,
      };
      const r = await runLoad<IdleLoadParams, IdleLoadResult>('load-idle.ts', params, async (name) => {
        if (name === 'warm') {
          await settle();
          before = await broker.sample({ gc: true });
        } else if (name === 'opened') {
          await settle();
          after = await broker.sample({ gc: true });
        }
      });
      if (!before || !after) throw new Error('idle-memory: the load generator did not report both marks');
      if (r.failed > 0) ctx.log(`  ${r.failed} of ${params.connections} connects failed (first: ${r.firstError})`);
      const opened = Math.max(1, r.opened);
      return {
        value: (after.rssBytes - before.rssBytes) / opened / 1024,
        loadCpuPercent: r.cpuPercent,
        brokerCpuPercent: NaN,
        details: {
          opened: r.opened,
          failed: r.failed,
          rssBeforeMiB: before.rssBytes / 2 ** 20,
          rssAfterMiB: after.rssBytes / 2 ** 20,
          heapPerConnKiB: (after.heapUsedBytes - before.heapUsedBytes) / opened / 1024,
        },
      };
    },
  };
}
