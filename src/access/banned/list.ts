import type { Logger } from 'pino';
import type { BannedTable, StoredBan } from '../../store/index.js';
import { MetricSet } from '../../metrics/counters.js';
import { parseNetwork, readPeerAddress, type IpNetwork } from './address.js';
import {
  BAN_KINDS,
  BanInputError,
  canonicalWho,
  compilePattern,
  isBanKind,
  isExpired,
  parseBan,
  type BanKind,
  type BannedEntry,
  type BanRequest,
} from './entry.js';
import { NetworkIndex } from './network-index.js';
import { PatternIndex } from './pattern-index.js';

/** What the banned list is checked against: a connecting client (EMQX's ClientInfo fields). */
export interface BannedClient {
  clientid: string;
  username?: string | undefined;
  /** The client's address as the listener reports it (IPv4-mapped IPv6 already as IPv4). */
  peerhost: string;
}

/** The durable side the list needs: `BuiltInStore.banned`. */
export type BannedRecords = Pick<BannedTable, 'version' | 'all' | 'count' | 'slice' | 'get' | 'insert' | 'insertMany' | 'delete' | 'clear' | 'deleteExpired'>;

export type BannedAddResult = { added: true; entry: BannedEntry } | { added: false; existing: BannedEntry };

/** A listing request (EMQX `GET /banned`): one filter at most. */
export interface BannedQuery {
  page: number;
  limit: number;
  clientid?: string | undefined;
  username?: string | undefined;
  peerhost?: string | undefined;
  like_clientid?: string | undefined;
  like_username?: string | undefined;
  like_peerhost?: string | undefined;
  like_peerhost_net?: string | undefined;
}

export interface BannedPage {
  data: BannedEntry[];
  meta: { page: number; limit: number; count: number; hasnext: boolean };
}

/** A listing request that cannot be answered (two filters, a bad `like_*` expression). */
export class BannedQueryError extends Error {
  override readonly name = 'BannedQueryError';
}

export interface BannedListOptions {
  records: BannedRecords;
  logger?: Logger;
  /** Seconds since the epoch; tests move time with it. */
  now?: () => number;
}

/** An entry as indexed: with its expression or network read once. */
interface Ban {
  entry: BannedEntry;
  pattern: RegExp;
  network: IpNetwork | undefined;
}

const NO_PATTERN = /(?!)/;
/** setTimeout's longest delay (about 24.8 days); a later expiry re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often a running node looks for changes made by another process (the CLI). */
export const DEFAULT_BANNED_POLL_MS = 1000;

function keyOf(as: string, who: string): string {
  return `${as}\u0000${who}`;
}

/** Which kinds a `like_*` filter searches, as EMQX's `ms_from_qstring`. */
const LIKE_KINDS: Record<string, readonly BanKind[]> = {
  like_clientid: ['clientid', 'clientid_re'],
  like_username: ['username', 'username_re'],
  like_peerhost: ['peerhost'],
  like_peerhost_net: ['peerhost_net'],
};
const EXACT_FILTERS = ['clientid', 'username', 'peerhost'] as const;

/**
 * The banned list (emqx5-auth.md §13.4): checked before authentication, for every protocol.
 *
 * Held in memory and indexed so that `check` is synchronous and allocation-free on the
 * common path: client ids, usernames and addresses in maps, networks by prefix length,
 * expressions by a literal they require (`pattern-index.ts`). Order of the check is EMQX's:
 * clientid, username, peerhost, then the rules clientid_re, username_re, peerhost_net. An
 * entry is in force while `until` is after now; it never matches later, and `start()` arms
 * a timer (unref'd) that removes it from the list and the store when it expires.
 *
 * Durable in the built-in store. Another process (the CLI) writes the same table; a running
 * node notices within `pollMs` by reading the table's change counter (one row) and reloads.
 * `onAdded` observers hear of every new entry, however it came (API, CLI, detectors), so
 * connected clients it matches can be disconnected.
 */
