import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { GLOBAL_METRICS, type GlobalAuthnMetric } from '../authn/service.js';
import { AUTHZ_METRICS, SOURCE_METRICS, type AuthzMetric } from '../authz/authorizer.js';
import { AUTHENTICATOR_METRICS } from '../authn/chain.js';
import type { GatehouseNode } from '../node/node.js';
import type { OutboundMetric } from '../broker/outbound.js';
import { registerProtectionMetrics } from '../access/banned/prometheus.js';
import { hashConcurrencyStats } from '../authn/password/index.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The node's Prometheus registry (one per node, so test nodes do not share one):
 * the §13.1 counters under EMQX's names, per-authenticator counters, per-listener
 * connection counts, and authentication latencies as histograms.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: () => void;

  constructor(node: GatehouseNode) {
    const registers = [this.registry];
    const authn = node.authn;
    // The §13.1 counters of authentication and authorization, under EMQX's names.
    const globals: Array<{ names: readonly string[]; get: (name: string) => number }> = [
      { names: GLOBAL_METRICS, get: (name) => authn.metrics.get(name as GlobalAuthnMetric) },
      { names: AUTHZ_METRICS, get: (name) => node.authz.metrics.get(name as AuthzMetric) },
    ];
    for (const { names, get } of globals) {
      for (const name of names) {
        new Counter({
          name: `emqx_${name.replace(/\./g, '_')}`,
          help: `${name} (emqx5-auth.md §13.1)`,
          registers,
          collect() {
            this.reset();
            this.inc(get(name));
          },
        });
      }
    }
    for (const name of SOURCE_METRICS) {
      new Counter({
        name: `emqx_authz_${name}`,
        help: `authorization source ${name} count, by source type`,
        labelNames: ['type'],
        registers,
        collect() {
          this.reset();
          for (const s of node.authz.sources()) this.inc({ type: s.type }, s.metrics.get(name));
        },
      });
    }
    for (const name of AUTHENTICATOR_METRICS) {
      new Counter({
        name: `emqx_authn_${name}`,
        help: `authenticator ${name} count, by chain and authenticator id`,
        labelNames: ['chain', 'id'],
        registers,
        collect() {
          this.reset();
          for (const chainName of authn.chainNames()) {
            for (const entry of authn.chain(chainName)?.entries ?? []) this.inc({ chain: chainName, id: entry.id }, entry.metrics.get(name));
          }
        },
      });
    }
    new Gauge({
      name: 'gatehouse_listener_connections',
      help: 'open connections per listener',
      labelNames: ['listener', 'type', 'protocol'],
      registers,
      collect() {
        this.reset();
        for (const l of node.listeners.list()) this.set({ listener: l.id, type: l.type, protocol: l.protocol }, l.current_connections);
      },
    });
    new Gauge({
      name: 'gatehouse_listener_running',
      help: '1 when the listener accepts connections',
      labelNames: ['listener', 'type', 'protocol'],
      registers,
      collect() {
        this.reset();
        for (const l of node.listeners.list()) this.set({ listener: l.id, type: l.type, protocol: l.protocol }, l.running ? 1 : 0);
      },
    });
    new Counter({
      name: 'gatehouse_proxy_protocol_refusals_total',
      help: 'connections closed before their first protocol byte for a missing, malformed, oversized, late or untrusted Proxy Protocol header, by listener and kind',
      labelNames: ['listener', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const r of node.transport.allProxyProtocolRefusals()) this.inc({ listener: r.listener, kind: r.kind }, r.count);
      },
    });
    new Counter({
      name: 'gatehouse_mqtt_protocol_errors_total',
      help: 'MQTT clients disconnected after CONNACK for a malformed packet or a protocol error, by listener',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        for (const r of node.broker.protocolErrorCounts()) this.inc({ listener: r.listener }, r.count);
      },
    });
    const access = node.access;
    new Counter({
      name: 'gatehouse_connection_refusals_total',
      help: 'connections refused on the access path, by listener and reason (the refusal reasons; protocol: refused by the protocol front before admission)',
      labelNames: ['listener', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const r of access.refusalCounts()) this.inc({ listener: r.listener, reason: r.reason }, r.count);
      },
    });
    new Counter({
      name: 'gatehouse_authorization_denials_total',
      help: 'publishes and subscriptions denied by authorization, by listener and action (MQTT and STOMP)',
      labelNames: ['listener', 'action'],
      registers,
      collect() {
        this.reset();
        for (const d of access.denialCounts()) this.inc({ listener: d.listener, action: d.action }, d.count);
      },
    });
    // Issue 15: banned refusals, flapping and failed-login bans, logins refused by the hashing queue.
    const protection = node.protection;
    registerProtectionMetrics(this.registry, {
      bannedRefusals: () => protection.banned.refusals(),
      flappingBans: () => protection.flapping.bans(),
      loginFailureBans: () => protection.loginFailures.bans(),
      hashQueueRefusals: () => ({ ...hashConcurrencyStats().refused }),
    });
    const outbound = node.broker.outbound?.counters;
    const outboundCounter = (name: string, help: string, metric: OutboundMetric): void => {
      new Counter({
        name,
        help,
        labelNames: ['listener'],
        registers,
        collect() {
          this.reset();
          for (const [listener, set] of outbound?.entries() ?? []) this.inc({ listener }, set.get(metric));
        },
      });
    };
    outboundCounter('emqx_delivery_dropped_qos0_msg', 'QoS 0 messages dropped for a subscriber over its high_watermark, by listener', 'delivery.dropped.qos0_msg');
    outboundCounter('emqx_delivery_dropped_queue_full', 'QoS 1/2 messages dropped from a full session queue (mqtt.max_mqueue_len), oldest first, by listener', 'delivery.dropped.queue_full');
    outboundCounter('gatehouse_send_timeout_disconnects_total', 'slow consumers closed after send_timeout with nothing flushed, by listener', 'send_timeout.closed');
    const decisions = new Histogram({
      name: 'gatehouse_authentication_decision_seconds',
      help: 'time to an authentication decision, by listener, chain and result',
      labelNames: ['listener', 'chain', 'result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const steps = new Histogram({
      name: 'gatehouse_authenticator_seconds',
      help: 'time one authenticator took, by chain, authenticator and result',
      labelNames: ['chain', 'authenticator', 'result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    // One labelled child per combination, so a connect does not hash label objects.
    const decisionChildren = new LabelledChildren((listener: string, chain: string, result: string) => decisions.labels({ listener, chain, result }));
    const stepChildren = new LabelledChildren((chain: string, authenticator: string, result: string) => steps.labels({ chain, authenticator, result }));
    this.unsubscribe = authn.onDecision((record) => {
      const chain = record.chain ?? 'none';
      decisionChildren.get(record.listener, chain, record.decision.allowed ? 'allow' : 'deny').observe(record.ms / 1000);
      for (const s of record.steps) stepChildren.get(chain, s.authenticator, s.result).observe(s.ms / 1000);
    });
  }

  close(): void {
    this.unsubscribe();
  }
}

/** A histogram's labelled children by their three label values, made once each. */
class LabelledChildren<Child> {
  private readonly children = new Map<string, Child>();

  constructor(private readonly make: (a: string, b: string, c: string) => Child) {}

  get(a: string, b: string, c: string): Child {
    const key = `${a}\u0000${b}\u0000${c}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.make(a, b, c);
      this.children.set(key, child);
    }
    return child;
  }
}
