import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { AedesPublishPacket } from 'aedes';
import { RetainedIndex } from '../../src/broker/retained.js';
import { GatehousePersistence } from '../../src/broker/persistence.js';
import { startTestNode, connect, endClient, publish, type TestNode } from '../helpers/node.js';
import { prng } from '../helpers/prng.js';

/** An independent reading of the MQTT matching rules, level by level, for comparison. */
function bruteMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match `$` topics.
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // the parent level and any below [MQTT-4.7.1-2]
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const WORDS = ['a', 'b', 'c', '', '$SYS', '$x', 'a$'];

function randomTopic(rnd: () => number): string {
  const levels = 1 + Math.floor(rnd() * 4);
  const words: string[] = [];
  for (let i = 0; i < levels; i++) words.push(WORDS[Math.floor(rnd() * WORDS.length)]!);
  return words.join('/');
}

function randomFilter(rnd: () => number): string {
  const levels = 1 + Math.floor(rnd() * 4);
  const words: string[] = [];
  for (let i = 0; i < levels; i++) {
    const r = rnd();
    words.push(r < 0.3 ? '+' : WORDS[Math.floor(rnd() * WORDS.length)]!);
  }
  if (rnd() < 0.35) words[words.length - 1] = '#';
  return words.join('/');
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe('RetainedIndex (topic trie) against a brute-force matcher', () => {
  test('the MQTT rules, case by case', () => {
    const index = new RetainedIndex<string>();
    for (const t of ['a', 'a/b', 'a/b/c', 'a//b', '/a', 'a/', '$SYS/x', '$SYS', '$x/a', 'b/$y']) index.set(t, t);
    const m = (filter: string) => sorted(index.match(filter));
    assert.deepEqual(m('a/#'), ['a', 'a/', 'a//b', 'a/b', 'a/b/c'], '# matches the parent level [MQTT-4.7.1-2]');
    assert.deepEqual(m('#'), ['/a', 'a', 'a/', 'a//b', 'a/b', 'a/b/c', 'b/$y'], '# skips $ topics [MQTT-4.7.2-1]');
    assert.deepEqual(m('+'), ['a'], '+ skips $ topics [MQTT-4.7.2-1]');
    assert.deepEqual(m('+/a'), ['/a'], '$x/a is left out [MQTT-4.7.2-1]');
    assert.deepEqual(m('+/#'), m('#'));
    assert.deepEqual(m('$SYS/#'), ['$SYS', '$SYS/x']);
    assert.deepEqual(m('$x/+'), ['$x/a']);
    assert.deepEqual(m('b/+'), ['b/$y'], '$ only matters on the first level');
    assert.deepEqual(m('a/+/b'), ['a//b'], 'an empty level is a level');
    assert.deepEqual(m('a/+'), ['a/', 'a/b']);
    assert.deepEqual(m('a//b'), ['a//b']);
    assert.deepEqual(m('a/b'), ['a/b']);
    assert.deepEqual(m('a/b/c/d'), []);
    assert.deepEqual(m('a/b/c/#'), ['a/b/c']);
    assert.deepEqual(m('nothing/#'), []);
    assert.equal(index.get('a//b'), 'a//b');
    assert.equal(index.get('a/+'), undefined, 'get() is literal');
    assert.equal(index.size, 10);
  });

  test('randomised (seed 12): sets, replacements and deletions match a Map scanned with the brute-force matcher', () => {
    const rnd = prng(12);
    const index = new RetainedIndex<string>();
    const model = new Map<string, string>();
    for (let round = 0; round < 40; round++) {
      for (let op = 0; op < 60; op++) {
        const topic = randomTopic(rnd);
        if (rnd() < 0.35) {
          assert.equal(index.delete(topic), model.delete(topic), `delete ${topic}`);
        } else {
          const value = `${topic}@${round}.${op}`;
          index.set(topic, value);
          model.set(topic, value);
        }
      }
      assert.equal(index.size, model.size);
      for (let q = 0; q < 40; q++) {
        const filter = randomFilter(rnd);
        const expected = sorted([...model].filter(([t]) => bruteMatches(filter, t)).map(([, v]) => v));
        assert.deepEqual(sorted(index.match(filter)), expected, `filter ${JSON.stringify(filter)}`);
      }
      for (const topic of model.keys()) assert.deepEqual([...index.match(topic)], [model.get(topic)], `literal ${topic}`);
    }
  });

  test('deleting everything prunes every branch (a later # walks nothing)', () => {
    const rnd = prng(7);
    const index = new RetainedIndex<string>();
    const topics = new Set<string>();
    for (let i = 0; i < 500; i++) topics.add(randomTopic(rnd));
    for (const t of topics) index.set(t, t);
    for (const t of topics) assert.equal(index.delete(t), true);
    assert.equal(index.size, 0);
    assert.equal((index as unknown as { root: { children?: Map<string, unknown> } }).root.children, undefined);
    assert.equal(index.delete('a'), false);
  });

  test('a wide store: a literal and a narrow wildcard filter find only their matches', () => {
    const index = new RetainedIndex<number>();
    for (let i = 0; i < 20_000; i++) index.set(`fleet/${i % 100}/dev-${i}/state`, i);
    assert.deepEqual([...index.match('fleet/7/dev-1207/state')], [1207]);
    assert.equal([...index.match('fleet/7/+/state')].length, 200);
    assert.equal([...index.match('fleet/#')].length, 20_000);
    assert.deepEqual([...index.match('fleet/7/dev-1208/state')], []);
  });
});

function packet(topic: string, payload: string): AedesPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: true, dup: false, brokerId: 'test', brokerCounter: 1 };
}

