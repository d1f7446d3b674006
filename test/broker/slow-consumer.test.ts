import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { EventEmitter } from 'node:events';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { startTestNode, connect, endClient, subscribe, type TestNode } from '../helpers/node.js';
import { loadConfigText, ConfigError } from '../../src/config/load.js';
import { configChecks } from '../../src/main.js';
import { listenerSpec } from '../../src/transport/listener-spec.js';
import type { OutboundMetric } from '../../src/broker/outbound.js';
import { ApiMetrics } from '../../src/api/prometheus.js';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';

/**
 * Issue #12 point 3: one subscriber that stops reading its socket must not slow the
 * publisher or any other subscriber (src/broker/outbound.ts). A stuck subscriber here is a
 * raw connection that sends CONNECT and SUBSCRIBE, then stops reading; big messages fill the
 * kernel's buffers, and a small high_watermark makes the broker's side count quickly.
 */

const FILL_PAYLOAD = 64 * 1024;

/** An MQTT 3.1.1 subscriber on a raw tcp socket or WebSocket that stops reading after its SUBACK. */
class StuckSubscriber {
  /** Sequence numbers (a payload's first 4 bytes) of the messages read, in order. */
  readonly received: number[] = [];
  /** Messages read on `slow/fill`. */
  fills = 0;
  closed = false;
  /** Bytes read without parsing them (`discard`). */
  discarded = 0;
  private discarding = false;
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private waiting: ((p: Packet) => void) | undefined;

  private constructor(
    private readonly send: (b: Buffer) => void,
    readonly pause: () => void,
    readonly resume: () => void,
    readonly destroy: () => void,
  ) {
    this.parser.on('packet', (p: Packet) => {
      if (p.cmd === 'publish') {
        if (p.topic === 'slow/fill') this.fills += 1;
        else this.received.push(Buffer.from(p.payload).readUInt32BE(0));
        if (p.qos === 1) this.send(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId! }));
        return;
      }
      this.waiting?.(p);
    });
  }

  /** With `clean = false` a persistent session; with `filter = ''` it subscribes to nothing (a session resumed). */
  static tcp(port: number, clientId: string, filter: string, qos: 0 | 1, clean = true): Promise<StuckSubscriber> {
    return StuckSubscriber.overSocket(net.connect(port, '127.0.0.1'), 'connect', clientId, filter, qos, clean);
  }

  static tls(port: number, ca: Buffer, clientId: string, filter: string, qos: 0 | 1): Promise<StuckSubscriber> {
    return StuckSubscriber.overSocket(tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }), 'secureConnect', clientId, filter, qos);
  }

  static async ws(url: string, clientId: string, filter: string, qos: 0 | 1): Promise<StuckSubscriber> {
    const ws = new WebSocket(url, 'mqtt');
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const s = new StuckSubscriber((b) => ws.send(b), () => ws.pause(), () => ws.resume(), () => ws.terminate());
    return s.start(ws, 'message', clientId, filter, qos);
  }

  private static async overSocket(socket: net.Socket, ready: string, clientId: string, filter: string, qos: 0 | 1, clean = true): Promise<StuckSubscriber> {
    await new Promise<void>((resolve, reject) => socket.once(ready, resolve).once('error', reject));
    const s = new StuckSubscriber((b) => socket.write(b), () => socket.pause(), () => socket.resume(), () => socket.destroy());
    return s.start(socket, 'data', clientId, filter, qos, clean);
  }

  /** Reads `data` events of `source` (a socket or a WebSocket), then CONNECT, SUBSCRIBE, and stops reading. */
  private async start(source: EventEmitter, data: string, clientId: string, filter: string, qos: 0 | 1, clean = true): Promise<StuckSubscriber> {
    source.on(data, (chunk: Buffer) => {
      if (this.discarding) this.discarded += chunk.length;
      else this.parser.parse(chunk);
    });
    source.on('error', () => undefined);
    source.on('close', () => (this.closed = true));
    const connack = this.next();
    this.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, clientId, keepalive: 0 }));
    assert.equal((await connack).cmd, 'connack');
    if (filter === '') return this;
    const suback = this.next();
    this.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] }));
    assert.equal((await suback).cmd, 'suback');
    this.pause();
    return this;
  }

  /** Reads again, as fast as it can, without looking at what it reads (no acknowledgements either). */
  discard(): void {
    this.discarding = true;
    this.resume();
  }

  private next(): Promise<Packet> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

