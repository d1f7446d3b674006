import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HashLimiter, HashCancelledError, hashPassword, verifyPassword, hashConcurrencyStats } from '../../src/authn/password/index.js';

describe('queued hash work is dropped when its caller stops waiting', () => {
  test('a waiting job whose signal aborts leaves the queue unrun; running and other jobs are untouched', async () => {
    const limiter = new HashLimiter({ concurrency: 1 });
    let ran = 0;
    let release!: () => void;
    const first = limiter.run(() => new Promise<number>((r) => (release = () => r(++ran))));
    const abort = new AbortController();
    const cancelled = limiter.run(async () => ++ran, { signal: abort.signal });
    const third = limiter.run(async () => ++ran);
    assert.equal(limiter.stats().queued, 2);
    abort.abort();
    await assert.rejects(cancelled, HashCancelledError);
    assert.equal(limiter.stats().queued, 1);
    release();
    assert.equal(await first, 1);
    assert.equal(await third, 2, 'the cancelled job never ran');
  });

  test('an already-aborted signal rejects at once', async () => {
    const limiter = new HashLimiter({ concurrency: 1 });
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(limiter.run(async () => 1, { signal: abort.signal }), HashCancelledError);
  });

  test('verifyPassword: 40 bcrypt verifications whose callers give up are not hashed', async () => {
    const stored = await hashPassword({ name: 'bcrypt', salt_rounds: 8 }, 'pw');
    const abort = new AbortController();
    const pending = Array.from({ length: 40 }, () => verifyPassword({ name: 'bcrypt' }, 'pw', stored, { signal: abort.signal }).catch((e: Error) => e));
    const queuedBefore = hashConcurrencyStats().queued;
    assert.ok(queuedBefore >= 30, `most wait in the queue (${queuedBefore})`);
    abort.abort();
    assert.equal(hashConcurrencyStats().queued, 0, 'the queue empties at once');
    const results = await Promise.all(pending);
    const cancelled = results.filter((r) => r instanceof HashCancelledError).length;
    assert.ok(cancelled >= 30, `${cancelled} cancelled`);
    assert.ok(results.every((r) => r === true || r instanceof HashCancelledError));
  });
});
