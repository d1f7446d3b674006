import { runLoad } from '../harness/load-process.js';
import type { Workload } from '../harness/scenario.js';
import { percentile } from '../harness/stats.js';
import type { ConnectLoadParams, ConnectLoadResult } from '../load-connect.js';
import type { RttLoadParams, RttLoadResult } from '../load-rtt.js';
import { BrokerCpuWindow } from './broker-cpu.js';
import { WireClient } from '../wire/client.js';
import { userName, userPassword } from '../wire/credentials.js';

export interface LoginStormOptions {
  /** Connected clients timing their publish round trips (seeded users 0 … steadyClients − 1). */
  steadyClients: number;
  ratePerClient: number;
  qos: 0 | 1;
  /** Logins that arrive at once (seeded users steadyClients … steadyClients + stormLogins − 1). */
  stormLogins: number;
  quickStormLogins: number;
  /** The baseline window before the storm. */
  quietMs: number;
  quickQuietMs: number;
  /** Per-login CONNACK timeout in the storm. */
  stormTimeoutMs: number;
  /** The storm's source address (issue 15: 127.0.0.3); default the loopback the others use. */
  stormFrom?: string;
  /** The storm sends wrong passwords (a failed-login storm; its logins are all refused). */
  stormWrongPassword?: boolean;
  /**
   * One correct login from another address (`from`), `afterMs` into the storm, timed to its
   * CONNACK (issue 15 point 4: it must not wait behind the storm's hashes). Seeded user
   * `steadyClients`; the storm then uses the users after it.
   */
  probe?: { from: string; afterMs: number };
  /** What the scenario's value is: the steady clients' p99 round trip (default) or the probe login's time. */
  value?: 'rtt' | 'probe';
}

const DEFAULTS: LoginStormOptions = {
  steadyClients: 100,
  ratePerClient: 20,
  qos: 1,
  stormLogins: 500,
  quickStormLogins: 100,
  quietMs: 5000,
  quickQuietMs: 1500,
  stormTimeoutMs: 120_000,
};

/** How many seeded users a login storm with these options uses. */
export function stormUsersNeeded(opts: Partial<LoginStormOptions> = {}): number {
  const o = { ...DEFAULTS, ...opts };
  return o.steadyClients + (o.probe ? 1 : 0) + Math.max(o.stormLogins, o.quickStormLogins);
}

interface Window {
  from: number;
  to: number;
}

function windowStats(r: RttLoadResult, w: Window): { n: number; p50: number; p99: number; max: number } {
  const rtts = r.rttMs.filter((_, i) => r.sentAtMs[i]! >= w.from && r.sentAtMs[i]! <= w.to);
  return { n: rtts.length, p50: percentile(rtts, 50), p99: percentile(rtts, 99), max: percentile(rtts, 100) };
}

/**
 * p99 publish round trip of already-connected clients while a burst of logins
 * arrives at once (the value), against a quiet period just before (details).
 * Two load processes: one keeps the steady clients publishing and timing their
 * echoes, the other fires the storm, so neither's event loop delays the other.
 */
