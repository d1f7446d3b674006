/**
 * Admission pacing: a burst of CONNECTs cannot take whole turns of the event loop from the
 * clients already connected.
 *
 * Every admission (banned checks, identity, authentication, the CONNACK or ERROR of a refusal)
 * costs the event loop some tens of microseconds. Handled as they arrive, 500 CONNECTs read
 * in one turn make that turn last 50–100 ms on a small machine, and every connected client's
 * message read in it waits as long, once per hop of its round trip. So the admissions of one
 * turn of the event loop get a time budget (`ADMISSION_BUDGET_MS` from the turn's first
 * admission); past it, admissions wait for the following turns (a `setImmediate` each, with
 * the same budget), taken round robin by source address, so a storm from one address does not
 * delay another address's login by more than a turn or two. Between two such turns the loop
 * reads and delivers what connected clients sent. Without a burst nothing waits, and nothing
 * is allocated.
 */
import { FairQueue } from '../scheduling/fair-queue.js';

/** Milliseconds of one turn of the event loop that admissions may take before the rest wait. */
export const ADMISSION_BUDGET_MS = 0.5;

export interface AdmissionPacerOptions {
  /** Default `ADMISSION_BUDGET_MS`. */
  budgetMs?: number;
  /** The clock, in milliseconds (tests give their own). Default `performance.now`. */
  now?: () => number;
}

export class AdmissionPacer {
  readonly #budgetMs: number;
  readonly #now: () => number;
  /** When the current turn's first admission started; -1 before it. */
  #turnStart = -1;
  #turnArmed = false;
  readonly #waiting = new FairQueue<() => void>();

  constructor(options: AdmissionPacerOptions = {}) {
    const budget = options.budgetMs ?? ADMISSION_BUDGET_MS;
    if (!(budget > 0) || !Number.isFinite(budget)) throw new RangeError('the admission budget must be a positive number of milliseconds');
    this.#budgetMs = budget;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Admissions waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * May an admission start now? False while others wait (they go first) or once this turn's
   * budget is spent: then hand it to `later`.
   */
  startNow(): boolean {
    if (this.#waiting.length > 0) return false;
    if (this.#turnStart < 0) {
      this.#turnStart = this.#now();
      this.#armTurn();
      return true;
    }
    return this.#now() - this.#turnStart < this.#budgetMs;
  }

  /** Run `admission` in a later turn, in round-robin order by `source` (the client's address). */
  later(source: string, admission: () => void): void {
    this.#waiting.push(source, admission);
    this.#armTurn();
  }

  #armTurn(): void {
    if (this.#turnArmed) return;
    this.#turnArmed = true;
    setImmediate(this.#nextTurn);
  }

  /** A new turn: its budget goes to the waiting admissions first. */
  readonly #nextTurn = (): void => {
    this.#turnArmed = false;
    if (this.#waiting.length === 0) {
      this.#turnStart = -1; // the turn that started admissions is over, and nothing waits
      return;
    }
    const start = this.#now();
    this.#turnStart = start;
    do {
      this.#waiting.shift()!();
    } while (this.#waiting.length > 0 && this.#now() - start < this.#budgetMs);
    // This turn's budget counts until the next turn starts (and serves what still waits).
    this.#armTurn();
  };
}