function payload(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x61);
  b.writeUInt32BE(seq, 0);
  return b;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function counter(t: TestNode, listener: string, name: OutboundMetric): number {
  return t.node.broker.outbound!.counters.of(listener).get(name);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * Publishes big messages to `slow/fill` (which only stuck subscribers take) until `over` says
 * the stuck one is past its mark; returns how many it took.
 */
async function fill(pub: MqttClient, qos: 0 | 1, over: () => boolean): Promise<number> {
  let n = 0;
  while (!over()) {
    assert.ok(n < 4000, 'the stuck subscriber never went over its high_watermark');
    for (let i = 0; i < 16; i++) pub.publish('slow/fill', payload(n++, FILL_PAYLOAD), { qos });
    await sleep(5);
  }
  return n;
}

/**
 * Publishes `n` numbered messages to `topic`, at most `window` ahead of what `healthy` has
 * received; resolves with the healthy subscriber's rate (messages/s) once it has them all, and
 * checks it got every one, in order. A stall of 10 s fails.
 */
async function measure(pub: MqttClient, healthy: MqttClient, topic: string, qos: 0 | 1, n: number, window = 16, size = 1024): Promise<number> {
  const seen: number[] = [];
  let wake: (() => void) | undefined;
  let last = Date.now();
  const onMessage = (t: string, p: Buffer) => {
    if (t !== topic) return;
    seen.push(p.readUInt32BE(0));
    last = Date.now();
    const w = wake;
    wake = undefined;
    w?.();
  };
  healthy.on('message', onMessage);
  try {
    const start = performance.now();
    const stalled = () => Date.now() - last > 10_000;
    for (let i = 0; i < n; i++) {
      while (i - seen.length >= window) {
        await Promise.race([new Promise<void>((r) => (wake = r)), sleep(200)]);
        if (stalled()) throw new Error(`healthy subscriber stalled after ${seen.length} of ${n} messages`);
      }
      pub.publish(topic, payload(i, size), { qos });
    }
    while (seen.length < n) {
      await Promise.race([new Promise<void>((r) => (wake = r)), sleep(200)]);
      if (stalled()) throw new Error(`healthy subscriber stalled after ${seen.length} of ${n} messages`);
    }
    const ms = performance.now() - start;
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i), 'the healthy subscriber gets every message, in order');
    return (n / ms) * 1000;
  } finally {
    healthy.off('message', onMessage);
  }
}

/**
 * Publishes 600 numbered 32 KiB messages to `topic` while `s` is stuck, checks some were
 * dropped (`metric`), lets `s` read again, and checks it got every one not dropped: received +
 * dropped = published. Returns how many were published.
 */
