/** EMQX-style duration and byte-size values ("30s", "1h30m", "64KB"). */

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
};

/**
 * Converts an EMQX duration to milliseconds. Accepts a number (already milliseconds), a string of
 * digits (milliseconds), or one or more `<number><unit>` groups with units w, d, h, m, s, ms
 * (case-insensitive), e.g. `30s`, `1m`, `100ms`, `1h30m`, `2.5m`. Fractions of a millisecond are dropped.
 */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new Error(`invalid duration ${v}: must be a non-negative finite number of milliseconds`);
    return Math.trunc(v);
  }
  if (typeof v !== 'string') throw new Error('invalid duration: expected a string such as "30s" or a number of milliseconds');
  const s = v.trim();
  if (s === '') throw new Error('invalid duration "": empty');
  if (/^\d+$/.test(s)) return Number(s);
  const group = /(\d+(?:\.\d+)?)(ms|[wdhms])/giy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = group.exec(s)) !== null) {
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!.toLowerCase()]!;
    consumed = group.lastIndex;
  }
  if (consumed !== s.length) {
    throw new Error(
      `invalid duration ${JSON.stringify(v)}: expected a number with a unit (ms, s, m, h, d, w), e.g. "30s" or "1h30m"`,
    );
  }
  return Math.trunc(total);
}

/**
 * Converts an EMQX byte size to bytes. Accepts a number (bytes), a string of digits (bytes), or
 * `<number><unit>` with units B, KB, MB, GB, TB (powers of 1024, case-insensitive), e.g. `64KB`, `1MB`.
 */
export function parseByteSize(v: string | number): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new Error(`invalid byte size ${v}: must be a non-negative finite number of bytes`);
    return Math.trunc(v);
  }
  if (typeof v !== 'string') throw new Error('invalid byte size: expected a string such as "64KB" or a number of bytes');
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?b)?$/i.exec(v.trim());
  if (!m) throw new Error(`invalid byte size ${JSON.stringify(v)}: expected a number with a unit (B, KB, MB, GB, TB), e.g. "64KB"`);
  const unit = m[2] === undefined ? 'b' : m[2].toLowerCase();
  return Math.trunc(Number(m[1]) * BYTE_UNITS[unit]!);
}