export function loginStorm(opts: Partial<LoginStormOptions> = {}): Workload {
  const o: LoginStormOptions = { ...DEFAULTS, ...opts };
  const logins = (quick: boolean) => (quick ? o.quickStormLogins : o.stormLogins);
  const quiet = (quick: boolean) => (quick ? o.quickQuietMs : o.quietMs);
  const probeValue = o.value === 'probe';
  return {
    metric: probeValue ? 'a correct login from another address during the storm' : 'publish round trip p99 during a login storm',
    unit: 'ms',
    better: 'lower',
    describe: (ctx) =>
      `${o.steadyClients} connected clients each publishing QoS ${o.qos} to its own topic at ${o.ratePerClient} msg/s and timing the echo; ` +
      `${quiet(ctx.quick) / 1000} s quiet, then ${logins(ctx.quick)} logins at once (all with username/password` +
      `${o.stormWrongPassword ? ', wrong passwords' : ''}${o.stormFrom ? `, from ${o.stormFrom}` : ''})` +
      (o.probe ? `; a correct login from ${o.probe.from} ${o.probe.afterMs} ms into the storm` : ''),
    async run(broker, ctx) {
      let quietWindow: Window | undefined;
      let storm: ConnectLoadResult | undefined;
      let probeMs = NaN;
      let probeError: string | undefined;
      let probeDone: Promise<void> = Promise.resolve();
      const cpu = new BrokerCpuWindow(broker);
      const probe = o.probe;
      const startProbe = () => {
        if (!probe) return;
        probeDone = new Promise<void>((resolve) => setTimeout(resolve, probe.afterMs)).then(async () => {
          const t0 = performance.now();
          try {
            const c = await WireClient.open(
              { ...broker.endpoint, localAddress: probe.from },
              { clientId: 'probe', keepalive: 600, username: userName(o.steadyClients), password: userPassword(o.steadyClients), timeoutMs: 60_000 },
            );
            probeMs = performance.now() - t0;
            c.destroy();
          } catch (err) {
            probeError = (err as Error).message;
          }
        });
      };
      const rttParams: RttLoadParams = {
        endpoint: broker.endpoint,
        clients: o.steadyClients,
        credentials: { firstUser: 0 },
        connectConcurrency: 20,
        connectTimeoutMs: 60_000,
        qos: o.qos,
        ratePerClient: o.ratePerClient,
        warmupMs: 1000,
        drainMs: 1000,
      };
      const rtt = await runLoad<RttLoadParams, RttLoadResult>('load-rtt.ts', rttParams, async (name) => {
        if (name !== 'ready') return;
        const from = performance.timeOrigin + performance.now();
        await new Promise((r) => setTimeout(r, quiet(ctx.quick)));
        quietWindow = { from, to: performance.timeOrigin + performance.now() };
        const stormParams: ConnectLoadParams = {
          endpoint: broker.endpoint,
          clients: logins(ctx.quick),
          warmup: 0,
          concurrency: logins(ctx.quick),
          keepalive: 600,
          clientIdPrefix: 'storm-',
          credentials: { firstUser: o.steadyClients + (probe ? 1 : 0), ...(o.stormWrongPassword ? { wrongPassword: true } : {}) },
          timeoutMs: o.stormTimeoutMs,
        };
        if (o.stormFrom) stormParams.endpoint = { ...broker.endpoint, localAddress: o.stormFrom };
        storm = await runLoad<ConnectLoadParams, ConnectLoadResult>('load-connect.ts', stormParams, async (mark) => {
          await cpu.onMark(mark);
          if (mark === 'start') startProbe();
        });
        await probeDone;
      });
      if (!quietWindow || !storm) throw new Error('login-storm: the round-trip load never reported ready');
      if (probeError) throw new Error(`login-storm: the probe login failed: ${probeError}`);
      if (storm.failed > 0 && !o.stormWrongPassword) ctx.log(`  ${storm.failed} of ${logins(ctx.quick)} storm logins failed (first: ${storm.firstError})`);
      const q = windowStats(rtt, quietWindow);
      const s = windowStats(rtt, { from: storm.startedAtMs, to: storm.endedAtMs });
      return {
        value: probeValue ? probeMs : s.p99,
        loadCpuPercent: Math.max(rtt.cpuPercent, storm.cpuPercent),
        brokerCpuPercent: cpu.percent(),
        details: {
          quietP50Ms: q.p50,
          quietP99Ms: q.p99,
          quietMaxMs: q.max,
          quietSamples: q.n,
          stormP50Ms: s.p50,
          stormP99Ms: s.p99,
          stormMaxMs: s.max,
          stormSamples: s.n,
          stormLogins: storm.connected,
          stormFailed: storm.failed,
          stormSeconds: storm.elapsedMs / 1000,
          stormLoginsPerSec: storm.ratePerSec,
          stormConnackP50Ms: storm.latencyP50Ms,
          stormConnackMaxMs: storm.latencyMaxMs,
          sent: rtt.sent,
          received: rtt.received,
          ...(probe ? { probeLoginMs: probeMs } : {}),
        },
      };
    },
    summarize(sample) {
      const d = sample.details;
      const f = (v: number | undefined) => (v ?? NaN).toFixed(1);
      return (
        `RTT quiet p50/p99/max ${f(d['quietP50Ms'])}/${f(d['quietP99Ms'])}/${f(d['quietMaxMs'])} ms (${d['quietSamples']} msgs); ` +
        `storm ${f(d['stormP50Ms'])}/${f(d['stormP99Ms'])}/${f(d['stormMaxMs'])} ms (${d['stormSamples']} msgs)\n      ` +
        `${d['stormLogins']} logins in ${f(d['stormSeconds'])} s (${f(d['stormLoginsPerSec'])}/s, ${d['stormFailed']} failed, CONNACK max ${Math.round(d['stormConnackMaxMs'] ?? NaN)} ms); ` +
        `${d['received']} of ${d['sent']} messages echoed` +
        (d['probeLoginMs'] !== undefined ? `; correct login from another address: ${f(d['probeLoginMs'])} ms` : '')
      );
    },
  };
}
