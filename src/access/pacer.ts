/**
 * Admission pacing: a burst of CONNECTs cannot take whole turns of the event loop from the
 * clients already connected.
 *
 * Every admission (banned checks, identity, authentication, the CONNACK or ERROR of a refusal)
 * costs the event loop some tens of microseconds. Handled as they arrive, 500 CONNECTs read
 * in one turn make that turn last 50–100 ms on a small machine, and every connected client's
 * message read in it waits as long, once per hop of its round trip. So at most `perTurn`
 * admissions start in one turn of the event loop; the others wait for the following turns
 * (a `setImmediate` each), taken round robin by source address, so a storm from one address
 * does not delay another address's login more than a few turns. Between two such turns the
 * loop reads and delivers what connected clients sent. With no burst nothing waits.
 */
import { FairQueue } from '../scheduling/fair-queue.js';

/** Admissions started per turn of the event loop before the rest wait for later turns. */
export const ADMISSIONS_PER_TURN = 4;

export class AdmissionPacer {
  readonly #perTurn: number;
  /** Admissions started in the current turn. */
  #started = 0;
  #turnArmed = false;
  readonly #waiting = new FairQueue<() => void>();

  constructor(perTurn: number = ADMISSIONS_PER_TURN) {
    if (!Number.isInteger(perTurn) || perTurn < 1) throw new RangeError('admissions per turn must be an integer >= 1');
    this.#perTurn = perTurn;
  }

  /** Admissions waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * May an admission start now? Counts it when so. False while others wait (they go first)
   * or when this turn's share is used: then hand it to `later`.
   */
  startNow(): boolean {
    if (this.#waiting.length > 0 || this.#started >= this.#perTurn) return false;
    this.#started++;
    this.#armTurn();
    return true;
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

  /** A new turn: its share goes to the waiting admissions first. */
  readonly #nextTurn = (): void => {
    this.#turnArmed = false;
    this.#started = 0;
    while (this.#started < this.#perTurn) {
      const admission = this.#waiting.shift();
      if (admission === undefined) break;
      this.#started++;
      admission();
    }
    // Count this turn's share until the next one starts (and keep serving the waiting).
    if (this.#started > 0) this.#armTurn();
  };
}
