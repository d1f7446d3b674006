import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { ADMISSIONS_PER_TURN, AdmissionPacer } from '../../src/access/pacer.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/** Resolves after `n` turns of the event loop (check phases). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('AdmissionPacer: a burst of admissions shares the event loop with connected clients', () => {
  test('at most perTurn admissions start in a turn; the rest run perTurn per following turn, in order', async () => {
    const pacer = new AdmissionPacer(4);
    const order: number[] = [];
    for (let i = 0; i < 10; i++) {
      if (pacer.startNow()) order.push(i);
      else pacer.later('10.0.0.1', () => order.push(i));
    }
    assert.deepEqual(order, [0, 1, 2, 3]);
    assert.equal(pacer.waiting, 6);
    const afterEachTurn: number[][] = [];
    for (let t = 0; t < 3; t++) {
      await turns(1);
      afterEachTurn.push([...order]);
    }
    assert.deepEqual(afterEachTurn, [
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    ]);
    assert.equal(pacer.waiting, 0);
  });

  test('while admissions wait, a new one waits behind them; another address is served in the next turn', async () => {
    const pacer = new AdmissionPacer(2);
    const order: string[] = [];
    const admit = (source: string, name: string) => {
      if (pacer.startNow()) order.push(name);
      else pacer.later(source, () => order.push(name));
    };
    for (let i = 0; i < 8; i++) admit('127.0.0.3', `storm${i}`);
    admit('127.0.0.2', 'probe');
    assert.deepEqual(order, ['storm0', 'storm1']);
    await turns(1);
    // Round robin by address: the probe is the second served, not the seventh.
    assert.deepEqual(order, ['storm0', 'storm1', 'storm2', 'probe']);
    await turns(3);
    assert.equal(order.length, 9);
  });

  test('without a burst nothing waits: one admission per turn always starts at once', async () => {
    const pacer = new AdmissionPacer(1);
    for (let i = 0; i < 20; i++) {
      assert.equal(pacer.startNow(), true, `admission ${i}`);
      await turns(2); // the turn that counted it ends, the next one starts fresh
    }
    assert.equal(pacer.waiting, 0);
  });

  test('refuses a share that is not a positive integer', () => {
    assert.throws(() => new AdmissionPacer(0), RangeError);
    assert.throws(() => new AdmissionPacer(1.5), RangeError);
    assert.ok(ADMISSIONS_PER_TURN >= 1);
  });
});

/** A TCP connection from `localAddress`, connected. */
function socketFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends a 3.1.1 CONNECT on `socket`; resolves with the CONNACK return code. */
function connack(socket: net.Socket, clientId: string, onConnack: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => {
      onConnack();
      socket.destroy();
      if (d[0] === 0x20) resolve(d[3]!);
      else reject(new Error(`not a CONNACK: ${d.toString('hex')}`));
    });
    socket.once('close', () => reject(new Error(`${clientId} closed before CONNACK`)));
    socket.write(mqttPacket.generate({ cmd: 'connect', clientId, protocolVersion: 4, clean: true, keepalive: 30 }));
  });
}

describe('admission pacing on a node: a CONNECT burst from one address', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(''); // anonymous access: admission is all synchronous work
  });
  after(() => t.stop());

  test('200 CONNECTs from 127.0.0.3 read in one turn are all admitted; one from 127.0.0.2 read after them is answered before most of them', async () => {
    const port = t.port();
    const storm = await Promise.all(Array.from({ length: 200 }, () => socketFrom(port, '127.0.0.3')));
    const probe = await socketFrom(port, '127.0.0.2');
    // Node accepts one connection per turn of its loop: wait until the broker holds all 201, so
    // that the CONNECTs below are waiting together when it next reads (a burst in one turn).
    const listening = () => t.node.listeners.list().find((l) => l.id === 'tcp:default')?.current_connections ?? 0;
    for (const until = Date.now() + 10_000; listening() < 201 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
    assert.equal(listening(), 201, 'every connection accepted before the burst');
    let answered = 0;
    const codes = storm.map((s, i) => connack(s, `burst-${i}`, () => answered++));
    let answeredBeforeProbe = -1;
    const probeCode = connack(probe, 'probe', () => (answeredBeforeProbe = answered));
    assert.equal(await probeCode, 0);
    assert.deepEqual(await Promise.all(codes), Array(200).fill(0));
    // Admitted as read (all in one turn), the probe would be answered after all 200; taken a
    // few per turn, round robin by address, it is answered within the first turns.
    assert.ok(answeredBeforeProbe >= 0 && answeredBeforeProbe < 50, `${answeredBeforeProbe} of the burst answered before the probe`);
  });
});
