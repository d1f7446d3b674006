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
  /**
   * Log in as the seeded users (`user-<i>` / `pass-<i>`, measured clients first, then the
   * warm-up ones): the setup must seed at least `clients + warmup` users when it authenticates.
   */
  credentials: boolean;
  /** Per-client CONNACK timeout. */
  timeoutMs: number;
  /** TLS endpoints: offer an earlier session on each connect (resumed handshakes). */
  resumeTls: boolean;
}

/** How many seeded users a connect-rate workload with these options can use. */
export function usersNeeded(opts: Partial<ConnectRateOptions> = {}): number {
  return (opts.clients ?? 5000) + (opts.warmup ?? 2000);
}

/** Connections per second, CONNECT → CONNACK, `concurrency` in flight, connections kept open until the end. */
export function connectRate(opts: Partial<ConnectRateOptions> = {}): Workload {
  const o: ConnectRateOptions = { clients: 5000, concurrency: 50, quickClients: 300, warmup: 2000, credentials: false, timeoutMs: 10_000, resumeTls: false, ...opts };
  const clients = (quick: boolean, max: number) => Math.min(quick ? o.quickClients : o.clients, max);
  const warmup = (quick: boolean) => (quick ? Math.min(o.warmup, 200) : o.warmup);
  return {
    metric: 'connect rate',
    unit: 'conn/s',
    better: 'higher',
    describe: (ctx) => `${clients(ctx.quick, ctx.maxConnections)} clients, ${o.concurrency} at a time, CONNECT→CONNACK (MQTT 3.1.1, clean${o.credentials ? ', username/password' : ''}), after ${warmup(ctx.quick)} warm-up connects${o.resumeTls ? ', TLS sessions resumed' : ''}`,
    async run(broker, ctx) {
      const cpu = new BrokerCpuWindow(broker);
      const params: ConnectLoadParams = {
        endpoint: o.resumeTls ? { ...broker.endpoint, tlsResume: true } : broker.endpoint,
        clients: clients(ctx.quick, ctx.maxConnections),
        warmup: warmup(ctx.quick),
        concurrency: o.concurrency,
        keepalive: 600,
        clientIdPrefix: 'conn-',
        timeoutMs: o.timeoutMs,
        ...(o.credentials ? { credentials: { firstUser: 0 } } : {}),
      };
      const r = await runLoad<ConnectLoadParams, ConnectLoadResult>('load-connect.ts', params, cpu.onMark);
      const brokerCpu = cpu.percent();
      if (r.failed > 0) ctx.log(`  ${r.failed} of ${params.clients} connects failed (first: ${r.firstError})`);
      return {
        value: r.ratePerSec,
        loadCpuPercent: r.cpuPercent,
        brokerCpuPercent: brokerCpu,
        details: {
          // Broker CPU per connection: comparable even when the load generator, not the broker, sets the pace.
          brokerCpuMsPerConn: ((brokerCpu / 100) * r.elapsedMs) / Math.max(1, r.connected),
          connected: r.connected, tlsResumed: r.tlsResumed, failed: r.failed, elapsedMs: r.elapsedMs, latencyP50Ms: r.latencyP50Ms, latencyP99Ms: r.latencyP99Ms, latencyMaxMs: r.latencyMaxMs },
      };
    },
    summarize: (s) =>
      `CONNACK latency p50 ${s.details['latencyP50Ms']!.toFixed(1)} ms, p99 ${s.details['latencyP99Ms']!.toFixed(1)} ms; ` +
      `broker CPU ${s.details['brokerCpuMsPerConn']!.toFixed(3)} ms/conn; ${s.details['failed']} failed` +
      (s.details['tlsResumed'] ? `; ${s.details['tlsResumed']} TLS sessions resumed` : ''),
  };
}
