/**
 * Bounded concurrency for the expensive hashes (bcrypt, pbkdf2), shared fairly between
 * client addresses.
 *
 * Both run on the hashing threads of `workers.ts`, so the event loop stays free; the
 * limiter decides how many run at once and whose turn is next, and refuses what a storm
 * queues past its bounds. Cheap digests never pass through here.
 */
import os from 'node:os';
import { HashBusyError, HashCancelledError, PasswordHashError, type HashBusyBound } from './errors.js';
import { FairQueue } from '../../scheduling/fair-queue.js';
import { hashThreads } from './workers.js';

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
  /** Waiting jobs, served round robin by source. */
  readonly #queue = new FairQueue<Waiter>();
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
      queued: this.#queue.length,
      sources: this.#queue.sources,
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
      if (this.#active < this.#concurrency && this.#queue.length === 0) {
        start();
        return;
      }
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
          if (this.#queue.remove(source, waiter)) reject(new HashCancelledError());
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
      this.#queue.push(source, waiter);
    });
  }

  /**
   * The bound a bounded run from `source` would meet now (counted as refused), or undefined
   * when it would run or wait. Lets a login be refused synchronously, before it builds a
   * promise, an abort signal or an error object: a storm past the bounds costs the event loop
   * as little as possible.
   */
  refusal(source = ''): HashBusyBound | undefined {
    const queued = this.#queue.length;
    if (this.#active < this.#concurrency && queued === 0) return undefined;
    const bound: HashBusyBound | undefined =
      queued >= this.#maxQueue ? 'total' : this.#queue.lengthOf(source) >= this.#maxQueuePerSource ? 'source' : undefined;
    if (bound !== undefined) this.#refused[bound]++;
    return bound;
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
 * Default concurrency: one job per CPU.
 *
 * bcrypt and PBKDF2 are pure CPU work, so more parallel jobs than cores adds no
 * throughput, only latency for everything queued behind them. The hashing threads run
 * at a lower priority (`workers.ts`), so even with every core hashing the event loop is
 * served first when it has work. Set `authentication_settings.hash_concurrency` to change it.
 */
export function defaultHashConcurrency(): number {
  return Math.max(1, os.availableParallelism());
}

/** The process-wide limiter used by hashPassword / verifyPassword (and `loginRefusal`). */
export const hashLimiter = new HashLimiter({ concurrency: defaultHashConcurrency() });
hashThreads.keepIdle = defaultHashConcurrency();

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
  hashThreads.keepIdle = hashLimiter.stats().concurrency;
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
