import type Database from 'better-sqlite3';

/**
 * The banned list's durable copy (emqx5-auth.md §13.4): one row per (kind, who), kept in
 * insertion order for paging. The running node holds the list in memory
 * (src/access/banned/list.ts); this table is what survives a restart and what the CLI
 * writes while the node runs.
 *
 * Every write bumps `banned_changes.version` in the same transaction, so another process
 * learns of a change by reading one row (`version()`), which the node polls.
 *
 * The tables are created here, if absent, rather than by a numbered migration in
 * schema.ts: they are new and stand alone (no existing row changes shape), and this keeps
 * the migration list free for the branches that change shipped tables.
 */
export interface StoredBan {
  /** EMQX's kind: clientid, username, peerhost, clientid_re, username_re, peerhost_net. */
  as: string;
  who: string;
  by: string;
  reason: string;
  /** Seconds since the epoch. */
  at: number;
  /** Seconds since the epoch; undefined = infinity. */
  until?: number;
}

/** A write's effect and the change counter after it. */
export interface BanWrite<T> {
  result: T;
  /** `version()` right after this write, read in the same transaction. */
  version: number;
  /** `version()` right before it: `version - 1` unless nothing was written. */
  previous: number;
}

export type BanInsertResult = { inserted: true; replaced?: StoredBan } | { inserted: false; existing: StoredBan };

interface BanRow {
  kind: string;
  who: string;
  by: string;
  reason: string;
  at: number;
  until: number | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS banned (
    kind   TEXT    NOT NULL,
    who    TEXT    NOT NULL CHECK (who <> ''),
    by     TEXT    NOT NULL,
    reason TEXT    NOT NULL,
    at     INTEGER NOT NULL,
    until  INTEGER,
    UNIQUE (kind, who)
  );
  CREATE TABLE IF NOT EXISTS banned_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  );
  INSERT OR IGNORE INTO banned_changes (id, version) VALUES (1, 0);
