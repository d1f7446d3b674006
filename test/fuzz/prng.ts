import { prng } from '../helpers/prng.js';

/** The shared mulberry32 PRNG (test/helpers/prng.ts) with the helpers the fuzzers use: one 32-bit seed reproduces a run. */
export class Rng {
  readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = prng(seed);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(xs.length)] as T;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A fresh generator seeded from this one (sub-streams that do not shift each other). */
  fork(): Rng {
    return new Rng(this.int(0x1_0000_0000));
  }
}

/** Generic byte-level mutations shared by every generator. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc0, 0xc3, 0xed, 0x23, 0x2b, 0x2f, 0x0a, 0x0d, 0x3a];

export function mutateBytes(rng: Rng, wire: Buffer): Buffer {
  switch (rng.int(6)) {
    case 0: {
      const out = Buffer.from(wire);
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips && out.length > 0; i++) out[rng.int(out.length)] = rng.chance(0.5) ? rng.pick(INTERESTING) : rng.int(256);
      return out;
    }
    case 1:
      return wire.subarray(0, rng.int(wire.length + 1));
    case 2: {
      const at = rng.int(wire.length + 1);
      const extra = Buffer.from(Array.from({ length: 1 + rng.int(6) }, () => (rng.chance(0.5) ? rng.pick(INTERESTING) : rng.int(256))));
      return Buffer.concat([wire.subarray(0, at), extra, wire.subarray(at)]);
    }
    case 3: {
      // delete a run
      const at = rng.int(wire.length + 1);
      return Buffer.concat([wire.subarray(0, at), wire.subarray(at + 1 + rng.int(8))]);
    }
    case 4: {
      // duplicate a run in place
      const at = rng.int(wire.length + 1);
      const run = wire.subarray(at, at + 1 + rng.int(16));
      return Buffer.concat([wire.subarray(0, at), run, run, wire.subarray(at + run.length)]);
    }
    default:
      return Buffer.concat([wire, rng.bytes(rng.int(32))]);
  }
}

/** Cuts bytes into 1..4 writes at random places (the broker must not care where reads split). */
export function splitWrites(rng: Rng, bytes: Buffer): Buffer[] {
  if (bytes.length < 2 || rng.chance(0.5)) return [bytes];
  const cuts = new Set<number>();
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) cuts.add(1 + rng.int(bytes.length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of sorted) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}
