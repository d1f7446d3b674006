/**
 * Events counted per key (a client id, an address, a username) within a window that opens at
 * the key's first event and lasts `windowMs`, as EMQX's flapping record does
 * (`started_at`, `detect_cnt`). An event after the window opens a new one.
 *
 * Keys are kept in the order their windows opened, so the ones whose window has passed are
 * at the front: each `hit` drops those first, and the map never holds more than `maxKeys`
 * (past it, the oldest window goes). No timer is needed.
 */
export class WindowCounter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly windowMs: number,
    readonly maxKeys = 100_000,
  ) {}

  get size(): number {
    return this.#windows.size;
  }

  /** Counts one event of `key` at `nowMs`; returns the count in its current window (1 for the first). */
  hit(key: string, nowMs: number): number {
    this.#dropPassed(nowMs);
    const window = this.#windows.get(key);
    if (window !== undefined) {
      window.count++;
      return window.count;
    }
    if (this.#windows.size >= this.maxKeys) {
      const oldest = this.#windows.keys().next();
      if (!oldest.done) this.#windows.delete(oldest.value);
    }
    this.#windows.set(key, { start: nowMs, count: 1 });
    return 1;
  }

  /** Forgets `key` (its count reached the limit and was acted on). */
  reset(key: string): void {
    this.#windows.delete(key);
  }

  clear(): void {
    this.#windows.clear();
  }

  #dropPassed(nowMs: number): void {
    for (const [key, window] of this.#windows) {
      if (nowMs - window.start < this.windowMs) return;
      this.#windows.delete(key);
    }
  }
}
