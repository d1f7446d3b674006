/**
 * A millisecond clock for hot paths, read as a property. `Date.now()` makes a new heap number
 * on every call (V8's builtin returns a boxed double, about 100 ns on these machines); this
 * clock is refreshed every CLOCK_RESOLUTION_MS by an unref'd timer, so reading it is a field
 * load that allocates nothing. Good for TTLs and per-second rates, not for timing.
 */
export interface Clock {
  readonly now: number;
}

export const CLOCK_RESOLUTION_MS = 50;

class CoarseClock implements Clock {
  now = Date.now();

  constructor() {
    setInterval(() => {
      this.now = Date.now();
    }, CLOCK_RESOLUTION_MS).unref();
  }
}

export const coarseClock: Clock = new CoarseClock();
