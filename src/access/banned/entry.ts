import { formatAddress, formatNetwork, parseAddress, parseNetwork } from './address.js';

/**
 * One entry of the banned list (emqx5-auth.md §13.4; EMQX 5.8.9 `emqx_banned`): who is shut
 * out (`as` + `who`), by whom, why, since when and until when. Times are whole seconds since
 * the epoch, as EMQX keeps them; `until` undefined means for ever (EMQX's `infinity`).
 */
export const BAN_KINDS = ['clientid', 'username', 'peerhost', 'clientid_re', 'username_re', 'peerhost_net'] as const;
export type BanKind = (typeof BAN_KINDS)[number];

export interface BannedEntry {
  as: BanKind;
  /** The canonical form: an address as RFC 5952 writes it, a network with host bits cleared. */
  who: string;
  by: string;
  reason: string;
  /** Seconds since the epoch. */
  at: number;
  /** Seconds since the epoch; undefined = infinity. */
  until?: number;
}

/** What an operator (API body, CLI) or a detector asks to ban, before checking. */
export interface BanRequest {
  as: unknown;
  who: unknown;
  by?: unknown;
  reason?: unknown;
  /** Seconds since the epoch, an RFC 3339 date-time, or digits. */
  at?: unknown;
  /** As `at`, or `"infinity"`. */
  until?: unknown;
}

/** A ban that cannot be made, naming the field at fault (the API answers 400 with it). */
export class BanInputError extends Error {
  override readonly name = 'BanInputError';
  constructor(
    readonly field: 'as' | 'who' | 'by' | 'reason' | 'at' | 'until',
    /** What is wrong, without the field name. */
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** EMQX's default `by` for a ban made over the API. */
export const DEFAULT_BANNED_BY = 'mgmt_api';
/** The latest second EMQX accepts for `at` and `until` (9999-12-31). */
const MAX_EPOCH_SECOND = 253402214400;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function isBanKind(value: unknown): value is BanKind {
  return typeof value === 'string' && (BAN_KINDS as readonly string[]).includes(value);
}

/** The expression of a `clientid_re` / `username_re` entry, or a BanInputError naming `who`. */
export function compilePattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new BanInputError('who', `not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

/**
 * The canonical `who` of a kind, or a BanInputError: a client id or username as given
 * (not empty), a regular expression that compiles (JavaScript syntax: EMQX's PCRE-only
 * constructs such as `(?i)` are refused), an address, a network (`10.1.2.3/8` is kept as
 * `10.0.0.0/8`, as EMQX does).
 */
export function canonicalWho(as: BanKind, who: unknown): string {
  if (typeof who !== 'string' || who === '') throw new BanInputError('who', 'must be a non-empty string');
  switch (as) {
    case 'clientid':
    case 'username':
      return who;
    case 'clientid_re':
    case 'username_re':
      compilePattern(who);
      return who;
    case 'peerhost': {
      const address = parseAddress(who);
      if (!address) throw new BanInputError('who', `bad peerhost ${JSON.stringify(who)}: expected an IPv4 or IPv6 address`);
      return formatAddress(address);
    }
    case 'peerhost_net': {
      const network = parseNetwork(who);
      if (!network) throw new BanInputError('who', `bad peerhost_net ${JSON.stringify(who)}: expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32`);
      return formatNetwork(network);
    }
  }
}

/** Seconds since the epoch from an integer, a string of digits, or an RFC 3339 date-time. */
export function epochSecond(field: 'at' | 'until', value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_EPOCH_SECOND) {
      throw new BanInputError(field, `${value} is not a whole number of seconds since the epoch (0..${MAX_EPOCH_SECOND})`);
    }
    return value;
  }
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return epochSecond(field, Number(value));
    const m = RFC3339.exec(value);
    const ms = m ? Date.parse(value.replace(' ', 'T')) : NaN;
    if (Number.isFinite(ms)) return epochSecond(field, Math.floor(ms / 1000));
  }
  throw new BanInputError(field, `${JSON.stringify(value)} is not a time: expected seconds since the epoch or an RFC 3339 date-time such as 2030-01-01T00:00:00Z`);
}

function optionalText(field: 'by' | 'reason', value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new BanInputError(field, 'must be a string');
  return value;
}

/**
 * A checked entry from a request, as EMQX's `emqx_banned:parse`: `by` defaults to
 * `mgmt_api` (or `defaults.by`), `reason` to "", `at` to now, `until` to infinity; an
 * entry already expired (`until` not after now) is refused.
 */
export function parseBan(input: BanRequest, defaults: { by?: string; nowSeconds?: number } = {}): BannedEntry {
  if (typeof input !== 'object' || input === null) throw new BanInputError('as', 'the ban must be an object');
  if (!isBanKind(input.as)) throw new BanInputError('as', `must be one of ${BAN_KINDS.join(', ')}`);
  const who = canonicalWho(input.as, input.who);
  const now = defaults.nowSeconds ?? Math.floor(Date.now() / 1000);
  const by = optionalText('by', input.by, defaults.by ?? DEFAULT_BANNED_BY);
  const reason = optionalText('reason', input.reason, '');
  const at = input.at === undefined ? now : epochSecond('at', input.at);
  const until = input.until === undefined || input.until === 'infinity' ? undefined : epochSecond('until', input.until);
  if (until !== undefined && until <= now) {
    throw new BanInputError('until', `cannot create an expired ban (until ${rfc3339(until)} is not after now)`);
  }
  return until === undefined ? { as: input.as, who, by, reason, at } : { as: input.as, who, by, reason, at, until };
}

/** Whether the entry is no longer in force at `nowSeconds` (EMQX: in force while until > now). */
export function isExpired(entry: Pick<BannedEntry, 'until'>, nowSeconds: number): boolean {
  return entry.until !== undefined && entry.until <= nowSeconds;
}

/** `2021-10-25T21:48:47+08:00`: seconds as RFC 3339 in the node's local offset, as EMQX answers. */
export function rfc3339(seconds: number): string {
  const date = new Date(seconds * 1000);
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${local.toISOString().slice(0, 19)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An entry as EMQX's API shows it (`emqx_banned:format`). */
export interface BannedView {
  as: BanKind;
  who: string;
  by: string;
  reason: string;
  at: string;
  until: string;
}

export function viewOf(entry: BannedEntry): BannedView {
  return {
    as: entry.as,
    who: entry.who,
    by: entry.by,
    reason: entry.reason,
    at: rfc3339(entry.at),
    until: entry.until === undefined ? 'infinity' : rfc3339(entry.until),
  };
}
