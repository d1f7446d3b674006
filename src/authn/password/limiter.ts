/**
 * Bounded concurrency for the expensive hashes (bcrypt, pbkdf2), shared fairly between
 * client addresses.
 *
 * Both run on libuv's thread pool (bcrypt's async API and crypto.pbkdf2), so
 * the event loop stays free; the limiter keeps a connection storm from filling
 * that pool, which is shared with fs, dns.lookup and zlib. Cheap digests never
 * pass through here.
 */
import os from 'node:os';
import { HashBusyError, HashCancelledError, PasswordHashError, type HashBusyBound } from './errors.js';

export interface HashLimiterOptions {
  /** Jobs allowed to run at once (integer ≥ 1). */
  concurrency: number;
  /** Jobs allowed to wait in all; beyond it `run(..., { rejectWhenFull: true })` rejects. Default unbounded. */
  maxQueue?: number;
  /** Jobs of one source (client address) allowed to wait; beyond it such a run rejects too. Default unbounded. */
  maxQueuePerSource?: number;
}

export interface HashLimiterStats {
  concurrency: number;
  maxQueue: number;
  maxQueuePerSource: number;
  active: number;
  queued: number;
  /** Sources with jobs waiting. */
  sources: number;
  /** Runs refused with HashBusyError since the limiter was made, by the bound they met. */
  refused: Record<HashBusyBound, number>;
}

export interface RunOptions {
  /** Reject with {@link HashBusyError} instead of queueing when the source's queue or the whole queue is full. */
  rejectWhenFull?: boolean;
  /** A job still waiting when this aborts leaves the queue unrun (its caller gave up). */
  signal?: AbortSignal;
  /**
   * Who the work is for: the client's address for a login. Waiting jobs are served round
   * robin by source, so one address cannot hold up another's logins. Default: one shared
   * source (user creation, imports).
   */
  source?: string;
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

/** One source's waiting jobs, first in first out. */
class SourceQueue {
  #items: Waiter[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(waiter: Waiter): void {
    this.#items.push(waiter);
  }

  shift(): Waiter | undefined {
    const waiter = this.#items[this.#head];
    if (waiter === undefined) return undefined;
    this.#head++;
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return waiter;
  }

  remove(waiter: Waiter): boolean {
    const at = this.#items.indexOf(waiter, this.#head);
    if (at < 0) return false;
    this.#items.splice(at, 1);
    return true;
  }
}

/**
 * A counting semaphore whose waiting jobs are served fairly by source: one FIFO queue per
 * source (a client address), and the queues taken in turn (round robin). A storm of logins
 * from one address therefore fills only that address's queue: a login from another address
 * waits for at most the jobs already running plus one job of each other waiting source.
 * Both the per-source queue and the whole are bounded for runs that ask (`rejectWhenFull`):
 * past a bound such a run is refused at once with HashBusyError, which authentication
 * answers as `server_busy` (CONNACK 0x89, v3 code 3).
 */
export class HashLimiter {
  #concurrency: number;
  #maxQueue: number;
  #maxQueuePerSource: number;
  #active = 0;
  #queued = 0;
  /** Sources with waiting jobs, in serving order: the first is served next, then moves to the end. */
  readonly #queues = new Map<string, SourceQueue>();
  readonly #refused: Record<HashBusyBound, number> = { source: 0, total: 0 };

  constructor(options: HashLimiterOptions) {
    this.#concurrency = checkConcurrency(options.concurrency);
    this.#maxQueue = checkMaxQueue(options.maxQueue ?? Infinity);
    this.#maxQueuePerSource = checkMaxQueue(options.maxQueuePerSource ?? Infinity);
  }

  /** Change the limits; a raised concurrency starts waiting jobs at once. */
  configure(options: Partial<HashLimiterOptions>): void {
    if (options.concurrency !== undefined) this.#concurrency = checkConcurrency(options.concurrency);
    if (options.maxQueue !== undefined) this.#maxQueue = checkMaxQueue(options.maxQueue);
    if (options.maxQueuePerSource !== undefined) this.#maxQueuePerSource = checkMaxQueue(options.maxQueuePerSource);
    this.#pump();
  }