async function drain(stream: AsyncIterable<unknown>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of stream) out.push(`${(p as AedesPublishPacket).topic}=${String((p as AedesPublishPacket).payload)}`);
  return out;
}

describe('GatehousePersistence (retained side of the aedes persistence contract)', () => {
  test('stores a copy, replaces, deletes on an empty payload [MQTT-3.3.1-6/7], streams per filter', async () => {
    const p = new GatehousePersistence();
    const first = packet('s/a', 'one');
    await p.storeRetained(first);
    first.topic = 'changed';
    await p.storeRetained(packet('s/b', 'two'));
    await p.storeRetained(packet('s/a', 'three'));
    assert.deepEqual(await drain(p.createRetainedStream('s/a')), ['s/a=three']);
    assert.deepEqual(sorted(await drain(p.createRetainedStream('s/+'))), ['s/a=three', 's/b=two']);
    assert.deepEqual(await drain(p.createRetainedStreamCombi(['s/b', 's/#'])).then((l) => [l[0], ...sorted(l.slice(1))]), [
      's/b=two',
      's/a=three',
      's/b=two',
    ]);
    await p.storeRetained(packet('s/a', ''));
    assert.deepEqual(await drain(p.createRetainedStream('s/#')), ['s/b=two']);
    assert.equal(p.retained.size, 1);
    await p.destroy();
  });
});

const VERSIONS: Array<{ name: string; tag: string; opts: IClientOptions }> = [
  { name: 'MQTT 3.1.1', tag: 'v4', opts: { protocolVersion: 4 } },
  { name: 'MQTT 5.0', tag: 'v5', opts: { protocolVersion: 5 } },
];

/**
 * Subscribes to `filter` and a sentinel filter in one SUBSCRIBE: the broker replays
 * per filter in order on one stream, so the sentinel's retained message marks the end
 * of `filter`'s replay and the set received before it is exact (no waiting on time).
 */
function retainedFor(client: MqttClient, filter: string, sentinel: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const onMessage = (topic: string, payload: Buffer, p: { retain?: boolean }) => {
      if (topic === sentinel) {
        client.off('message', onMessage);
        resolve(got.sort());
        return;
      }
      assert.equal(p.retain, true, `${topic} arrives with the retain flag`);
      got.push(`${topic}=${payload.toString()}`);
    };
    client.on('message', onMessage);
    client.subscribe({ [filter]: { qos: 1 }, [sentinel]: { qos: 1 } }, (err) => {
      if (err) reject(err);
    });
  });
}

describe('retained messages over real sockets', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => {
    await t.stop();
  });

  for (const { name, tag, opts } of VERSIONS) {
    test(`${name}: literal and wildcard replay, replacement, deletion by an empty payload`, async () => {
      const P = `rt/${tag}`;
      const sentinel = `rt-end/${tag}`;
      const pub = await connect(t.url(), { ...opts, clientId: `rt-pub-${tag}` });
      const retain = (topic: string, payload: string) => publish(pub, topic, payload, { qos: 1, retain: true });
      await retain(sentinel, 'end');
      for (const [topic, payload] of [
        [`${P}/a`, 'parent'],
        [`${P}/a/b`, '1'],
        [`${P}/a/c`, '2'],
        [`${P}/a//b`, 'empty-level'],
        [`${P}/x/b`, '3'],
        [`$${tag}/a`, 'dollar'],
      ] as const) {
        await retain(topic, payload);
      }
      await publish(pub, `${P}/a/d`, 'not retained', { qos: 1 });

      let n = 0;
      const fresh = () => connect(t.url(), { ...opts, clientId: `rt-sub-${tag}-${n++}` });
      const check = async (filter: string, expected: string[]) => {
        const sub = await fresh();
        assert.deepEqual(await retainedFor(sub, filter, sentinel), [...expected].sort(), `${name} ${filter}`);
        await endClient(sub);
      };
      await check(`${P}/a/b`, [`${P}/a/b=1`]);
      await check(`${P}/a/z`, []);
      await check(`${P}/+/b`, [`${P}/x/b=3`, `${P}/a/b=1`]);
      await check(`${P}/a/+`, [`${P}/a/b=1`, `${P}/a/c=2`]);
      await check(`${P}/a/#`, [`${P}/a=parent`, `${P}/a/b=1`, `${P}/a/c=2`, `${P}/a//b=empty-level`]);
      await check(`${P}/a/+/b`, [`${P}/a//b=empty-level`]);
      await check(`+/a`, []);
      await check(`$${tag}/+`, [`$${tag}/a=dollar`]);

      await retain(`${P}/a/b`, 'replaced');
      await retain(`${P}/a/c`, '');
      await check(`${P}/a/#`, [`${P}/a=parent`, `${P}/a/b=replaced`, `${P}/a//b=empty-level`]);
      await check(`${P}/a/c`, []);
      await endClient(pub);
    });
  }

  test('the node runs on the indexed persistence', () => {
    assert.ok((t.node.broker.aedes as unknown as { persistence: unknown }).persistence instanceof GatehousePersistence);
  });
});
