import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FairQueue } from '../../src/scheduling/fair-queue.js';

describe('FairQueue: first in first out per source, sources served round robin', () => {
  test('a flood from one source does not hold up the others', () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 5; i++) q.push('flood', `f${i}`);
    q.push('b', 'b0');
    q.push('c', 'c0');
    q.push('b', 'b1');
    assert.equal(q.length, 8);
    assert.equal(q.sources, 3);
    assert.equal(q.lengthOf('flood'), 5);
    const order: string[] = [];
    for (let item = q.shift(); item !== undefined; item = q.shift()) order.push(item);
    assert.deepEqual(order, ['f0', 'b0', 'c0', 'f1', 'b1', 'f2', 'f3', 'f4']);
    assert.equal(q.length, 0);
    assert.equal(q.sources, 0);
    assert.equal(q.shift(), undefined);
  });

  test('a source that empties leaves the line and rejoins at its end', () => {
    const q = new FairQueue<number>();
    q.push('a', 1);
    q.push('b', 2);
    assert.equal(q.shift(), 1); // a served and gone
    q.push('a', 3); // a comes back behind b
    assert.equal(q.shift(), 2);
    assert.equal(q.shift(), 3);
  });

  test('remove takes out a waiting item only once, and forgets an emptied source', () => {
    const q = new FairQueue<object>();
    const x = {};
    const y = {};
    q.push('a', x);
    q.push('a', y);
    assert.equal(q.remove('a', x), true);
    assert.equal(q.remove('a', x), false);
    assert.equal(q.remove('b', y), false, 'wrong source');
    assert.equal(q.length, 1);
    assert.equal(q.remove('a', y), true);
    assert.equal(q.sources, 0);
    assert.equal(q.length, 0);
  });

  test('long queues keep their order while the head moves (compaction)', () => {
    const q = new FairQueue<number>();
    const seen: number[] = [];
    for (let i = 0; i < 1000; i++) {
      q.push('a', i);
      if (i % 3 === 2) seen.push(q.shift()!, q.shift()!);
    }
    for (let item = q.shift(); item !== undefined; item = q.shift()) seen.push(item);
    assert.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i));
  });
});