`;

function toBan(row: BanRow): StoredBan {
  const ban: StoredBan = { as: row.kind, who: row.who, by: row.by, reason: row.reason, at: row.at };
  if (row.until !== null) ban.until = row.until;
  return ban;
}

export class BannedTable {
  readonly #version: Database.Statement<[], { version: number }>;
  readonly #bump: Database.Statement<[]>;
  readonly #get: Database.Statement<[string, string], BanRow>;
  readonly #all: Database.Statement<[], BanRow>;
  readonly #count: Database.Statement<[], { n: number }>;
  readonly #page: Database.Statement<[number, number], BanRow>;
  readonly #insert: Database.Statement<[string, string, string, string, number, number | null]>;
  readonly #replace: Database.Statement<[string, string, number, number | null, string, string]>;
  readonly #delete: Database.Statement<[string, string]>;
  readonly #clear: Database.Statement<[]>;
  readonly #expired: Database.Statement<[number], BanRow>;
  readonly #deleteExpired: Database.Statement<[number]>;
  readonly #write: <T>(change: () => { result: T; changed: boolean }) => BanWrite<T>;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    const columns = 'kind, who, by, reason, at, until';
    this.#version = db.prepare('SELECT version FROM banned_changes WHERE id = 1');
    this.#bump = db.prepare('UPDATE banned_changes SET version = version + 1 WHERE id = 1');
    this.#get = db.prepare(`SELECT ${columns} FROM banned WHERE kind = ? AND who = ?`);
    this.#all = db.prepare(`SELECT ${columns} FROM banned ORDER BY rowid`);
    this.#count = db.prepare('SELECT count(*) AS n FROM banned');
    this.#page = db.prepare(`SELECT ${columns} FROM banned ORDER BY rowid LIMIT ? OFFSET ?`);
    this.#insert = db.prepare('INSERT INTO banned (kind, who, by, reason, at, until) VALUES (?, ?, ?, ?, ?, ?)');
    this.#replace = db.prepare('UPDATE banned SET by = ?, reason = ?, at = ?, until = ? WHERE kind = ? AND who = ?');
    this.#delete = db.prepare('DELETE FROM banned WHERE kind = ? AND who = ?');
    this.#clear = db.prepare('DELETE FROM banned');
    this.#expired = db.prepare(`SELECT ${columns} FROM banned WHERE until IS NOT NULL AND until <= ? ORDER BY rowid`);
    this.#deleteExpired = db.prepare('DELETE FROM banned WHERE until IS NOT NULL AND until <= ?');
    // IMMEDIATE: take the write lock first, so a concurrent writer (the CLI) waits on busy_timeout.
    const transaction = db.transaction((change: () => { result: unknown; changed: boolean }): BanWrite<unknown> => {
      const previous = this.version();
      const { result, changed } = change();
      if (changed) this.#bump.run();
      return { result, version: changed ? previous + 1 : previous, previous };
    });
    this.#write = <T>(change: () => { result: T; changed: boolean }) => transaction.immediate(change) as BanWrite<T>;
  }

  /** The change counter: different from an earlier reading when any process changed the table since. */
  version(): number {
    return this.#version.get()!.version;
  }

  get(as: string, who: string): StoredBan | undefined {
    const row = this.#get.get(as, who);
    return row === undefined ? undefined : toBan(row);
  }

  /** Every entry, oldest first. */
  all(): StoredBan[] {
    return this.#all.all().map(toBan);
  }

  count(): number {
    return this.#count.get()!.n;
  }

  /** Entries `offset` to `offset + limit`, oldest first. */
  slice(offset: number, limit: number): StoredBan[] {
    return this.#page.all(limit, offset).map(toBan);
  }

  /**
   * Adds an entry unless one of the same kind and who is still in force at `nowSeconds`
   * (then `existing` is that one); an expired one is overwritten (EMQX `emqx_banned:create`:
   * a ban is not shortened or extended by adding it again).
   */
  insert(ban: StoredBan, nowSeconds: number): BanWrite<BanInsertResult> {
    return this.#write<BanInsertResult>(() => {
      const result = this.#insertOne(ban, nowSeconds);
      return { result, changed: result.inserted };
    });
  }

  /** As `insert` for each entry, in one transaction (imports, benchmarks): one result per entry. */
  insertMany(bans: readonly StoredBan[], nowSeconds: number): BanWrite<BanInsertResult[]> {
    return this.#write<BanInsertResult[]>(() => {
      const results = bans.map((ban) => this.#insertOne(ban, nowSeconds));
      return { result: results, changed: results.some((r) => r.inserted) };
    });
  }

  #insertOne(ban: StoredBan, nowSeconds: number): BanInsertResult {
    const row = this.#get.get(ban.as, ban.who);
    if (row !== undefined) {
      const existing = toBan(row);
      if (existing.until === undefined || existing.until > nowSeconds) return { inserted: false, existing };
      this.#replace.run(ban.by, ban.reason, ban.at, ban.until ?? null, ban.as, ban.who);
      return { inserted: true, replaced: existing };
    }
    this.#insert.run(ban.as, ban.who, ban.by, ban.reason, ban.at, ban.until ?? null);
    return { inserted: true };
  }

  delete(as: string, who: string): BanWrite<boolean> {
    return this.#write(() => {
      const removed = this.#delete.run(as, who).changes === 1;
      return { result: removed, changed: removed };
    });
  }

  /** Removes every entry; the result is how many there were. */
  clear(): BanWrite<number> {
    return this.#write(() => {
      const n = this.#clear.run().changes;
      return { result: n, changed: n > 0 };
    });
  }

  /** Removes the entries whose `until` is not after `nowSeconds`; the result is those entries. */
  deleteExpired(nowSeconds: number): BanWrite<StoredBan[]> {
    return this.#write(() => {
      const gone = this.#expired.all(nowSeconds).map(toBan);
      if (gone.length > 0) this.#deleteExpired.run(nowSeconds);
      return { result: gone, changed: gone.length > 0 };
    });
  }
}
