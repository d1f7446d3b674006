import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { startTestNode, connect, endClient, subscribe, publish, nextMessage, type TestNode } from '../helpers/node.js';

/**
 * Issue 12: a packet that does not parse exactly ends its own connection and touches no
 * other client. The parser fixes live in patches/mqtt-packet+9.0.2.patch and
 * patches/aedes+2.0.0-beta.1.patch (applied by patch-package on npm ci); every
 * reproduction of the issue is replayed here over a real socket.
 */

const CONNECT_V5 = '101000044d5154540502001e000003726570'; // client id "rep", keepalive 30
const CONNECT_V311 = '101000044d5154540402001e000472657034'; // client id "rep4"

/** A raw connection: writes hex, collects the packets the server sends until it closes. */
class RawClient {
  readonly packets: Packet[] = [];
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;
  private readonly parser;

  constructor(port: number, version: 4 | 5) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.packets.push(p));
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (b) => this.parser.parse(b));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  send(hex: string): void {
    this.socket.write(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
  }

  /** Resolves once the server has closed the connection (fails after `ms`). */
  async closedWithin(ms = 4000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`server did not close within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  cmds(): string[] {
    return this.packets.map((p) => p.cmd);
  }

  disconnectCode(): number | undefined {
    const d = this.packets.find((p) => p.cmd === 'disconnect');
    return d && 'reasonCode' in d ? d.reasonCode : undefined;
  }

  connackCode(): number | undefined {
    const c = this.packets.find((p) => p.cmd === 'connack');
    if (!c || c.cmd !== 'connack') return undefined;
    return c.reasonCode ?? c.returnCode;
  }
}

/** A PUBLISH (QoS 0) in hex: topic bytes and v5 property bytes given as hex. */
function publishHex(topicHex: string, propsHex: string | null, payloadHex = '78'): string {
  const topic = Buffer.from(topicHex, 'hex');
  const props = propsHex === null ? Buffer.alloc(0) : Buffer.from(propsHex.replace(/\s+/g, ''), 'hex');
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, props, Buffer.from(payloadHex, 'hex')]);
  assert.ok(body.length < 128);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]).toString('hex');
}

describe('malformed packets end only their own connection', () => {
  let t: TestNode;
  let watcher5: MqttClient;
  let watcher4: MqttClient;
  const seen: string[] = [];
  let watcherClosed = 0;

  before(async () => {
    t = await startTestNode();
    // Subscribers that see everything: a forwarded malformed message would close them.
    watcher5 = await connect(t.url(), { clientId: 'watch5', protocolVersion: 5, reconnectPeriod: 0 });
    watcher4 = await connect(t.url(), { clientId: 'watch4', protocolVersion: 4, reconnectPeriod: 0 });
    for (const w of [watcher5, watcher4]) {
      w.on('message', (topic) => seen.push(topic));
      w.on('close', () => watcherClosed++);
      await subscribe(w, '#', 1);
    }
  });

  after(async () => {
    await endClient(watcher5);
    await endClient(watcher4);
    await t.stop();
  });

  /** The broker is alive, the watchers still connected, and a normal client round-trips. */
  async function assertHealthy(): Promise<void> {
    const probe = await connect(t.url(), { clientId: `probe-${seen.length}-${Date.now()}`, protocolVersion: 5, reconnectPeriod: 0 });
    const got = nextMessage(watcher5, 'probe/ok');
    await publish(probe, 'probe/ok', 'fine');
    assert.equal((await got).payload.toString(), 'fine');
    await endClient(probe);
    assert.equal(watcherClosed, 0, 'no subscriber was disconnected');
  }

  const v5Cases: Array<[string, string, number]> = [
    // The reproductions: a string property cut short [MQTT-1.5.4], Table 2-4.
    ['Response Topic cut short (the crash of issue 12)', '300a000470712f6503080010', 0x81],
    ['Content Type cut short', '300a000470712f6103030010', 0x81],
    ['User Property cut short', publishHex('70712f75', '05 26 0001 61 00'), 0x81],
    ['Correlation Data cut short', publishHex('70712f63', '03 09 0010'), 0x81],
    ['a property length past the packet', publishHex('70712f6c', '20 0101'), 0x81],
    ['a property value past the property length', publishHex('70712f70', '02 0200000001'), 0x81],
    ['a 5-byte property length varint', publishHex('70712f76', '8080808001'), 0x81],
    ['a property length that is not minimally encoded [MQTT-1.5.5-1]', publishHex('70712f6d', '8000'), 0x81],
    ['an unknown property', publishHex('70712f75', '02 7f00'), 0x81],
    ['invalid UTF-8 in a Content Type [MQTT-1.5.4-1]', publishHex('70712f78', '04 030001ff'), 0x81],
    ['U+0000 in a Response Topic [MQTT-1.5.4-2]', publishHex('70712f7a', '04 08000100'), 0x81],
    ['invalid UTF-8 in a User Property name', publishHex('70712f79', '07 260001ff000161'), 0x81],
    ['a duplicated Payload Format Indicator', publishHex('70712f64', '04 01010101'), 0x82],
    ['a duplicated Content Type', publishHex('70712f44', '08 0300016103000162'), 0x82],
    ['Session Expiry Interval on a PUBLISH (not allowed there)', publishHex('70712f73', '05 1100000001'), 0x82],
    ['a Payload Format Indicator of 2', publishHex('70712f32', '02 0102'), 0x82],
    ['a Subscription Identifier from a client [MQTT-3.3.4-6]', publishHex('70712f69', '02 0b01'), 0x82],
    ['a SUBSCRIBE with Subscription Identifier 0', '820a 0001 02 0b00 0003 612f62 00', 0x82],
    ['a SUBSCRIBE with no topic filter [MQTT-3.8.3-3]', '8203 0001 00', 0x82],
    ['a PUBACK with trailing bytes past its properties', '400500010000ff', 0x81],
    ['a PINGREQ with a body', 'c00100', 0x81],
  ];
  for (const [name, hex, code] of v5Cases) {
    test(`MQTT 5: ${name} → DISCONNECT 0x${code.toString(16)}, nothing forwarded`, async () => {
      const before = seen.length;
      const logsBefore = t.logs.lines.length;
      const c = new RawClient(t.port(), 5);
      c.send(CONNECT_V5);
      c.send(hex);
      await c.closedWithin();
      assert.deepEqual(c.cmds(), ['connack', 'disconnect']);
      assert.equal(c.connackCode(), 0);
      assert.equal(c.disconnectCode(), code);
      await assertHealthy();
      assert.deepEqual(
        seen.slice(before).filter((topic) => topic !== 'probe/ok'),
        [],
        'the malformed message reached no subscriber',
      );
      const lines = t.logs.lines.slice(logsBefore).filter((l) => l['msg'] === 'client disconnected: protocol error');
      assert.equal(lines.length, 1, 'logged once');
      assert.equal(lines[0]!['reason_code'], code);
      assert.equal(lines[0]!['listener'], 'tcp:default');
    });
  }

  // [MQTT-1.5.3-1..2], [MQTT-4.7.3-2]: a Topic Name that is not well-formed UTF-8 or holds
  // U+0000 closes the connection (3.1.1 has no DISCONNECT from the server).
  const badTopics: Array<[string, string]> = [
    ['0xFF', '612fff'],
    ['a UTF-16 surrogate (ED A0 80)', '612feda080'],
    ['an overlong NUL (C0 80)', '612fc080'],
    ['U+0000', '612f00'],
  ];
  for (const [name, topicHex] of badTopics) {
    test(`MQTT 3.1.1: a topic with ${name} closes the connection and is not routed`, async () => {
      const before = seen.length;
      const c = new RawClient(t.port(), 4);
      c.send(CONNECT_V311);
      c.send(publishHex(topicHex, null));
      await c.closedWithin();
      assert.deepEqual(c.cmds(), ['connack']);
      await assertHealthy();
      assert.deepEqual(seen.slice(before).filter((topic) => topic !== 'probe/ok'), []);
    });
    test(`MQTT 5: a topic with ${name} gets DISCONNECT 0x81`, async () => {
      const c = new RawClient(t.port(), 5);
      c.send(CONNECT_V5);
      c.send(publishHex(topicHex, '00'));
      await c.closedWithin();
      assert.equal(c.disconnectCode(), 0x81);
    });
  }

  test('the issue\'s 3.1.1 reproduction (3006 0003 612fff 78) closes the connection', async () => {
    const c = new RawClient(t.port(), 4);
    c.send(CONNECT_V311);
    c.send('3006 0003 612fff 78');
    await c.closedWithin();
    await assertHealthy();
  });

  test('a client id of invalid UTF-8 is refused before CONNACK [MQTT-1.5.4-1]', async () => {
    const c = new RawClient(t.port(), 4);
    c.send('100e00044d5154540402001e000261ff');
    await c.closedWithin();
    assert.deepEqual(c.cmds(), [], 'no CONNACK 0');
    assert.ok(t.logs.lines.some((l) => l['msg'] === 'connection refused' && /malformed CONNECT/.test(String(l['reason']))));
  });

  test('a username of invalid UTF-8 is refused before CONNACK', async () => {
    // flags 0x82: username + clean; client id "u", username 0xC0 0x80 (overlong NUL)
    const c = new RawClient(t.port(), 4);
    c.send('101100044d5154540482001e0001750002c080');
    await c.closedWithin();
    assert.deepEqual(c.cmds(), []);
  });

  test('a CONNECT with trailing bytes is refused', async () => {
    const c = new RawClient(t.port(), 4);
    c.send('101100044d5154540402001e000372657034ffff');
    await c.closedWithin();
    assert.deepEqual(c.cmds(), []);
  });

  test('a v3.1.1 password without a username is refused [MQTT-3.1.2-22]', async () => {
    const c = new RawClient(t.port(), 4);
    c.send('101200044d5154540442001e0001700003707764');
    await c.closedWithin();
    assert.deepEqual(c.cmds(), []);
  });

  test('a will QoS of 3 is refused [MQTT-3.1.2-14]', async () => {
    const g = mqttPacket.generate({ cmd: 'connect', protocolVersion: 4, clientId: 'wq3', clean: true, keepalive: 30, will: { topic: 'w', payload: Buffer.from('x'), qos: 1, retain: false } });
    g[9] = g[9]! | 0x18; // both Will QoS bits
    const c = new RawClient(t.port(), 4);
    c.send(g.toString('hex'));
    await c.closedWithin();
    assert.deepEqual(c.cmds(), []);
  });
});

describe('wills with an invalid topic are refused at CONNECT, never published', () => {
  let t: TestNode;
  let watcher: MqttClient;
  const seen: string[] = [];

  before(async () => {
    t = await startTestNode();
    watcher = await connect(t.url(), { clientId: 'will-watch', protocolVersion: 5, reconnectPeriod: 0 });
    watcher.on('message', (topic) => seen.push(topic));
    await subscribe(watcher, '#', 0);
  });
  after(async () => {
    await endClient(watcher);
    await t.stop();
  });

  /** A CONNECT with a QoS 0 will, built by hand (mqtt-packet's generator refuses bad will topics). */
  function willConnect(version: 4 | 5, topic: string | Buffer, willProps?: Buffer): Buffer {
    const topicBytes = typeof topic === 'string' ? Buffer.from(topic, 'utf8') : topic;
    const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
    const props = version === 5 ? Buffer.from([0]) : Buffer.alloc(0);
    const body = Buffer.concat([
      str(Buffer.from('MQTT')),
      Buffer.from([version, 0x06, 0x00, 0x1e]), // Will Flag + Clean Start, keepalive 30
      props,
      str(Buffer.from(`w${version}`)),
      willProps ?? props, // Will Properties
      str(topicBytes),
      str(Buffer.from('gone')),
    ]);
    return Buffer.concat([Buffer.from([0x10, body.length]), body]);
  }

  for (const topic of ['', 'a/+', 'a/#', '#', '+/x']) {
    test(`MQTT 5: will topic ${JSON.stringify(topic)} → CONNACK 0x90 (Topic Name invalid)`, async () => {
      const c = new RawClient(t.port(), 5);
      c.send(willConnect(5, topic).toString('hex'));
      await c.closedWithin();
      assert.deepEqual(c.cmds(), ['connack']);
      assert.equal(c.connackCode(), 0x90);
      assert.ok(t.logs.lines.some((l) => l['msg'] === 'connection refused' && /invalid will topic/.test(String(l['reason']))));
    });
    test(`MQTT 3.1.1: will topic ${JSON.stringify(topic)} → closed without CONNACK`, async () => {
      const c = new RawClient(t.port(), 4);
      c.send(willConnect(4, topic).toString('hex'));
      await c.closedWithin();
      assert.deepEqual(c.cmds(), []);
    });
  }

  test('MQTT 5: a will whose Response Topic holds a wildcard → CONNACK 0x90 [MQTT-3.3.2-14]', async () => {
    const c = new RawClient(t.port(), 5);
    c.send(willConnect(5, 'w/ok', Buffer.from('06080003722f23', 'hex')).toString('hex'));
    await c.closedWithin();
    assert.equal(c.connackCode(), 0x90);
    assert.ok(t.logs.lines.some((l) => l['msg'] === 'connection refused' && /Response Topic: wildcard/.test(String(l['reason']))));
  });

  test('a will topic of invalid UTF-8 is refused as malformed', async () => {
    const c = new RawClient(t.port(), 4);
    c.send(willConnect(4, Buffer.from('61ff', 'hex')).toString('hex'));
    await c.closedWithin();
    assert.deepEqual(c.cmds(), []);
    assert.ok(t.logs.lines.some((l) => l['msg'] === 'connection refused' && /malformed CONNECT/.test(String(l['reason']))));
  });

  test('none of the refused wills was published', async () => {
    // A valid will still works, and is the only one the watcher ever sees.
    const c = new RawClient(t.port(), 4);
    c.send(willConnect(4, 'wills/ok').toString('hex'));
    await new Promise((r) => setTimeout(r, 100));
    const got = nextMessage(watcher, 'wills/ok');
    c.destroy();
    assert.equal((await got).payload.toString(), 'gone');
    assert.deepEqual(seen, ['wills/ok']);
  });
});

describe('topic filters: wildcards are whole levels [MQTT-4.7.1-1], [MQTT-4.7.1-2]', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => {
    await t.stop();
  });

  for (const filter of ['a#', 'a/+b', '+a', 'a/#/b', 'a/b#']) {
    test(`SUBSCRIBE to ${JSON.stringify(filter)} is not granted`, async () => {
      const client = await connect(t.url(), { clientId: `f-${filter.length}-${Date.now()}`, protocolVersion: 5, reconnectPeriod: 0 });
      let granted: number | undefined;
      let failed = false;
      await new Promise<void>((resolve) => {
        client.subscribe(filter, { qos: 0 }, (err, g) => {
          if (err) failed = true;
          granted = g?.[0]?.qos;
          resolve();
        });
        client.once('close', () => {
          failed = true;
          resolve();
        });
      });
      assert.ok(failed || (granted !== undefined && granted >= 0x80), `filter ${filter} must not be granted (got ${granted})`);
      client.end(true);
    });
  }

  for (const filter of ['a/+', '+', '#', 'a/#', '+/+/c', 'a//b']) {
    test(`SUBSCRIBE to ${JSON.stringify(filter)} is granted`, async () => {
      const client = await connect(t.url(), { clientId: `g-${filter.length}-${Date.now()}`, protocolVersion: 5, reconnectPeriod: 0 });
      const grants = await subscribe(client, filter, 1);
      assert.equal(grants[0]?.qos, 1);
      await endClient(client);
    });
  }
});