async function publishThenRead(node: TestNode, pub: MqttClient, s: StuckSubscriber, topic: string, qos: 0 | 1, metric: OutboundMetric): Promise<number> {
  const before = counter(node, 'tcp:default', metric);
  const m = 600;
  for (let i = 0; i < m; i++) {
    pub.publish(topic, payload(i, 32 * 1024), { qos });
    if (i % 20 === 19) await sleep(5);
  }
  // Every message has reached the broker once a QoS 1 one sent behind them is acknowledged.
  await new Promise<void>((resolve, reject) => pub.publish('other/end', 'x', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  await sleep(50);
  const dropped = counter(node, 'tcp:default', metric) - before;
  assert.ok(dropped > 0, `some messages were dropped (${metric})`);
  s.resume();
  await waitFor('the stuck subscriber to read what it was sent', () => s.received.length + dropped >= m);
  await sleep(100);
  assert.equal(s.received.length + dropped, m, 'received + dropped = published');
  return m;
}

/** Small marks everywhere; tcp:default waits long, the others close (or keep, tcp:keep) after 400 ms. */
function deadlineConfig(certs: DevCertPaths): string {
  const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}" }`;
  return [
    `listeners.ssl.default { bind = "127.0.0.1:0", ${ssl}, tcp_options { high_watermark = "64KB", send_timeout = "400ms" } }`,
    'listeners.tcp.default.tcp_options { high_watermark = "64KB", send_timeout = "120s" }',
    'listeners.tcp.fast { bind = "127.0.0.1:0", tcp_options { high_watermark = "64KB", send_timeout = "400ms" } }',
    'listeners.tcp.keep { bind = "127.0.0.1:0", tcp_options { high_watermark = "64KB", send_timeout = "400ms", send_timeout_close = false } }',
    'listeners.ws.default.tcp_options { high_watermark = "64KB", send_timeout = "400ms" }',
    'mqtt.max_mqueue_len = 20',
  ].join('\n');
}

describe('a slow consumer never slows anyone else', () => {
  for (const qos of [0, 1] as const) {
    test(`QoS ${qos}: the healthy subscriber keeps every message and its rate next to a stuck one`, async (t) => {
      const node = await startTestNode(
        [
          'listeners.tcp.default.tcp_options { high_watermark = "256KB", send_timeout = "10m" }',
          'listeners.tcp.calm { bind = "127.0.0.1:0", tcp_options { high_watermark = "256KB", send_timeout = "10m" } }',
          'mqtt.max_mqueue_len = 50',
        ].join('\n'),
      );
      try {
        // The healthy subscriber takes two topics: on `slow/data` its fellow subscriber is stuck, on
        // `calm/data` it reads (as fast as it can: it discards what it reads, so it costs this
        // process no more than the stuck one does). Windows on the two topics alternate (ABBA) for the whole test, so a
        // slow moment of a loaded machine hits both alike and the broker's state is the same for
        // both; the medians of the windows are compared.
        const healthy = await connect(node.url(), { clientId: `healthy-${qos}` });
        await subscribe(healthy, 'slow/data', qos);
        await subscribe(healthy, 'calm/data', qos);
        const pub = await connect(node.url(), { clientId: `pub-${qos}` });
        const reader = await StuckSubscriber.tcp(node.port('tcp:calm'), `reader-${qos}`, 'calm/#', qos);
        reader.discard();
        const stuck = await StuckSubscriber.tcp(node.port(), `stuck-${qos}`, 'slow/#', qos);
        const overMark = qos === 0 ? 'delivery.dropped.qos0_msg' : 'delivery.dropped.queue_full';
        const filled = await fill(pub, qos, () => counter(node, 'tcp:default', overMark) > 0);
        await measure(pub, healthy, 'calm/data', qos, 2000); // warm-up (JIT)
        await measure(pub, healthy, 'slow/data', qos, 2000);
        const droppedBefore = counter(node, 'tcp:default', overMark);
        const n = 1500;
        const rates = { calm: [] as number[], slow: [] as number[] };
        for (let round = 0; round < 8; round++) {
          for (const kind of round % 2 === 0 ? (['calm', 'slow'] as const) : (['slow', 'calm'] as const)) {
            rates[kind].push(await measure(pub, healthy, `${kind}/data`, qos, n));
          }
        }
        // The stuck one stayed past its mark: every message on its topic was dropped for it; the
        // reader was never past its own.
        assert.ok(counter(node, "tcp:default", overMark) - droppedBefore >= 8 * n, `dropped ${counter(node, "tcp:default", overMark) - droppedBefore} of ${8 * n}`);
        assert.equal(counter(node, 'tcp:calm', overMark), 0);
        assert.equal(stuck.closed, false);
        const median = (r: number[]) => [...r].sort((a, b) => a - b)[r.length >> 1]!;
        const mid = { calm: median(rates.calm), slow: median(rates.slow) };
        const show = (r: number[]) => r.map((v) => v.toFixed(0)).join(', ');
        t.diagnostic(`healthy subscriber, msg/s, next to a reader: ${show(rates.calm)}; next to a stuck one: ${show(rates.slow)}; median ratio ${(mid.slow / mid.calm).toFixed(3)}; fill ${filled} × 64 KiB`);
        assert.ok(mid.slow >= 0.9 * mid.calm, `rate next to a stuck subscriber ${mid.slow.toFixed(0)}/s is below 0.9 × ${mid.calm.toFixed(0)}/s (medians)`);
        stuck.destroy();
        reader.destroy();
        await Promise.all([endClient(healthy), endClient(pub)]);
      } finally {
        await node.stop();
      }
    });
  }

  describe('drops, queue and deadline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-slow-'));
    let certs: DevCertPaths;
    let node: TestNode;
    before(async () => {
      certs = await generateDevCertificates(dir);
      node = await startTestNode(deadlineConfig(certs));
    });
    after(async () => {
      await node?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('QoS 0: what a stuck subscriber misses is counted, exactly', async () => {
      const pub = await connect(node.url(), { clientId: 'b-pub' });
      const s = await StuckSubscriber.tcp(node.port(), 'b-stuck', 'b/#', 0);
      await publishThenRead(node, pub, s, 'b/x', 0, 'delivery.dropped.qos0_msg');
      assert.ok(s.received.every((v, i) => i === 0 || v > s.received[i - 1]!), 'in order');
      assert.equal(s.closed, false);
      s.destroy();
      await endClient(pub);
    });

    test('QoS 1: the queue keeps the newest max_mqueue_len, drops the oldest (counted), resumes in order', async () => {
      const pub = await connect(node.url(), { clientId: 'c-pub' });
      const s = await StuckSubscriber.tcp(node.port(), 'c-stuck', 'c/#', 1);
      const m = await publishThenRead(node, pub, s, 'c/x', 1, 'delivery.dropped.queue_full');
      const got = s.received;
      // What was written before the mark, from the first message on; then the queue: the last 20.
      const tail = got.slice(-20);
      assert.deepEqual(tail, Array.from({ length: 20 }, (_, i) => m - 20 + i), 'the queue held the newest max_mqueue_len messages');
      const head = got.slice(0, -20);
      assert.deepEqual(head, Array.from({ length: head.length }, (_, i) => i), 'before the queue: every message from the first, in order');
      assert.equal(s.closed, false);
      s.destroy();
      await endClient(pub);
    });

    test('QoS 1, persistent session: what the live queue dropped is still in the session, sent on the next connection', async () => {
      const pub = await connect(node.url(), { clientId: 'p-pub' });
      const s = await StuckSubscriber.tcp(node.port(), 'p-stuck', 'p/#', 1, false);
      const m = await publishThenRead(node, pub, s, 'p/x', 1, 'delivery.dropped.queue_full');
      const live = s.received;
      assert.ok(live.every((v, i) => i === 0 || v > live[i - 1]!), 'in order on the live connection');
      s.destroy();
      await waitFor('aedes to forget the first connection', () => !(node.node.broker.aedes as unknown as { clients: Record<string, unknown> }).clients['p-stuck']);
      const again = await StuckSubscriber.tcp(node.port(), 'p-stuck', '', 1, false);
      await waitFor('the stored messages', () => new Set([...live, ...again.received]).size >= m);
      const later = again.received;
      assert.deepEqual(later, [...later].sort((a, b) => a - b), 'the stored ones in order');
      assert.deepEqual(new Set([...live, ...later]).size, m, 'every message reached the session once live or stored');
      again.destroy();
      await endClient(pub);
    });

    test('past send_timeout a stuck subscriber is closed (logged once, counted); with send_timeout_close = false it is kept', async () => {
      const pub = await connect(node.url(), { clientId: 'd-pub' });
      const closing = await StuckSubscriber.tcp(node.port('tcp:fast'), 'd-closing', 'slow/#', 0);
      const kept = await StuckSubscriber.tcp(node.port('tcp:keep'), 'd-kept', 'slow/#', 0);
      const overAt = Date.now();
      // A stuck client keeps being sent messages: publish on until it is closed.
      await fill(pub, 0, () => counter(node, 'tcp:fast', 'send_timeout.closed') === 1 && counter(node, 'tcp:keep', 'delivery.dropped.qos0_msg') > 0);
      assert.ok(Date.now() - overAt >= 400, 'not before send_timeout');
      await waitFor('aedes to forget the closed client', () => !(node.node.broker.aedes as unknown as { clients: Record<string, unknown> }).clients['d-closing']);
      await sleep(1200); // three more deadlines' worth
      const clients = (node.node.broker.aedes as unknown as { clients: Record<string, unknown> }).clients;
      assert.ok(clients['d-kept'], 'send_timeout_close = false keeps the client');
      assert.equal(counter(node, 'tcp:keep', 'send_timeout.closed'), 0);
      const closes = node.logs.lines.filter((l) => l['clientid'] === 'd-closing' && String(l['msg']).startsWith('slow consumer: nothing flushed'));
      assert.equal(closes.length, 1, 'logged once');
      assert.equal(closes[0]!['listener'], 'tcp:fast');
      const keeps = node.logs.lines.filter((l) => l['clientid'] === 'd-kept' && String(l['msg']).startsWith('slow consumer: nothing flushed'));
      assert.equal(keeps.length, 1, 'the kept one is logged once too');
      assert.equal(keeps[0]!['send_timeout_close'], false);
      closing.destroy();
      kept.destroy();
      await endClient(pub);
    });

    test('a stuck WebSocket subscriber: drops counted on its listener, closed after send_timeout, a tcp subscriber unaffected', async () => {
      const pub = await connect(node.url(), { clientId: 'e-pub' });
      const healthy = await connect(node.url(), { clientId: 'e-healthy' });
      await subscribe(healthy, 'slow/data', 0);
      const s = await StuckSubscriber.ws(node.url('ws:default'), 'e-stuck', 'slow/#', 0);
      await fill(pub, 0, () => counter(node, 'ws:default', 'delivery.dropped.qos0_msg') > 0);
      await measure(pub, healthy, 'slow/data', 0, 500);
      await fill(pub, 0, () => counter(node, 'ws:default', 'send_timeout.closed') === 1);
      await waitFor('aedes to forget the closed client', () => !(node.node.broker.aedes as unknown as { clients: Record<string, unknown> }).clients['e-stuck']);
      s.destroy();
      await Promise.all([endClient(pub), endClient(healthy)]);
    });

    test('a stuck TLS subscriber: drops counted on its listener, closed after send_timeout', async () => {
      const pub = await connect(node.url(), { clientId: 'f-pub' });
      const s = await StuckSubscriber.tls(node.port('ssl:default'), readFileSync(certs.caCert), 'f-stuck', 'slow/#', 0);
      // TLS hands the kernel what it takes in bursts, so the stream dips under its mark now and
      // then while the peer is stuck; publish on, as a stuck client keeps being sent messages.
      await fill(pub, 0, () => counter(node, 'ssl:default', 'send_timeout.closed') === 1);
      await waitFor('aedes to forget the closed client', () => !(node.node.broker.aedes as unknown as { clients: Record<string, unknown> }).clients['f-stuck']);
      s.destroy();
      await endClient(pub);
    });

    test('the counters are in the Prometheus exposition, by listener', async () => {
      const metrics = new ApiMetrics(node.node);
      const text = await metrics.registry.metrics();
      metrics.close();
      assert.match(text, /emqx_delivery_dropped_qos0_msg\{listener="tcp:default"\} [1-9]/);
      assert.match(text, /emqx_delivery_dropped_queue_full\{listener="tcp:default"\} [1-9]/);
      assert.match(text, /gatehouse_send_timeout_disconnects_total\{listener="tcp:fast"\} 1/);
      assert.match(text, /gatehouse_send_timeout_disconnects_total\{listener="tcp:keep"\} 0/);
    });
  });
});

