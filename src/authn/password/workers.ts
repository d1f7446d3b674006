/**
 * The threads bcrypt and PBKDF2 run on: a small pool of worker threads owned by this
 * module, one job per thread at a time (the limiter in `limiter.ts` decides how many run
 * and in which order; this pool only executes).
 *
 * Why not libuv's pool (bcrypt's async API, crypto.pbkdf2): its threads are shared with
 * file I/O and DNS, and they run at the event loop's priority. A login storm then puts
 * two or more CPU-bound threads beside the event loop, and on a small machine the loop
 * waits for a core while connected clients' messages wait for the loop. Our own threads
 * lower their scheduling priority (`niceness`, Linux nice values: a thread's own) so the
 * event loop, which only needs short slices, is served first; hashing takes what is left.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { PasswordHashError } from './errors.js';

/** What a hashing thread is asked; passwords and salts travel as strings or bytes. */
export type HashJob =
  | { kind: 'bcrypt'; password: string | Uint8Array; /** a crypt string to rehash with, or the cost of a fresh salt */ setting: string | number }
  | { kind: 'pbkdf2'; password: string | Uint8Array; salt: string | Uint8Array; iterations: number; keyLength: number; digest: string };

export type HashReply = { ok: true; value: string } | { ok: false; message: string };

interface HashWorkerData {
  niceness: number;
  /** Where the native bcrypt package is, resolved here (the thread's script has no location of its own). */
  bcrypt: string;
}

/** Nice value of the hashing threads: well below the event loop, not starved by it (weight ~1/10). */
export const HASH_THREAD_NICENESS = 10;

/**
 * The thread's script. It is plain JavaScript run with `eval` rather than a module file, so it
 * needs no TypeScript loader (tsx does not reach worker threads) and no build step. It lowers
 * its own priority, then answers one HashJob at a time with the synchronous calls (this
 * thread exists to be busy) and posts a HashReply. Error messages from bcrypt and node name
 * parameters, never the inputs.
 */
const THREAD_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { pbkdf2Sync } = require('node:crypto');
const os = require('node:os');
const bcrypt = require(workerData.bcrypt);
// On Linux a nice value belongs to a thread, and pid 0 names the calling thread: only this one.
try { if (workerData.niceness !== 0) os.setPriority(0, workerData.niceness); } catch {}
const bytes = (v) => (typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
function answer(job) {
  if (job.kind === 'bcrypt') {
    const setting = typeof job.setting === 'number' ? bcrypt.genSaltSync(job.setting) : job.setting;
    return bcrypt.hashSync(bytes(job.password), setting);
  }
  if (job.kind === 'pbkdf2') {
    return pbkdf2Sync(bytes(job.password), bytes(job.salt), job.iterations, job.keyLength, job.digest).toString('hex');
  }
  throw new Error('unknown hash job');
}
parentPort.on('message', (job) => {
  let reply;
  try { reply = { ok: true, value: answer(job) }; } catch (err) { reply = { ok: false, message: String(err && err.message) }; }
  parentPort.postMessage(reply);
});
`;

const BCRYPT_PATH = createRequire(import.meta.url).resolve('bcrypt');

interface Pending {
  resolve: (value: string) => void;
  reject: (err: Error) => void;
}

class HashThread {
  readonly #worker: Worker;
  #pending: Pending | undefined;
  #dead = false;

  constructor(niceness: number, script: string, onExit: (thread: HashThread) => void) {
    const data: HashWorkerData = { niceness, bcrypt: BCRYPT_PATH };
    this.#worker = new Worker(script, { eval: true, workerData: data, stdout: false, stderr: false });
    this.#worker.unref(); // an idle thread never keeps the process alive
    this.#worker.on('message', (reply: HashReply) => {
      const pending = this.#pending;
      this.#pending = undefined;
      this.#worker.unref();
      if (!pending) return;
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(new Error(reply.message));
    });
    const fail = (err: Error): void => {
      if (this.#dead) return;
      this.#dead = true;
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(new PasswordHashError('hash_thread_failed', `hashing thread stopped: ${err.message}`));
      onExit(this);
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  get dead(): boolean {
    return this.#dead;
  }

  run(job: HashJob): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#worker.postMessage(job); // throws (rejects) on a job that cannot be copied
      this.#pending = { resolve, reject };
      this.#worker.ref(); // a job in flight keeps the process alive until it answers
    });
  }

  stop(): void {
    this.#dead = true;
    void this.#worker.terminate();
  }
}

/**
 * Threads are started on first use and kept while idle (a thread costs a few MB and
 * ~30 ms to start); at most `keepIdle` idle ones are kept, the rest stop.
 */
export class HashWorkerPool {
  readonly #idle: HashThread[] = [];
  readonly #niceness: number;
  readonly #script: string;
  #keepIdle: number;

  /** `script` replaces the thread's script (tests use one whose thread dies). */
  constructor(options: { keepIdle: number; niceness?: number; script?: string }) {
    this.#script = options.script ?? THREAD_SCRIPT;
    this.#keepIdle = options.keepIdle;
    this.#niceness = options.niceness ?? HASH_THREAD_NICENESS;
  }

  /** Idle threads to keep (the limiter's concurrency); extra idle ones stop now. */
  set keepIdle(n: number) {
    this.#keepIdle = n;
    while (this.#idle.length > n) this.#idle.pop()!.stop();
  }

  /** Run one job on an idle thread, or a new one (the limiter bounds how many run). */
  async run(job: HashJob): Promise<string> {
    const thread = this.#idle.pop() ?? new HashThread(this.#niceness, this.#script, (t) => this.#forget(t));
    try {
      return await thread.run(job);
    } finally {
      if (!thread.dead) {
        if (this.#idle.length < this.#keepIdle) this.#idle.push(thread);
        else thread.stop();
      }
    }
  }

  #forget(thread: HashThread): void {
    const at = this.#idle.indexOf(thread);
    if (at >= 0) this.#idle.splice(at, 1);
  }
}

/** The process-wide hashing threads (sized by `configureHashConcurrency`). */
export const hashThreads = new HashWorkerPool({ keepIdle: 1 });
