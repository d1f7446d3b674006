/**
 * Bounded concurrency for the expensive hashes (bcrypt, pbkdf2).
 *
 * Both run on libuv's thread pool (bcrypt's async API and crypto.pbkdf2), so
 * the event loop stays free; the limiter keeps a connection storm from filling
 * that pool, which is shared with fs, dns.lookup and zlib. Cheap digests never
 * pass through here.
 */
import os from 'node:os';
import { HashBusyError, HashCancelledError, PasswordHashError } from './errors.js';

export interface HashLimiterOptions {
  /** Jobs allowed to run at once (integer ≥ 1). */
  concurrency: number;
  /** Jobs allowed to wait; beyond it `run(..., { rejectWhenFull: true })` rejects. Default unbounded. */
  maxQueue?: number;
}

export interface HashLimiterStats {
  concurrency: number;
  maxQueue: number;
  active: number;
  queued: number;
}

export interface RunOptions {
  /** Reject with {@link HashBusyError} instead of queueing when the queue is full. */
  rejectWhenFull?: boolean;
  /** A job still waiting when this aborts leaves the queue unrun (its caller gave up). */
  signal?: AbortSignal;
}

interface Waiter {
  start: () => void;
}

function checkConcurrency(n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new PasswordHashError('invalid_concurrency', 'hash concurrency must be an integer >= 1');
  }
  return n;
}

function checkMaxQueue(n: number): number {
  if (n !== Infinity && (!Number.isInteger(n) || n < 0)) {
    throw new PasswordHashError('invalid_max_queue', 'hash queue length must be an integer >= 0 or Infinity');
  }
  return n;
}

/** A counting semaphore with a FIFO queue. */
export class HashLimiter {
  #concurrency: number;
  #maxQueue: number;
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(options: HashLimiterOptions) {
    this.#concurrency = checkConcurrency(options.concurrency);
    this.#maxQueue = checkMaxQueue(options.maxQueue ?? Infinity);
  }

  /** Change the limits; a raised concurrency starts waiting jobs at once. */
  configure(options: Partial<HashLimiterOptions>): void {
    if (options.concurrency !== undefined) this.#concurrency = checkConcurrency(options.concurrency);
    if (options.maxQueue !== undefined) this.#maxQueue = checkMaxQueue(options.maxQueue);
    this.#pump();
  }

  stats(): HashLimiterStats {
    return {
      concurrency: this.#concurrency,
      maxQueue: this.#maxQueue,
      active: this.#active,
      queued: this.#queue.length,
    };
  }

  /** Run `job` when a slot is free; settles with the job's own result. */
  run<T>(job: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#active += 1;
        let pending: Promise<T>;
        try {
          pending = job();
        } catch (err) {
          pending = Promise.reject(err);
        }
        // Free the slot before settling, so stats are exact when the caller resumes.
        pending.then(
          (value) => {
            this.#release();
            resolve(value);
          },
          (err: unknown) => {
            this.#release();
            reject(err);
          },
        );
      };
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new HashCancelledError());
      } else if (this.#active < this.#concurrency && this.#queue.length === 0) {
        start();
      } else if (options.rejectWhenFull === true && this.#queue.length >= this.#maxQueue) {
        reject(new HashBusyError());
      } else if (signal) {
        const waiter: Waiter = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            start();
          },
        };
        const onAbort = (): void => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(new HashCancelledError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#queue.push(waiter);
      } else {
        this.#queue.push({ start });
      }
    });
  }

  #release(): void {
    this.#active -= 1;
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency) {
      const next = this.#queue.shift();
      if (next === undefined) return;
      next.start();
    }
  }
}

/**
 * Default concurrency: the number of CPUs, but at most libuv pool size − 1.
 *
 * bcrypt and PBKDF2 are pure CPU work, so more parallel jobs than cores adds
 * no throughput, only latency for everything queued behind them. They also
 * run on libuv's pool (UV_THREADPOOL_SIZE, default 4); leaving one thread
 * free keeps file I/O and DNS lookups (backend reconnects) moving during a
 * login storm. Raise UV_THREADPOOL_SIZE or call configureHashConcurrency()
 * on large machines.
 */
export function defaultHashConcurrency(): number {
  const pool = Number.parseInt(process.env['UV_THREADPOOL_SIZE'] ?? '', 10);
  const poolSize = Number.isInteger(pool) && pool > 0 ? pool : 4;
  return Math.max(1, Math.min(os.availableParallelism(), poolSize - 1));
}

/** The process-wide limiter used by hashPassword / verifyPassword. */
export const hashLimiter = new HashLimiter({ concurrency: defaultHashConcurrency() });

/** Set the process-wide limits (e.g. from config). `maxQueue` applies to verification only. */
export function configureHashConcurrency(concurrency: number, options: { maxQueue?: number } = {}): void {
  hashLimiter.configure({ concurrency, ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}) });
}

export function hashConcurrencyStats(): HashLimiterStats {
  return hashLimiter.stats();
}
