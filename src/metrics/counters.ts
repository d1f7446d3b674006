import { coarseClock } from './clock.js';

/**
 * Counters and rates. A `MetricSet` is a fixed set of named counters (an
 * authenticator's total/success/failed/nomatch); `rate` keeps per-second
 * samples of one counter for the API's rate, rate_max and rate_last5m.
 */
export class MetricSet<Name extends string> {
  private readonly values: Record<string, number> = {};
  private readonly rates = new Map<Name, RateMeter>();

  constructor(readonly names: readonly Name[], rated: readonly Name[] = []) {
    for (const n of names) this.values[n] = 0;
    for (const n of rated) this.rates.set(n, new RateMeter());
  }

  inc(name: Name, by = 1): void {
    this.values[name] = (this.values[name] ?? 0) + by;
    this.rates.get(name)?.add(by);
  }

  get(name: Name): number {
    return this.values[name] ?? 0;
  }

  snapshot(): Record<Name, number> {
    return { ...this.values } as Record<Name, number>;
  }

  rate(name: Name): RateSnapshot | undefined {
    return this.rates.get(name)?.snapshot();
  }

  reset(): void {
    for (const n of this.names) this.values[n] = 0;
  }
}

export interface RateSnapshot {
  /** Events per second over the last 5 s. */
  current: number;
  max: number;
  /** Events per second averaged over the last 5 minutes. */
  last5m: number;
}

/** Per-second buckets for the last 5 minutes; cheap to add to (no timers, no allocation: the coarse clock). */
export class RateMeter {
  private readonly buckets = new Float64Array(300);
  private lastSecond = Math.floor(coarseClock.now / 1000);
  private max = 0;

  add(n: number): void {
    this.advance();
    this.buckets[this.lastSecond % 300]! += n;
  }

  snapshot(): RateSnapshot {
    this.advance();
    let last5 = 0;
    let all = 0;
    for (let i = 0; i < 300; i++) {
      const v = this.buckets[(this.lastSecond - i + 300 * 2) % 300]!;
      if (i >= 1 && i <= 5) last5 += v;
      all += v;
    }
    const current = last5 / 5;
    if (current > this.max) this.max = current;
    return { current: round(current), max: round(this.max), last5m: round(all / 300) };
  }

  private advance(): void {
    const now = Math.floor(coarseClock.now / 1000);
    if (now === this.lastSecond) return;
    const steps = Math.min(300, now - this.lastSecond);
    for (let i = 1; i <= steps; i++) this.buckets[(this.lastSecond + i) % 300] = 0;
    this.lastSecond = now;
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The same fixed set of counters per key (a listener id), each set made on first use. */
export class KeyedMetrics<Name extends string> {
  private readonly sets = new Map<string, MetricSet<Name>>();

  constructor(readonly names: readonly Name[]) {}

  of(key: string): MetricSet<Name> {
    let set = this.sets.get(key);
    if (!set) {
      set = new MetricSet(this.names);
      this.sets.set(key, set);
    }
    return set;
  }

  /** Every key's counters, in the order the keys were first used. */
  entries(): IterableIterator<[string, MetricSet<Name>]> {
    return this.sets.entries();
  }
}
