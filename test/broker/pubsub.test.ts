import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type IClientOptions } from 'mqtt';
import { startTestNode, connect, endClient, nextMessage, subscribe, publish, type TestNode } from '../helpers/node.js';

const VERSIONS: Array<{ name: string; opts: IClientOptions }> = [
  { name: 'MQTT 3.1', opts: { protocolVersion: 3, protocolId: 'MQIsdp' } },
  { name: 'MQTT 3.1.1', opts: { protocolVersion: 4 } },
  { name: 'MQTT 5.0', opts: { protocolVersion: 5 } },
];

describe('publish/subscribe through real sockets', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => {
    await t.stop();
  });

  for (const listener of ['tcp:default', 'ws:default']) {
    for (const { name, opts } of VERSIONS) {
      for (const qos of [0, 1, 2] as const) {
        test(`${name} over ${listener}, QoS ${qos}`, async () => {
          const topic = `pubsub/${listener}/${name}/${qos}`.replace(/[ :.]/g, '_');
          const sub = await connect(t.url(listener), { ...opts, clientId: `sub-${topic}` });
          const pub = await connect(t.url(listener), { ...opts, clientId: `pub-${topic}` });
          const granted = await subscribe(sub, topic, qos);
          assert.equal(granted[0]?.qos, qos);
          const got = nextMessage(sub, topic);
          const payload = Buffer.from([0, 1, 2, 255, 0x80, qos]);
          await publish(pub, topic, payload, { qos });
          const msg = await got;
          assert.deepEqual(msg.payload, payload);
          assert.equal(msg.packet.qos, qos);
          await Promise.all([endClient(sub), endClient(pub)]);
        });
      }
    }
  }

  test('MQTT 3.1.1 and 5.0 clients exchange messages across tcp and ws', async () => {
    const v5 = await connect(t.url('ws:default'), { protocolVersion: 5, clientId: 'x-v5' });
    const v4 = await connect(t.url('tcp:default'), { protocolVersion: 4, clientId: 'x-v4' });
    await subscribe(v4, 'cross/+', 1);
    const got = nextMessage(v4, 'cross/a');
    await publish(v5, 'cross/a', 'hello', { qos: 1 });
    assert.equal((await got).payload.toString(), 'hello');
    await Promise.all([endClient(v5), endClient(v4)]);
  });

  test('a client may not publish to $SYS/ (refused, logged, not delivered)', async () => {
    const watcher = await connect(t.url(), { clientId: 'sys-watch' });
    let leaked = 0;
    watcher.on('message', (topic) => {
      if (topic === '$SYS/fake') leaked++;
    });
    await subscribe(watcher, '$SYS/#');
    const v5 = await connect(t.url(), { protocolVersion: 5, clientId: 'sys-pub' });
    const reason = await new Promise<number | undefined>((resolve) =>
      v5.publish('$SYS/fake', 'x', { qos: 1 }, (err, packet) => resolve((packet as { reasonCode?: number } | undefined)?.reasonCode ?? (err ? 0x87 : 0))),
    );
    assert.equal(reason, 0x87);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(leaked, 0);
    assert.ok(t.logs.find('authorization denied', { topic: '$SYS/fake', clientid: 'sys-pub' }));
    await Promise.all([endClient(watcher), endClient(v5)]);
  });

  test('retained message is delivered to a later subscriber and can be cleared', async () => {
    const pub = await connect(t.url(), { clientId: 'retain-pub' });
    await publish(pub, 'retain/1', 'kept', { qos: 1, retain: true });
    const sub = await connect(t.url('ws:default'), { clientId: 'retain-sub', protocolVersion: 5 });
    const got = nextMessage(sub, 'retain/1');
    await subscribe(sub, 'retain/#', 1);
    const msg = await got;
    assert.equal(msg.payload.toString(), 'kept');
    assert.equal(msg.packet.retain, true);
    await publish(pub, 'retain/1', '', { qos: 1, retain: true });
    await endClient(sub);
    const late = await connect(t.url(), { clientId: 'retain-late' });
    let received = 0;
    late.on('message', () => received++);
    await subscribe(late, 'retain/#', 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received, 0, 'a cleared retained message is not delivered');
    await Promise.all([endClient(pub), endClient(late)]);
  });

  for (const { name, opts } of VERSIONS) {
    test(`${name} will is published when the client drops`, async () => {
      const watcher = await connect(t.url(), { clientId: `will-watch-${opts.protocolVersion}` });
      const topic = `will/${opts.protocolVersion}`;
      await subscribe(watcher, topic, 1);
      const got = nextMessage(watcher, topic);
      const dying = await connect(t.url(), {
        ...opts,
        clientId: `will-${opts.protocolVersion}`,
        will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false },
      });
      // Drop the socket without DISCONNECT.
      (dying as unknown as { stream: { destroy(): void } }).stream.destroy();
      assert.equal((await got).payload.toString(), 'gone');
      dying.end(true);
      await endClient(watcher);
    });
  }

  for (const { name, opts } of VERSIONS.slice(1)) {
    test(`${name} persistent session: QoS 1 messages queued while offline are delivered on resume`, async () => {
      const id = `persist-${opts.protocolVersion}`;
      const topic = `persist/${opts.protocolVersion}`;
      const sessionOpts: IClientOptions =
        opts.protocolVersion === 5 ? { ...opts, clean: false, properties: { sessionExpiryInterval: 300 } } : { ...opts, clean: false };
      const first = await connect(t.url(), { ...sessionOpts, clientId: id });
      await subscribe(first, topic, 1);
      await endClient(first);
      const pub = await connect(t.url('ws:default'), { clientId: `${id}-pub` });
      await publish(pub, topic, 'while-away', { qos: 1 });
      const resumed = mqtt.connect(t.url(), { ...sessionOpts, clientId: id, reconnectPeriod: 0 });
      const got = nextMessage(resumed, topic);
      const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
        resumed.once('connect', resolve);
        resumed.once('error', reject);
      });
      assert.equal(connack.sessionPresent, true);
      assert.equal((await got).payload.toString(), 'while-away');
      await Promise.all([endClient(resumed), endClient(pub)]);
    });
  }
});