export class BannedList {
  readonly #records: BannedRecords;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #byKey = new Map<string, Ban>();
  readonly #clientids = new Map<string, Ban>();
  readonly #usernames = new Map<string, Ban>();
  readonly #hosts = new NetworkIndex<Ban>();
  readonly #networks = new NetworkIndex<Ban>();
  readonly #clientidPatterns = new PatternIndex<Ban>();
  readonly #usernamePatterns = new PatternIndex<Ban>();
  readonly #byKind: Record<BanKind, KindIndex> = {
    clientid: byWho(this.#clientids),
    username: byWho(this.#usernames),
    peerhost: byNetwork(this.#hosts),
    clientid_re: byPattern(this.#clientidPatterns),
    username_re: byPattern(this.#usernamePatterns),
    peerhost_net: byNetwork(this.#networks),
  };
  readonly #observers = new Set<(entry: BannedEntry) => void>();
  readonly #refusals = new MetricSet<BanKind>(BAN_KINDS);
  /** The peer's address, read into this buffer: a check allocates nothing. */
  readonly #peer = new Uint32Array(4);
  /** The time of the check under way, read by #inForce. */
  #checkNow = 0;
  readonly #inForce = (ban: Ban): boolean => ban.entry.until === undefined || ban.entry.until > this.#checkNow;
  #version = -1;
  #expiryTimer: NodeJS.Timeout | undefined;
  #expiryAt = Infinity;
  #pollTimer: NodeJS.Timeout | undefined;
  #running = false;
  /** Set by the first load: later loads report the entries they find new. */
  #loaded = false;

  constructor(options: BannedListOptions) {
    this.#records = options.records;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.reload();
  }

  /** Entries held (expired ones not yet removed included). */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * The entry that bans this client, or undefined; counts the refusal by kind. The access
   * service calls it before authentication and refuses with it (CONNACK 0x8A, v3 code 5).
   */
  check(client: BannedClient): BannedEntry | undefined {
    const entry = this.match(client);
    if (entry) this.#refusals.inc(entry.as);
    return entry;
  }

  /** As `check`, without counting (explain). */
  match(client: BannedClient): BannedEntry | undefined {
    if (this.#byKey.size === 0) return undefined;
    this.#checkNow = this.#now();
    const inForce = this.#inForce;
    let ban = this.#clientids.get(client.clientid);
    if (ban !== undefined && inForce(ban)) return ban.entry;
    if (client.username !== undefined) {
      ban = this.#usernames.get(client.username);
      if (ban !== undefined && inForce(ban)) return ban.entry;
    }
    const family = this.#hosts.size > 0 || this.#networks.size > 0 ? readPeerAddress(client.peerhost, this.#peer) : 0;
    if (family !== 0) {
      ban = this.#hosts.find(family, this.#peer, inForce);
      if (ban !== undefined) return ban.entry;
    }
    if (this.#clientidPatterns.size > 0) {
      ban = this.#clientidPatterns.find(client.clientid, inForce);
      if (ban !== undefined) return ban.entry;
    }
    if (client.username !== undefined && this.#usernamePatterns.size > 0) {
      ban = this.#usernamePatterns.find(client.username, inForce);
      if (ban !== undefined) return ban.entry;
    }
    if (family !== 0) {
      ban = this.#networks.find(family, this.#peer, inForce);
      if (ban !== undefined) return ban.entry;
    }
    return undefined;
  }

  /** Refusals counted by `check`, by the kind of the entry that matched. */
  refusals(): Record<BanKind, number> {
    return this.#refusals.snapshot();
  }

  /**
   * Bans a client (API, CLI, flapping detector, login-failure tracker). Throws
   * BanInputError for a bad request. An entry of the same kind and who still in force is
   * left as it is (`added: false` with it), as EMQX; an expired one is replaced.
   */
  add(request: BanRequest, defaults: { by?: string } = {}): BannedAddResult {
    const now = this.#now();
    const entry = parseBan(request, { ...defaults, nowSeconds: now });
    const write = this.#records.insert(entry, now);
    if (!write.result.inserted) return { added: false, existing: toEntry(write.result.existing) ?? entry };
    this.#synced(write);
    this.#index(entry);
    this.#logger?.warn({ as: entry.as, who: entry.who, by: entry.by, reason: entry.reason, until: entry.until ?? 'infinity' }, 'banned entry added');
    this.#added(entry);
    return { added: true, entry };
  }

  /**
   * `add` for many requests in one store transaction (10 000 entries in well under a second,
   * where one `add` each waits for its own disk sync). Every request is checked first: a bad
   * one throws BanInputError with its index in the message, and nothing is added.
   */
  addMany(requests: readonly BanRequest[], defaults: { by?: string } = {}): BannedAddResult[] {
    const now = this.#now();
    const entries = requests.map((request, i) => {
      try {
        return parseBan(request, { ...defaults, nowSeconds: now });
      } catch (err) {
        if (err instanceof BanInputError) throw new BanInputError(err.field, `${err.detail} (entry ${i})`);
        throw err;
      }
    });
    const write = this.#records.insertMany(entries, now);
    this.#synced(write);
    const results = write.result.map((r, i): BannedAddResult => {
      const entry = entries[i]!;
      if (!r.inserted) return { added: false, existing: toEntry(r.existing) ?? entry };
      this.#index(entry);
      return { added: true, entry };
    });
    const added = results.filter((r) => r.added).length;
    if (added > 0) this.#logger?.warn({ count: added }, 'banned entries added');
    for (const r of results) if (r.added) this.#added(r.entry);
    return results;
  }

  /** The entry of that kind and who (the who in any of its spellings: `2001:DB8::1`). */
  get(as: BanKind, who: string): BannedEntry | undefined {
    return this.#byKey.get(keyOf(as, canonicalOrSame(as, who)))?.entry;
  }

  /** Removes one entry; false when there is none. Throws BanInputError for an unknown kind. */
  delete(as: string, who: string): boolean {
    if (!isBanKind(as)) throw new BanInputError('as', `must be one of ${BAN_KINDS.join(', ')}`);
    const canonical = canonicalOrSame(as, who);
    const write = this.#records.delete(as, canonical);
    if (!write.result) return false;
    this.#synced(write);
    const ban = this.#byKey.get(keyOf(as, canonical));
    if (ban) this.#unindex(ban);
    this.#logger?.info({ as, who: canonical }, 'banned entry deleted');
    return true;
  }

  /** Removes every entry; returns how many there were. */
  clear(): number {
    const write = this.#records.clear();
    this.#synced(write);
    this.#clearIndexes();
    if (write.result > 0) this.#logger?.info({ count: write.result }, 'banned list cleared');
    return write.result;
  }

  /** One page, oldest first, with EMQX's filters (`emqx_mgmt_api_banned`): at most one of them. */
  page(query: BannedQuery): BannedPage {
    const { page, limit } = query;
    const exact = EXACT_FILTERS.filter((f) => query[f] !== undefined);
    const like = Object.keys(LIKE_KINDS).filter((f) => query[f as keyof BannedQuery] !== undefined);
    if (exact.length + like.length > 1) throw new BannedQueryError('too_many_filters');
    const meta = (count: number, shown: number) => ({ page, limit, count, hasnext: (page - 1) * limit + shown < count });
    if (exact.length === 1) {
      const as = exact[0]!;
      const found = this.#records.get(as, canonicalOrSame(as, query[as]!));
      const data = found ? [toEntry(found)!] : [];
      return { data, meta: { page, limit, count: data.length, hasnext: false } };
    }
    if (like.length === 1) {
      const filter = like[0]!;
      let pattern: RegExp;
      try {
        pattern = new RegExp(query[filter as keyof BannedQuery] as string);
      } catch (err) {
        throw new BannedQueryError(`The filter is not a validation regex expression: ${(err as Error).message}`);
      }
      const kinds = LIKE_KINDS[filter]!;
      const all = this.#records
        .all()
        .filter((b) => (kinds as readonly string[]).includes(b.as) && pattern.test(b.who))
        .map(toEntry)
        .filter((e): e is BannedEntry => e !== undefined);
      const data = all.slice((page - 1) * limit, page * limit);
      return { data, meta: meta(all.length, data.length) };
    }
    const count = this.#records.count();
    const data = this.#records
      .slice((page - 1) * limit, limit)
      .map(toEntry)
      .filter((e): e is BannedEntry => e !== undefined);
    return { data, meta: meta(count, data.length) };
  }

  /** Calls `observer` with every entry added from now on (by this process or another). */
  onAdded(observer: (entry: BannedEntry) => void): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /**
   * Starts the expiry timer and the poll for changes made by other processes (every `pollMs`
   * milliseconds: one read of the change counter). Both timers are unref'd.
   */
  start(options: { pollMs?: number } = {}): void {
    if (this.#running) return;
    this.#running = true;
    const pollMs = options.pollMs ?? DEFAULT_BANNED_POLL_MS;
    this.#pollTimer = setInterval(() => this.refresh(), pollMs);
    this.#pollTimer.unref();
    this.expire();
  }

  stop(): void {
    this.#running = false;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#pollTimer = undefined;
    this.#expiryTimer = undefined;
    this.#expiryAt = Infinity;
  }

  /** Reloads when another process changed the table since this list last read it. */
  refresh(): void {
    try {
      if (this.#records.version() !== this.#version) this.reload();
    } catch (err) {
      this.#logger?.error({ error: (err as Error).message }, 'banned list: cannot read the store');
    }
  }

  /** Reads the whole table again; entries new to this list are reported to `onAdded` observers. */
  reload(): void {
    const version = this.#records.version();
    const rows = this.#records.all();
    const before = new Map(this.#byKey);
    this.#clearIndexes();
    const fresh: BannedEntry[] = [];
    for (const row of rows) {
      const entry = toEntry(row);
      if (!entry) {
        this.#logger?.warn({ as: row.as, who: row.who }, 'banned list: entry of an unknown kind or unusable who skipped');
        continue;
      }
      const previous = before.get(keyOf(entry.as, entry.who))?.entry;
      if (!this.#tryIndex(entry)) continue;
      if (!previous || previous.at !== entry.at || previous.until !== entry.until || previous.reason !== entry.reason || previous.by !== entry.by) {
        fresh.push(entry);
      }
    }
    this.#version = version;
    if (this.#running) this.#armExpiry();
    const now = this.#now();
    // The first load reports nothing: there was no list before it to differ from.
    if (this.#loaded) for (const entry of fresh) if (!isExpired(entry, now)) this.#added(entry);
    this.#loaded = true;
  }

  /** Removes expired entries now (list and store) and arms the timer for the next expiry. */
  expire(): number {
    const now = this.#now();
    let removed = 0;
    const expired = [...this.#byKey.values()].filter((b) => isExpired(b.entry, now));
    if (expired.length > 0) {
      const write = this.#records.deleteExpired(now);
      this.#synced(write);
      for (const ban of expired) this.#unindex(ban);
      removed = write.result.length;
      if (removed > 0) this.#logger?.info({ count: removed }, 'expired banned entries removed');
    }
    if (this.#running) this.#armExpiry();
    return removed;
  }

  #armExpiry(): void {
    let next = Infinity;
    for (const ban of this.#byKey.values()) if (ban.entry.until !== undefined && ban.entry.until < next) next = ban.entry.until;
    this.#setExpiryTimer(next);
  }

  #setExpiryTimer(atSeconds: number): void {
    if (atSeconds === this.#expiryAt && this.#expiryTimer) return;
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    this.#expiryAt = atSeconds;
    if (atSeconds === Infinity) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, (atSeconds - this.#now()) * 1000));
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      this.#expiryAt = Infinity;
      this.expire();
    }, delay);
    this.#expiryTimer.unref();
  }

  /** Keeps the known version in step with this process's own write, unless another process wrote in between. */
  #synced(write: { version: number; previous: number }): void {
    if (write.previous === this.#version) this.#version = write.version;
  }

  #added(entry: BannedEntry): void {
    for (const observer of this.#observers) {
      try {
        observer(entry);
      } catch (err) {
        this.#logger?.error({ error: (err as Error).message }, 'banned list: an onAdded observer failed');
      }
    }
  }

  #tryIndex(entry: BannedEntry): boolean {
    try {
      this.#index(entry);
      return true;
    } catch (err) {
      this.#logger?.warn({ as: entry.as, who: entry.who, error: (err as Error).message }, 'banned list: entry skipped');
      return false;
    }
  }

  #index(entry: BannedEntry): void {
    const key = keyOf(entry.as, entry.who);
    const old = this.#byKey.get(key);
    if (old) this.#unindex(old);
    const isPattern = entry.as === 'clientid_re' || entry.as === 'username_re';
    const isAddress = entry.as === 'peerhost' || entry.as === 'peerhost_net';
    const network = isAddress ? parseNetwork(entry.who) : undefined;
    if (isAddress && !network) throw new BanInputError('who', `not an address or network: ${entry.who}`);
    const ban: Ban = { entry, pattern: isPattern ? compilePattern(entry.who) : NO_PATTERN, network };
    this.#byKind[entry.as].put(ban);
    this.#byKey.set(key, ban);
    if (this.#running && entry.until !== undefined && entry.until < this.#expiryAt) this.#setExpiryTimer(entry.until);
  }

  #unindex(ban: Ban): void {
    const key = keyOf(ban.entry.as, ban.entry.who);
    if (this.#byKey.get(key) !== ban) return;
    this.#byKey.delete(key);
    this.#byKind[ban.entry.as].remove(ban);
  }

  #clearIndexes(): void {
    this.#byKey.clear();
    this.#clientids.clear();
    this.#usernames.clear();
    this.#hosts.clear();
    this.#networks.clear();
    this.#clientidPatterns.clear();
    this.#usernamePatterns.clear();
  }
}

/** How one kind's entries go into and out of their index. */
interface KindIndex {
  put(ban: Ban): void;
  remove(ban: Ban): void;
}

function byWho(map: Map<string, Ban>): KindIndex {
  return { put: (b) => map.set(b.entry.who, b), remove: (b) => map.delete(b.entry.who) };
}

function byPattern(index: PatternIndex<Ban>): KindIndex {
  return { put: (b) => index.add(b), remove: (b) => index.delete(b) };
}

function byNetwork(index: NetworkIndex<Ban>): KindIndex {
  return { put: (b) => index.set(b.network!, b), remove: (b) => index.delete(b.network!) };
}

/**
 * Whether a client is one `entry` names (in force or not): to find the connected clients an
 * added entry shuts out (`BannedList.onAdded` → disconnect where this is true). Reads the
 * expression or network once.
 */
export function bannedClientMatcher(entry: BannedEntry): (client: BannedClient) => boolean {
  switch (entry.as) {
    case 'clientid':
      return (c) => c.clientid === entry.who;
    case 'username':
      return (c) => c.username === entry.who;
    case 'clientid_re': {
      const pattern = compilePattern(entry.who);
      return (c) => pattern.test(c.clientid);
    }
    case 'username_re': {
      const pattern = compilePattern(entry.who);
      return (c) => c.username !== undefined && pattern.test(c.username);
    }
    case 'peerhost':
    case 'peerhost_net': {
      const index = new NetworkIndex<true>();
      const network = parseNetwork(entry.who);
      if (network) index.set(network, true);
      const peer = new Uint32Array(4);
      const any = () => true;
      return (c) => {
        const family = readPeerAddress(c.peerhost, peer);
        return family !== 0 && index.find(family, peer, any) === true;
      };
    }
  }
}

/** A stored row as an entry, or undefined when its kind is unknown. */
function toEntry(row: StoredBan): BannedEntry | undefined {
  if (!isBanKind(row.as)) return undefined;
  const entry: BannedEntry = { as: row.as, who: row.who, by: row.by, reason: row.reason, at: row.at };
  if (row.until !== undefined) entry.until = row.until;
  return entry;
}

/** The canonical who when it can be read, else the text as given (it then matches nothing stored). */
function canonicalOrSame(as: BanKind, who: string): string {
  try {
    return canonicalWho(as, who);
  } catch {
    return who;
  }
}
