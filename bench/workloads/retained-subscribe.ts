import { runLoad } from '../harness/load-process.js';
import type { Sample, Workload } from '../harness/scenario.js';
import { RETAINED_FILTERS } from '../brokers/retained-seed.js';
import type { RetainedLoadParams, RetainedLoadResult } from '../load-retained.js';
import { BrokerCpuWindow } from './broker-cpu.js';

export interface RetainedSubscribeOptions {
  /** `literal`: one SUBSCRIBE of ten literal filters; `wildcard`: one SUBSCRIBE of `site-0/dev-0/+`. Both bring back 10 messages. */
  filters: keyof typeof RETAINED_FILTERS;
  subscribes: number;
  warmup: number;
  clients: number;
}

/**
 * Broker CPU per SUBSCRIBE (µs, user + system, over the measured window) for SUBSCRIBEs that
 * each bring back the same ten retained messages of `site-0/dev-0`; what the store holds
 * besides those is the setup's business (`retained` seed).
 */
export function retainedSubscribe(opts: Pick<RetainedSubscribeOptions, 'filters'> & Partial<RetainedSubscribeOptions>): Workload {
  const o: RetainedSubscribeOptions = { subscribes: 5000, warmup: 2000, clients: 10, ...opts };
  const filters = [...RETAINED_FILTERS[o.filters]];
  const sizes = (quick: boolean) => ({
    subscribes: quick ? Math.max(1, Math.ceil(o.subscribes / 10)) : o.subscribes,
    warmup: quick ? Math.ceil(o.warmup / 10) : o.warmup,
  });
  return {
    metric: 'broker CPU per SUBSCRIBE',
    unit: 'µs/SUBSCRIBE',
    better: 'lower',
    describe: (ctx) => {
      const s = sizes(ctx.quick);
      const what = o.filters === 'literal' ? `${filters.length} literal filters` : `filter ${filters[0]}`;
      return `${s.subscribes} SUBSCRIBEs (${what}, 10 retained messages back each) from ${Math.min(o.clients, s.subscribes)} clients one at a time each, after ${s.warmup} warm-up SUBSCRIBEs`;
    },
    async run(broker, ctx) {
      const cpu = new BrokerCpuWindow(broker);
      const s = sizes(ctx.quick);
      const params: RetainedLoadParams = {
        endpoint: broker.endpoint,
        filters,
        expected: 10,
        clients: Math.min(o.clients, s.subscribes),
        ...s,
      };
      const r = await runLoad<RetainedLoadParams, RetainedLoadResult>('load-retained.ts', params, cpu.onMark);
      return sample(r, cpu.micros(), cpu.percent());
    },
    summarize: (s) =>
      `SUBSCRIBE → last retained message p50 ${s.details['latencyP50Ms']!.toFixed(2)} ms, p99 ${s.details['latencyP99Ms']!.toFixed(2)} ms, ` +
      `max ${s.details['latencyMaxMs']!.toFixed(2)} ms; ${Math.round(s.details['subscribesPerSec']!)} SUBSCRIBE/s; ` +
      `${s.details['received']} of ${s.details['expectedReceived']} retained messages`,
  };
}

function sample(r: RetainedLoadResult, brokerCpuMicros: number, brokerCpuPercent: number): Sample {
  return {
    value: brokerCpuMicros / Math.max(1, r.subscribes),
    loadCpuPercent: r.cpuPercent,
    brokerCpuPercent,
    details: {
      subscribes: r.subscribes,
      received: r.received,
      expectedReceived: r.expectedReceived,
      elapsedMs: r.elapsedMs,
      subscribesPerSec: r.ratePerSec,
      latencyP50Ms: r.latencyP50Ms,
      latencyP99Ms: r.latencyP99Ms,
      latencyMaxMs: r.latencyMaxMs,
    },
  };
}