describe('outbound configuration', () => {
  const load = (text: string) => loadConfigText(text, { checks: configChecks() });
  const problems = (text: string): string => {
    try {
      load(text);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    assert.fail('the configuration was accepted');
  };

  test("defaults are EMQX's: high_watermark 1MB, send_timeout 15s, send_timeout_close true, max_mqueue_len 1000", () => {
    const config = load('');
    const tcp = config.listeners.tcp['default']!;
    assert.deepEqual(
      { mark: tcp.tcp_options.high_watermark, timeout: tcp.tcp_options.send_timeout, close: tcp.tcp_options.send_timeout_close },
      { mark: '1MB', timeout: '15s', close: true },
    );
    assert.equal(config.mqtt.max_mqueue_len, 1000);
    assert.deepEqual(listenerSpec('tcp:default', 'tcp', 'mqtt', tcp).send, { highWatermark: 1024 * 1024, sendTimeoutMs: 15_000, sendTimeoutClose: true });
  });

  test('invalid values are refused, naming the path', () => {
    const cases: Array<[string, string]> = [
      ['listeners.tcp.default.tcp_options.high_watermark = "lots"', 'listeners.tcp.default.tcp_options.high_watermark'],
      ['listeners.tcp.default.tcp_options.high_watermark = 0', 'listeners.tcp.default.tcp_options.high_watermark'],
      ['listeners.ws.default.tcp_options.send_timeout = "soon"', 'listeners.ws.default.tcp_options.send_timeout'],
      ['listeners.tcp.default.tcp_options.send_timeout = "0s"', 'listeners.tcp.default.tcp_options.send_timeout'],
      ['listeners.tcp.default.tcp_options.send_timeout_close = "maybe"', 'listeners.tcp.default.tcp_options.send_timeout_close'],
      ['mqtt.max_mqueue_len = -1', 'mqtt.max_mqueue_len'],
      ['mqtt.max_mqueue_len = "many"', 'mqtt.max_mqueue_len'],
      // STOMP listeners keep the gateway's own bound: the keys are refused there, not ignored.
      ['gateway.stomp { listeners.tcp.default { bind = "127.0.0.1:0", tcp_options.send_timeout = "5s" } }', 'gateway.stomp.listeners.tcp.default.tcp_options.send_timeout'],
      ['gateway.stomp { listeners.tcp.default { bind = "127.0.0.1:0", tcp_options.high_watermark = "1MB" } }', 'gateway.stomp.listeners.tcp.default.tcp_options.high_watermark'],
    ];
    for (const [text, path] of cases) assert.ok(problems(text).includes(`${path}:`), `${text} → ${problems(text)}`);
  });

  test('infinity and 0 leave the queue unbounded (EMQX)', () => {
    assert.equal(load('mqtt.max_mqueue_len = infinity').mqtt.max_mqueue_len, 'infinity');
    assert.equal(load('mqtt.max_mqueue_len = 0').mqtt.max_mqueue_len, 0);
  });
});