  stats(): HashLimiterStats {
    return {
      concurrency: this.#concurrency,
      maxQueue: this.#maxQueue,
      maxQueuePerSource: this.#maxQueuePerSource,
      active: this.#active,
      queued: this.#queued,
      sources: this.#queues.size,
      refused: { ...this.#refused },
    };
  }

  /** Run `job` when a slot is free and its source's turn comes; settles with the job's own result. */
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
      const source = options.source ?? '';
      if (signal?.aborted) {
        reject(new HashCancelledError());
        return;
      }
      if (this.#active < this.#concurrency && this.#queued === 0) {
        start();
        return;
      }
      const queue = this.#queues.get(source);
      if (options.rejectWhenFull === true) {
        const bound = this.refusal(source);
        if (bound !== undefined) {
          reject(new HashBusyError(bound));
          return;
        }
      }
      let waiter: Waiter;
      if (signal) {
        const onAbort = (): void => {
          const q = this.#queues.get(source);
          if (!q?.remove(waiter)) return;
          this.#queued--;
          if (q.length === 0) this.#queues.delete(source);
          reject(new HashCancelledError());
        };
        waiter = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            start();
          },
        };
        signal.addEventListener('abort', onAbort, { once: true });
      } else {
        waiter = { start };
      }
      if (queue) queue.push(waiter);
      else {
        const fresh = new SourceQueue();
        fresh.push(waiter);
        this.#queues.set(source, fresh);
      }
      this.#queued++;
    });
  }

  /**
   * The bound a bounded run from `source` would meet now (counted as refused), or undefined
   * when it would run or wait. Lets a login be refused synchronously, before it builds a
   * promise, an abort signal or an error object: a storm past the bounds costs the event loop
   * as little as possible.
   */
  refusal(source = ''): HashBusyBound | undefined {
    if (this.#active < this.#concurrency && this.#queued === 0) return undefined;
    const bound: HashBusyBound | undefined =
      this.#queued >= this.#maxQueue ? 'total' : (this.#queues.get(source)?.length ?? 0) >= this.#maxQueuePerSource ? 'source' : undefined;
    if (bound !== undefined) this.#refused[bound]++;
    return bound;
  }

  #release(): void {
    this.#active -= 1;
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#queued > 0) {
      const first = this.#queues.entries().next();
      if (first.done) return;
      const [source, queue] = first.value;
      const next = queue.shift()!;
      this.#queued--;
      // Served: the source goes to the back of the line, or leaves it when it has nothing waiting.
      this.#queues.delete(source);
      if (queue.length > 0) this.#queues.set(source, queue);
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

/** The process-wide limiter used by hashPassword / verifyPassword (and `loginRefusal`). */
export const hashLimiter = new HashLimiter({ concurrency: defaultHashConcurrency() });

/**
 * Set the process-wide limits (e.g. from config). The queue bounds apply to verification
 * only (logins); hashing for new users waits, never refused. Omitted: unchanged.
 */
export function configureHashConcurrency(
  concurrency: number | undefined,
  options: { maxQueue?: number; maxQueuePerSource?: number } = {},
): void {
  hashLimiter.configure({
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.maxQueuePerSource !== undefined ? { maxQueuePerSource: options.maxQueuePerSource } : {}),
  });
}

export function hashConcurrencyStats(): HashLimiterStats {
  return hashLimiter.stats();
}

/**
 * Would a login from `source` be refused now because the hashing queues are full? Counted as
 * a refusal when so. Authenticators ask before `verifyPassword` for bcrypt and pbkdf2.
 */
export function loginRefusal(source: string | undefined): HashBusyBound | undefined {
  return hashLimiter.refusal(source ?? '');
}
