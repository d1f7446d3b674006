import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import bcrypt from 'bcrypt';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { hashConcurrencyStats, hashPassword } from '../../src/authn/password/index.js';

const CHAIN = `
authentication = [{ mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = bcrypt } }]
authentication_settings.hash_queue { per_address = 32, total = 1000 }
`;

/**
 * `count` TCP connections from `localAddress`, opened first; `fire()` then sends each a 3.1.1
 * CONNECT with a wrong password at once and resolves with their CONNACK return codes.
 */
async function stormFrom(port: number, localAddress: string, count: number): Promise<{ fire(): Promise<number[]> }> {
  const sockets = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    })),
  );
  return {
    fire: () =>
      Promise.all(
        sockets.map(
          (socket, i) =>
            new Promise<number>((resolve, reject) => {
              socket.once('data', (d) => {
                socket.destroy();
                if (d[0] === 0x20) resolve(d[3]!);
                else reject(new Error(`not a CONNACK: ${d.toString('hex')}`));
              });
              socket.once('close', () => reject(new Error('closed before CONNACK')));
              socket.write(mqttPacket.generate({ cmd: 'connect', clientId: `storm-${i}`, protocolVersion: 4, clean: true, keepalive: 30, username: 'device', password: Buffer.from('wrong') }));
            }),
        ),
      ),
  };
}

/** A real mqtt.js client whose socket is bound to `localAddress`; resolves with the CONNACK code. */
function clientConnect(port: number, localAddress: string, options: mqtt.IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = new mqtt.MqttClient(() => net.createConnection({ host: '127.0.0.1', port, localAddress }), {
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...options,
    });
    client.once('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.once('error', (err) => {
      client.end(true);
      const code = (err as { code?: number }).code;
      if (typeof code === 'number') resolve(code);
      else reject(err);
    });
  });
}

describe('a bcrypt login storm from one address costs that address, not the fleet (issue 15)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(CHAIN);
    t.node.store.users.insert('mqtt:global', { user_id: 'device', ...(await hashPassword({ name: 'bcrypt' }, 'right-secret')), is_superuser: false });
  });
  after(() => t.stop());

  test('500 wrong logins from 127.0.0.3; a correct login from 127.0.0.2 started 0.2 s in succeeds, served before the queued storm logins', async () => {
    const port = t.port();
    const refusedBefore = hashConcurrencyStats().refused.source;
    // Connections first, so that what is measured is the storm's CONNECTs and hashing, not 500 accepts.
    const storm = (await stormFrom(port, '127.0.0.3', 500)).fire();
    // 0.2 s into the storm, or once its CONNECTs have reached the hashing queue if this (shared,
    // often oversubscribed) machine takes longer to read 500 CONNECTs: what is measured is
    // whether a login waits behind another address's hashing, not how fast CONNECTs are read.
    await new Promise((r) => setTimeout(r, 200));
    for (const until = Date.now() + 10_000; hashConcurrencyStats().refused.source - refusedBefore < 400 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(hashConcurrencyStats().queued >= 30, 'the storm fills its address\'s queue');
    const started = performance.now();
    const code = await clientConnect(port, '127.0.0.2', { protocolVersion: 4, clientId: 'good-device', username: 'device', password: 'right-secret' });
    const took = performance.now() - started;
    // It did not wait behind the storm's queue: that queue still held the storm's logins.
    const stormStillQueued = hashConcurrencyStats().queued;
    const codes = await storm;
    assert.equal(code, 0);
    assert.ok(stormStillQueued > 0, 'the correct login was served while storm logins still waited');
    // A FIFO queue makes it wait for all ~400 queued storm hashes (tens of seconds of bcrypt-10);
    // fair scheduling bounds it by a few hashes. The hashing threads run at nice 10, so on a test
    // machine busy with other suites a hash can take several times its quiet length: 8 s still
    // tells a few hashes from 400. The < 1 s figure of issue 15 is measured quietly by bench/
    // (bcrypt-storm-fair-login).
    assert.ok(took < 8000, `the correct login took ${took.toFixed(0)} ms`);
    // MQTT 3.1.1: 4 = bad user name or password (hashed and wrong), 3 = server unavailable (busy,
    // not hashed), 5 = not authorized (a storm login that waited past authentication_settings.timeout).
    const hashed = codes.filter((c) => c === 4).length;
    const busy = codes.filter((c) => c === 3).length;
    const late = codes.filter((c) => c === 5).length;
    assert.equal(hashed + busy + late, 500, `only 3, 4 and 5 expected: ${[...new Set(codes)].join(',')}`);
    assert.ok(hashed >= 32, `the address's share was hashed (${hashed})`);
    assert.ok(busy >= 300, `most of the storm was refused at once (${busy})`);
    assert.ok(hashConcurrencyStats().refused.source - refusedBefore >= busy, 'refusals are counted');
  });
});

describe('past its address\'s share of the hashing queue, a login is refused at once: 0x89 Server Busy (MQTT 5), 3 (3.1.1)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(`${CHAIN}\nauthentication_settings { hash_concurrency = 1, hash_queue { per_address = 1, total = 1000 } }`);
    // A slow hash (cost 12), so the first login is still hashing when the third arrives.
    const crypt = await bcrypt.hash('right-secret', 12);
    t.node.store.users.insert('mqtt:global', { user_id: 'device', password_hash: crypt, salt: crypt, is_superuser: false });
  });
  after(() => t.stop());

  test('one hashing, one waiting, the next from the same address refused unhashed; another address still waits its turn', async () => {
    const port = t.port();
    const login = (from: string, protocolVersion: 4 | 5, password: string, clientId: string) =>
      clientConnect(port, from, { protocolVersion, clientId, username: 'device', password });
    const hashing = login('127.0.0.3', 4, 'wrong', 'first');
    while (hashConcurrencyStats().active === 0) await new Promise((r) => setTimeout(r, 5));
    const waiting = login('127.0.0.3', 4, 'wrong', 'second');
    while (hashConcurrencyStats().queued === 0) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    assert.equal(await login('127.0.0.3', 5, 'wrong', 'third-v5'), 0x89);
    assert.equal(await login('127.0.0.3', 4, 'wrong', 'fourth-v3'), 3);
    assert.ok(hashConcurrencyStats().active === 1 && hashConcurrencyStats().queued === 1, 'refused while the first still hashed: no hash of their own');
    const refusedAt = performance.now() - started;
    assert.equal(await login('127.0.0.2', 5, 'right-secret', 'other-address'), 0, 'another address is not refused: it queues');
    assert.deepEqual(await Promise.all([hashing, waiting]), [0x04, 0x04]);
    assert.ok(refusedAt < 2000, `refusals took ${refusedAt.toFixed(0)} ms`);
    const line = t.logs.find('connection refused', { clientid: 'third-v5' });
    assert.equal(line?.['reason'], 'server_busy');
  });
});
