import { runLoad } from '../harness/load-process.js';
import type { Workload } from '../harness/scenario.js';
import type { Protocol, PublishLoadParams, PublishLoadResult } from '../load-publish.js';
import { BrokerCpuWindow } from './broker-cpu.js';

export interface ThroughputOptions {
  qos: 0 | 1;
  pairs: number;
  payloadBytes: number;
  durationMs: number;
  quickDurationMs: number;
  /** Messages in flight per publisher → subscriber pair. */
  window: number;
  /** What publishers and subscribers speak (STOMP needs the broker's STOMP listener; STOMP is always QoS 0). */
  publisher: Protocol;
  subscriber: Protocol;
  /** MQTT clients log in as `user-<i>` (rules templated on `${username}`). */
  usernames: boolean;
}

/** Messages per second delivered to subscribers, `pairs` publishers each feeding one subscriber. */
export function throughput(opts: Partial<ThroughputOptions> = {}): Workload {
  const o: ThroughputOptions = { qos: 0, pairs: 10, payloadBytes: 64, durationMs: 10_000, quickDurationMs: 1000, window: 100, publisher: 'mqtt', subscriber: 'mqtt', usernames: false, ...opts };
  const route = `${o.publisher.toUpperCase()}→${o.subscriber.toUpperCase()}`;
  const duration = (quick: boolean) => (quick ? o.quickDurationMs : o.durationMs);
  return {
    metric: `throughput ${route} QoS ${o.qos}`,
    unit: 'msg/s',
    better: 'higher',
    describe: (ctx) =>
      `${route}: ${o.pairs} publishers → ${o.pairs} subscribers (one topic per pair), QoS ${o.qos}, ${o.payloadBytes}-byte payload, ${duration(ctx.quick) / 1000} s, ${o.window} in flight per pair`,
    async run(broker, ctx) {
      const cpu = new BrokerCpuWindow(broker);
      const params: PublishLoadParams = {
        endpoint: broker.endpoint,
        ...(broker.stompEndpoint ? { stompEndpoint: broker.stompEndpoint } : {}),
        publisher: o.publisher,
        subscriber: o.subscriber,
        pairs: o.pairs,
        qos: o.qos,
        payloadBytes: o.payloadBytes,
        warmupMs: ctx.quick ? 300 : 1000,
        durationMs: duration(ctx.quick),
        window: o.window,
        ...(o.usernames ? { usernames: true } : {}),
      };
      const r = await runLoad<PublishLoadParams, PublishLoadResult>('load-publish.ts', params, cpu.onMark);
      return {
        value: r.ratePerSec,
        loadCpuPercent: r.cpuPercent,
        brokerCpuPercent: cpu.percent(),
        // One publish → one delivery per pair: the broker's CPU per message moved.
        details: { delivered: r.deliveredInWindow, windowMs: r.windowMs, brokerCpuMicrosPerMessage: cpu.micros() / r.deliveredInWindow },
      };
    },
    summarize: (sample) => `broker CPU ${sample.details['brokerCpuMicrosPerMessage']?.toFixed(2)} µs per message`,
  };
}
