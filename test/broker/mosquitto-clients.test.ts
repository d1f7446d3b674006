import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../helpers/process.js';
import { startTestNode, connect, endClient, nextMessage, subscribe, publish, type TestNode } from '../helpers/node.js';

describe('independent clients: mosquitto_pub / mosquitto_sub', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(`
      authentication = [{ mechanism = password_based, backend = built_in_database }]
    `);
    await t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!.add({ user_id: 'mosq', password: 'mosq-pass' });
  });
  after(async () => {
    await t.stop();
  });

  for (const version of ['mqttv311', 'mqttv5'] as const) {
    test(`${version}: mosquitto_sub receives what mosquitto_pub sends, at QoS 0, 1 and 2`, async () => {
      for (const qos of ['0', '1', '2']) {
        const topic = `mosq/${version}/${qos}`;
        const common = ['-h', '127.0.0.1', '-p', String(t.port()), '-V', version, '-u', 'mosq', '-P', 'mosq-pass', '-q', qos];
        // Publish only once the broker has taken the subscription.
        const subscribed = new Promise<void>((resolve) => {
          const onSubscribe = (subs: Array<{ topic: string }>) => {
            if (!subs.some((s) => s.topic === topic)) return;
            t.node.broker.aedes.off('subscribe', onSubscribe);
            resolve();
          };
          t.node.broker.aedes.on('subscribe', onSubscribe);
        });
        const sub = run('mosquitto_sub', [...common, '-t', topic, '-C', '1', '-W', '6', '-i', `sub-${version}-${qos}`]);
        await subscribed;
        const pub = await run('mosquitto_pub', [...common, '-t', topic, '-m', `hello ${qos}`, '-i', `pub-${version}-${qos}`]);
        assert.equal(pub.code, 0, pub.stderr);
        const got = await sub;
        assert.equal(got.code, 0, got.stderr);
        assert.equal(got.stdout.trim(), `hello ${qos}`);
      }
    });

    test(`${version}: a wrong password is refused with the right CONNACK`, async () => {
      const r = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(t.port()), '-V', version, '-u', 'mosq', '-P', 'nope', '-t', 'x', '-m', 'y']);
      assert.notEqual(r.code, 0);
      // mosquitto prints the CONNACK reason.
      assert.match(r.stderr, version === 'mqttv5' ? /Bad user name or password/i : /not authori[sz]ed|bad user name or password|Connection Refused/i);
    });

    test(`${version}: mosquitto_pub retained message reaches an mqtt.js subscriber`, async () => {
      const topic = `mosq/retained/${version}`;
      const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(t.port()), '-V', version, '-u', 'mosq', '-P', 'mosq-pass', '-t', topic, '-m', 'stay', '-r', '-q', '1']);
      assert.equal(pub.code, 0, pub.stderr);
      const c = await connect(t.url('ws:default'), { protocolVersion: 5, username: 'mosq', password: 'mosq-pass' });
      const got = nextMessage(c, topic);
      await subscribe(c, topic, 1);
      assert.equal((await got).payload.toString(), 'stay');
      await publish(c, topic, '', { retain: true, qos: 1 });
      await endClient(c);
    });
  }
});
