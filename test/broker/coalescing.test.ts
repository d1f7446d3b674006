import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { startTestNode, connect, endClient, subscribe, type TestNode } from '../helpers/node.js';

/**
 * The outbound bound (src/broker/outbound.ts) corks a subscriber's stream for the turn in which
 * messages are delivered to it, so what aedes writes for them leaves in one write instead of
 * one per message; and whatever ends the connection sends what was held back first.
 */

/** Counts the writes the broker's side of `conn` hands to the kernel (net.Socket's _write / _writev). */
function countWrites(conn: Duplex): { readonly count: number } {
  const counter = { count: 0 };
  const socket = conn as Duplex & { _writev?: (...a: unknown[]) => unknown; _write: (...a: unknown[]) => unknown };
  const write = socket._write;
  socket._write = function (this: unknown, ...args: unknown[]) {
    counter.count += 1;
    return write.apply(this, args);
  };
  const writev = socket._writev;
  if (writev) {
    socket._writev = function (this: unknown, ...args: unknown[]) {
      counter.count += 1;
      return writev.apply(this, args);
    };
  }
  return counter;
}

/**
 * A raw MQTT 3.1.1 publisher whose `n` QoS 0 PUBLISHes leave in one write once its CONNACK came
 * (aedes holds at most 42 packets that arrive before the CONNECT is decided: NOTES.md).
 */
async function publishBurst(port: number, clientId: string, topic: string, n: number): Promise<net.Socket> {
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(i);
    frames.push(mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }));
  }
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 60 }));
  const connack = await new Promise<Buffer>((resolve, reject) => socket.once('data', resolve).once('error', reject));
  assert.deepEqual([...connack], [0x20, 2, 0, 0], 'CONNACK accepted');
  socket.write(Buffer.concat(frames));
  return socket;
}

/** aedes's connected clients by id (lib/aedes.js `clients`, not in its types): the broker's side of a connection. */
interface AedesClientView {
  conn: Duplex;
  close(): void;
}
function aedesClient(t: TestNode, clientId: string): AedesClientView {
  const client = (t.node.broker.aedes as unknown as { clients: Record<string, AedesClientView | undefined> }).clients[clientId];
  assert.ok(client, `aedes knows ${clientId}`);
  return client;
}

function collect(client: MqttClient, n: number): Promise<number[]> {
  const seen: number[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${n} messages arrived`)), 5000);
    client.on('message', (_topic, payload) => {
      seen.push(payload.readUInt32BE(0));
      if (seen.length === n) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe("a subscriber's deliveries of one turn leave together", () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => {
    await t.stop();
  });

  test('50 messages published in one packet burst reach a subscriber in a handful of writes, in order', async () => {
    const sub = await connect(t.url(), { clientId: 'burst-sub', protocolVersion: 4 });
    await subscribe(sub, 'burst/#', 0);
    const conn = aedesClient(t, 'burst-sub').conn;
    const writes = countWrites(conn);
    const arrived = collect(sub, 50);
    const pub = await publishBurst(t.port(), 'burst-pub', 'burst/a', 50);
    const seen = await arrived;
    // MQTT-4.6.0-6: a non-shared subscription keeps the publisher's order.
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i));
    // One write per message without the cork; a few when a burst spans turns.
    assert.ok(writes.count <= 5, `50 messages took ${writes.count} writes`);
    pub.destroy();
    await endClient(sub);
  });

  test('a DISCONNECT sent in the turn of a delivery arrives after the messages held back (MQTT 5.0, 0x98)', async () => {
    const sub = await connect(t.url(), { clientId: 'kick-sub', protocolVersion: 5 });
    await subscribe(sub, 'kick/#', 0);
    const disconnect = new Promise<number | undefined>((resolve) => sub.once('disconnect', (p) => resolve(p.reasonCode)));
    const arrived = collect(sub, 20);
    // aedes's 'publish' event comes when the last message's deliveries are done: the turn in
    // which the subscriber's stream is still corked. The kick goes out then.
    const aedes = t.node.broker.aedes;
    const onPublish = (packet: { topic: string; payload: Buffer | string }): void => {
      if (packet.topic === 'kick/a' && Buffer.from(packet.payload).readUInt32BE(0) === 19) {
        aedes.off('publish', onPublish);
        assert.equal(t.node.access.disconnectClient('kick-sub', 'administrative_action'), 1);
      }
    };
    aedes.on('publish', onPublish);
    const pub = await publishBurst(t.port(), 'kick-pub', 'kick/a', 20);
    assert.deepEqual(await arrived, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(await disconnect, 0x98);
    pub.destroy();
    sub.end(true);
  });

  test('closing a client uncorks its stream before aedes destroys it', async () => {
    const sub = await connect(t.url(), { clientId: 'close-sub', protocolVersion: 4 });
    await subscribe(sub, 'close/#', 0);
    const closed = new Promise<void>((resolve) => sub.once('close', () => resolve()));
    const arrived = collect(sub, 5);
    const aedes = t.node.broker.aedes;
    let corkedBefore = -1;
    let corkedAfter = -1;
    const onPublish = (packet: { topic: string; payload: Buffer | string }): void => {
      if (packet.topic === 'close/a' && Buffer.from(packet.payload).readUInt32BE(0) === 4) {
        aedes.off('publish', onPublish);
        const client = aedesClient(t, 'close-sub');
        const conn = client.conn;
        corkedBefore = conn.writableCorked;
        client.close();
        corkedAfter = conn.writableCorked;
      }
    };
    aedes.on('publish', onPublish);
    const pub = await publishBurst(t.port(), 'close-pub', 'close/a', 5);
    assert.deepEqual(await arrived, [0, 1, 2, 3, 4]);
    await closed;
    assert.equal(corkedBefore, 1, 'the stream was corked when the client was closed');
    assert.equal(corkedAfter, 0, 'close() uncorked it at once');
    pub.destroy();
  });
});
