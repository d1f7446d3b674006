import { runLoad } from '../harness/load-process.js';
import type { Workload } from '../harness/scenario.js';
import type { ConnectLoadParams, ConnectLoadResult } from '../load-connect.js';
import { BrokerCpuWindow } from './broker-cpu.js';

export interface ConnectRateOptions {
  clients: number;
  concurrency: number;
  quickClients: number;
  /** Connect-and-disconnect clients before the measured batch. */
  warmup: number;
}

/** Connections per second, CONNECT → CONNACK, `concurrency` in flight, connections kept open until the end. */
export function connectRate(opts: Partial<ConnectRateOptions> = {}): Workload {
  const o: ConnectRateOptions = { clients: 2000, concurrency: 50, quickClients: 300, warmup: 200, ...opts };
  const clients = (quick: boolean, max: number) => Math.min(quick ? o.quickClients : o.clients, max);
  return {
    metric: 'connect rate',
    unit: 'conn/s',
    better: 'higher',
    describe: (ctx) => `${clients(ctx.quick, ctx.maxConnections)} clients, ${o.concurrency} at a time, CONNECT→CONNACK (MQTT 3.1.1, clean), after ${o.warmup} warm-up connects`,
    async run(broker, ctx) {
      const cpu = new BrokerCpuWindow(broker);
      const params: ConnectLoadParams = {
        endpoint: broker.endpoint,
        clients: clients(ctx.quick, ctx.maxConnections),
        warmup: o.warmup,
        concurrency: o.concurrency,
        keepalive: 600,
        clientIdPrefix: 'conn-',
      };
      const r = await runLoad<ConnectLoadParams, ConnectLoadResult>('load-connect.ts', params, cpu.onMark);
      if (r.failed > 0) ctx.log(`  ${r.failed} of ${params.clients} connects failed (first: ${r.firstError})`);
      return {
        value: r.ratePerSec,
        loadCpuPercent: r.cpuPercent,
        brokerCpuPercent: cpu.percent(),
        details: { connected: r.connected, failed: r.failed, elapsedMs: r.elapsedMs, latencyP50Ms: r.latencyP50Ms, latencyP99Ms: r.latencyP99Ms },
      };
    },
  };
}
