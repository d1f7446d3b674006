import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { PasswordHashError, defaultHashConcurrency, hashPassword, verifyPassword } from '../../src/authn/password/index.js';
import { HASH_THREAD_NICENESS, HashWorkerPool } from '../../src/authn/password/workers.js';

/**
 * bcrypt and PBKDF2 run on threads of their own at a lower scheduling priority, so a login
 * storm's hashing leaves the event loop a core (issue 15 point 7: connected clients' round
 * trips during a bcrypt storm).
 */

/** Nice value and CPU time (ms) of each thread of this process, from /proc (Linux). */
function threads(): { tid: number; nice: number; cpuMs: number }[] {
  const tick = 1000 / 100; // USER_HZ
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      // Fields after the command name: state is field 3; utime 14, stime 15, nice 19 (proc(5)).
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return [{ tid: Number(tid), nice: Number(fields[16]), cpuMs: (Number(fields[11]) + Number(fields[12])) * tick }];
    } catch {
      return []; // the thread ended while listed
    }
  });
}

const execFileAsync = promisify(execFile);

describe('hashing threads', () => {
  test('bcrypt runs on a thread of its own at nice 10; the event loop\'s thread keeps nice 0 and does not pay for the hashes', async () => {
    const alg = { name: 'bcrypt', salt_rounds: 10 } as const;
    const stored = await hashPassword(alg, 'right');
    const main = () => threads().find((t) => t.tid === process.pid)!;
    const before = main().cpuMs;
    const started = performance.now();
    for (let i = 0; i < 8; i++) assert.equal(await verifyPassword(alg, i === 7 ? 'right' : 'wrong', stored), i === 7);
    const elapsed = performance.now() - started;
    const spent = main().cpuMs - before;
    assert.equal(HASH_THREAD_NICENESS, 10);
    assert.equal(main().nice, 0);
    assert.ok(threads().some((t) => t.tid !== process.pid && t.nice === HASH_THREAD_NICENESS), 'a hashing thread at nice 10');
    // Eight bcrypt-10 hashes are hundreds of ms of CPU; the event loop's thread only posts them.
    assert.ok(elapsed > 150, `the hashes took ${elapsed.toFixed(0)} ms`);
    assert.ok(spent < elapsed / 2, `the event loop's thread spent ${spent} ms of CPU over ${elapsed.toFixed(0)} ms of hashing`);
  });

  test('PBKDF2 runs there too and agrees with the known answer (RFC 6070 §2, c = 4096)', async () => {
    const pool = new HashWorkerPool({ keepIdle: 1, niceness: 0 });
    const hex = await pool.run({ kind: 'pbkdf2', password: 'password', salt: Buffer.from('salt'), iterations: 4096, keyLength: 20, digest: 'sha1' });
    assert.equal(hex, '4b007901b765489abead49d926f721d065a429c1');
  });

  test('a job the thread cannot do is refused with its reason; the pool keeps serving', async () => {
    const pool = new HashWorkerPool({ keepIdle: 1, niceness: 0 });
    await assert.rejects(pool.run({ kind: 'pbkdf2', password: 'x', salt: 'y', iterations: 1, keyLength: 8, digest: 'no-such-digest' }), /digest/i);
    await assert.rejects(pool.run({ kind: 'bcrypt', password: 'x', setting: '$2b$99$abcdefghijklmnopqrstuv' }), Error);
    // A job that cannot be copied to the thread is refused before it is sent.
    await assert.rejects(pool.run({ kind: 'bcrypt', password: (() => 'x') as unknown as string, setting: 4 }), /clone/i);
    assert.match(await pool.run({ kind: 'bcrypt', password: 'x', setting: 4 }), /^\$2b\$04\$/);
  });

  test('a thread that dies fails its job with hash_thread_failed (never hangs it); the next job gets a new thread', async () => {
    // A thread that dies on its first job and serves the ones after (a flag in its own memory is
    // lost with it, so a new thread dies again: count deaths from outside instead).
    const script = "require('node:worker_threads').parentPort.on('message', (job) => { if (job.password === 'die') process.exit(3); require('node:worker_threads').parentPort.postMessage({ ok: true, value: 'ok:' + job.password }); })";
    const pool = new HashWorkerPool({ keepIdle: 1, niceness: 0, script });
    const failure = await pool.run({ kind: 'bcrypt', password: 'die', setting: 4 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(failure instanceof PasswordHashError, String(failure));
    assert.equal(failure.code, 'hash_thread_failed');
    assert.match(failure.message, /exit code 3/);
    assert.equal(await pool.run({ kind: 'bcrypt', password: 'live', setting: 4 }), 'ok:live');
  });

  test('at most keepIdle threads stay when the work is done', async () => {
    const niceness = 7; // tells this pool's threads from the others of this process
    const pool = new HashWorkerPool({ keepIdle: 1, niceness });
    await Promise.all(Array.from({ length: 3 }, () => pool.run({ kind: 'bcrypt', password: 'x', setting: 8 })));
    let mine = threads().filter((t) => t.nice === niceness).length;
    for (const until = Date.now() + 5000; mine > 1 && Date.now() < until; mine = threads().filter((t) => t.nice === niceness).length) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(mine, 1);
    pool.keepIdle = 0;
    for (const until = Date.now() + 5000; mine > 0 && Date.now() < until; mine = threads().filter((t) => t.nice === niceness).length) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(mine, 0);
  });

  test('a process that hashes exits by itself afterwards: a job in flight holds it, an idle thread does not', async () => {
    const script = "import('./src/authn/password/index.js').then(async (m) => { const h = await m.hashPassword({ name: 'bcrypt', salt_rounds: 10 }, 'pw'); console.log(h.password_hash); })";
    const started = performance.now();
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '-e', script], { timeout: 30_000 });
    assert.match(stdout.trim(), /^\$2b\$10\$[./A-Za-z0-9]{53}$/, 'the hash was printed: the process waited for it');
    assert.ok(performance.now() - started < 25_000, 'and then exited without being killed');
  });

  test('default concurrency: one job per CPU', () => {
    assert.equal(defaultHashConcurrency(), os.availableParallelism());
  });
});
