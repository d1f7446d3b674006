import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { ADMISSION_BUDGET_MS, AdmissionPacer } from '../../src/access/pacer.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/** Resolves after `n` turns of the event loop (check phases). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** A pacer on a clock the test moves: each admission below costs 1 ms of it. */
function pacerWithClock(budgetMs: number): { pacer: AdmissionPacer; spend: (ms: number) => void } {
  let clock = 1000;
  return { pacer: new AdmissionPacer({ budgetMs, now: () => clock }), spend: (ms) => (clock += ms) };
}

describe('AdmissionPacer: a burst of admissions shares the event loop with connected clients', () => {
  test('admissions start while the turn\'s budget lasts; the rest run in the following turns, a budget each, in order', async () => {
    const { pacer, spend } = pacerWithClock(4);
    const order: number[] = [];
    const admission = (i: number) => () => {
      order.push(i);
      spend(1);
    };
    for (let i = 0; i < 10; i++) {
      if (pacer.startNow()) admission(i)();
      else pacer.later('10.0.0.1', admission(i));
    }
    assert.deepEqual(order, [0, 1, 2, 3], 'four 1 ms admissions fill a 4 ms budget');
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
    const { pacer, spend } = pacerWithClock(2);
    const order: string[] = [];
    const admit = (source: string, name: string) => {
      const run = () => {
        order.push(name);
        spend(1);
      };
      if (pacer.startNow()) run();
      else pacer.later(source, run);
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

  test('without a burst nothing waits: one admission per turn always starts at once, however long it takes', async () => {
    const { pacer, spend } = pacerWithClock(1);
    for (let i = 0; i < 20; i++) {
      assert.equal(pacer.startNow(), true, `admission ${i}`);
      spend(5); // over the budget on its own
      await turns(2); // the turn that started it ends, the next one starts fresh
    }
    assert.equal(pacer.waiting, 0);
  });

  test('refuses a budget that is not a positive number of milliseconds', () => {
    for (const budgetMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => new AdmissionPacer({ budgetMs }), RangeError);
    assert.ok(ADMISSION_BUDGET_MS > 0);
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

  test('300 CONNECTs from 127.0.0.3 read in one turn are all admitted; one from 127.0.0.2 read after them is answered before most of them', async () => {
    const port = t.port();
    const storm = await Promise.all(Array.from({ length: 300 }, () => socketFrom(port, '127.0.0.3')));
    const probe = await socketFrom(port, '127.0.0.2');
    // Node accepts one connection per turn of its loop: wait until the broker holds all 301, so
    // that the CONNECTs below are waiting together when it next reads (a burst in one turn).
    const listening = () => t.node.listeners.list().find((l) => l.id === 'tcp:default')?.current_connections ?? 0;
    for (const until = Date.now() + 10_000; listening() < 301 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
    assert.equal(listening(), 301, 'every connection accepted before the burst');
    let answered = 0;
    const codes = storm.map((s, i) => connack(s, `burst-${i}`, () => answered++));
    let answeredBeforeProbe = -1;
    const probeCode = connack(probe, 'probe', () => (answeredBeforeProbe = answered));
    assert.equal(await probeCode, 0);
    assert.deepEqual(await Promise.all(codes), Array(300).fill(0));
    // Admitted as read (all in one turn), the probe would be answered after all 300; with a
    // 0.5 ms budget per turn and the waiting taken round robin by address, it is answered in the
    // second turn, after the first turn's share of the burst (tens of tens-of-µs admissions).
    assert.ok(answeredBeforeProbe >= 0 && answeredBeforeProbe < 150, `${answeredBeforeProbe} of the burst answered before the probe`);
  });
});
