import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  configureHashConcurrency,
  defaultHashConcurrency,
  hashConcurrencyStats,
  hashPassword,
  HashBusyError,
  HashCancelledError,
  HashLimiter,
  verifyPassword,
} from '../../src/authn/password/index.js';

/** A job that runs until released, recording its name when it starts. */
function gated(order: string[], name: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return { job: async () => (order.push(name), gate), release: () => release() };
}

describe('HashLimiter: fair by source, bounded per source and in total', () => {
  afterEach(() => configureHashConcurrency(defaultHashConcurrency(), { maxQueue: Infinity, maxQueuePerSource: Infinity }));

  test('waiting jobs are served round robin by source, FIFO within a source', async () => {
    const limiter = new HashLimiter({ concurrency: 1 });
    const order: string[] = [];
    const blocker = gated(order, 'blocker');
    const running = limiter.run(blocker.job);
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) all.push(limiter.run(async () => order.push(`A${i}`), { source: '127.0.0.3' }));
    all.push(limiter.run(async () => order.push('B0'), { source: '127.0.0.2' }));
    all.push(limiter.run(async () => order.push('B1'), { source: '127.0.0.2' }));
    all.push(limiter.run(async () => order.push('C0'), { source: '127.0.0.4' }));
    assert.equal(limiter.stats().sources, 3);
    blocker.release();
    await running;
    await Promise.all(all);
    assert.deepEqual(order, ['blocker', 'A0', 'B0', 'C0', 'A1', 'B1', 'A2', 'A3']);
    assert.equal(limiter.stats().sources, 0);
  });

  test('past its source\'s bound a run is refused at once (HashBusyError source); other sources still queue', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueuePerSource: 2, maxQueue: 3 });
    const order: string[] = [];
    const blocker = gated(order, 'blocker');
    const running = limiter.run(blocker.job);
    const opts = (source: string) => ({ source, rejectWhenFull: true });
    const a = [limiter.run(async () => 1, opts('a')), limiter.run(async () => 2, opts('a'))];
    await assert.rejects(limiter.run(async () => 3, opts('a')), (e: HashBusyError) => e.bound === 'source' && e.code === 'server_busy');
    const b = limiter.run(async () => 4, opts('b'));
    await assert.rejects(limiter.run(async () => 5, opts('c')), (e: HashBusyError) => e.bound === 'total');
    const patient = limiter.run(async () => 6, { source: 'a' });
    assert.deepEqual(limiter.stats().refused, { source: 1, total: 1 });
    assert.equal(limiter.stats().queued, 4, 'runs that do not ask to be refused wait');
    blocker.release();
    await running;
    assert.deepEqual(await Promise.all([...a, b, patient]), [1, 2, 4, 6]);
  });

  test('refusal(source) names the bound a bounded run would meet, counts it, and changes nothing else', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueuePerSource: 1, maxQueue: 2 });
    assert.equal(limiter.refusal('a'), undefined, 'a free slot: the run would start at once');
    const order: string[] = [];
    const blocker = gated(order, 'blocker');
    const running = limiter.run(blocker.job);
    assert.equal(limiter.refusal('a'), undefined, 'an empty queue: the run would wait');
    const waiting = limiter.run(async () => 1, { source: 'a', rejectWhenFull: true });
    assert.equal(limiter.refusal('a'), 'source');
    assert.equal(limiter.refusal('b'), undefined);
    const other = limiter.run(async () => 2, { source: 'b', rejectWhenFull: true });
    assert.equal(limiter.refusal('c'), 'total');
    assert.deepEqual(limiter.stats().refused, { source: 1, total: 1 });
    assert.equal(limiter.stats().queued, 2);
    blocker.release();
    await running;
    assert.deepEqual(await Promise.all([waiting, other]), [1, 2]);
  });

  test('a cancelled waiter leaves its source\'s queue; the source leaves the rotation when empty', async () => {
    const limiter = new HashLimiter({ concurrency: 1 });
    const order: string[] = [];
    const blocker = gated(order, 'blocker');
    const running = limiter.run(blocker.job);
    const abort = new AbortController();
    const cancelled = limiter.run(async () => order.push('X'), { source: 'x', signal: abort.signal });
    const other = limiter.run(async () => order.push('Y'), { source: 'y' });
    abort.abort();
    await assert.rejects(cancelled, HashCancelledError);
    assert.deepEqual({ queued: limiter.stats().queued, sources: limiter.stats().sources }, { queued: 1, sources: 1 });
    blocker.release();
    await running;
    await other;
    assert.deepEqual(order, ['blocker', 'Y']);
  });

  test('bcrypt: a login from another address waits for the running hashes only, not for a storm\'s queue', async () => {
    const stored = await hashPassword({ name: 'bcrypt', salt_rounds: 8 }, 'right');
    configureHashConcurrency(1, { maxQueuePerSource: 50, maxQueue: 1000 });
    const verify = (password: string, source: string) => verifyPassword({ name: 'bcrypt' }, password, stored, { source });
    const storm = Array.from({ length: 60 }, () => verify('wrong', '127.0.0.3').catch((e: Error) => e));
    assert.equal(hashConcurrencyStats().queued, 50, 'one runs, 50 (the address\'s bound) wait');
    assert.equal(await verify('right', '127.0.0.2'), true);
    // Served after the hash that was running and at most one more of the storm's, not after its 50.
    const stormStillWaiting = hashConcurrencyStats().queued;
    const results = await Promise.all(storm);
    const busy = results.filter((r) => r instanceof HashBusyError).length;
    assert.equal(busy, 9, 'the storm beyond its bound was refused at once');
    assert.equal(results.filter((r) => r === false).length, 51);
    // Counted in hashes rather than milliseconds: the hashing threads run at nice 10, so on a
    // machine busy with other work their pace is the machine's, but the order is the limiter's.
    assert.ok(stormStillWaiting >= 48, `${50 - stormStillWaiting} of the storm's queued hashes ran before the other address's login`);
  });
});
