import type Database from 'better-sqlite3';
import { StoreInputError } from './errors.js';

/**
 * Authorization rules of the built-in database (§8.8): one record per client id, one per
 * username and one for all clients, each an ordered list of rules. The store keeps each
 * list as JSON and does not read the rules (src/authz checks and normalises them).
 *
 * Every write also bumps `acl_generation` in the meta table, in the same transaction, so a
 * broker can see a change made by another process (`gatehouse acl ...`) with one cheap read.
 * Writes made through this object are also announced at once to `onChange` listeners.
 */

export type AclKind = 'clientid' | 'username' | 'all';

export interface AclRecord {
  kind: AclKind;
  /** The client id or username; '' for the `all` record. */
  who: string;
  rules: unknown[];
}

export interface AclListQuery {
  /** 1-based page number. */
  page: number;
  limit: number;
  /** Case-sensitive substring of the client id or username (`%` and `_` are literal). */
  like?: string;
}

export interface AclListPage {
  data: Array<{ who: string; rules: unknown[] }>;
  meta: { page: number; limit: number; count: number; hasnext: boolean };
}

/** What changed: one record, or (who undefined) possibly everything. */
export type AclChangeListener = (kind: AclKind | undefined, who: string | undefined) => void;

const GENERATION_KEY = 'acl_generation';

interface Row {
  who: string;
  rules: string;
}

function checkKind(kind: unknown): asserts kind is AclKind {
  if (kind !== 'clientid' && kind !== 'username' && kind !== 'all') throw new StoreInputError('invalid_argument', 'kind must be clientid, username or all');
}

function checkWho(kind: AclKind, who: unknown): asserts who is string {
  if (kind === 'all' ? who !== '' : typeof who !== 'string' || who === '') {
    throw new StoreInputError('invalid_argument', kind === 'all' ? 'the all record has no name' : `${kind} must be a non-empty string`);
  }
}

function checkRules(rules: unknown, where = ''): asserts rules is unknown[] {
  if (!Array.isArray(rules)) throw new StoreInputError('invalid_record', `${where}rules must be an array`);
}

function parseRules(text: string): unknown[] {
  const rules = JSON.parse(text) as unknown;
  return Array.isArray(rules) ? rules : [];
}

export class AclTable {
  readonly #get: Database.Statement<[string, string], Row>;
  readonly #put: Database.Statement<[string, string, string]>;
  readonly #insert: Database.Statement<[string, string, string]>;
  readonly #delete: Database.Statement<[string, string]>;
  readonly #all: Database.Statement<[], Row & { kind: AclKind }>;
  readonly #listCount: Database.Statement<[{ kind: string; like: string | null }], { n: number }>;
  readonly #listPage: Database.Statement<[{ kind: string; like: string | null; limit: number; offset: number }], Row>;
  readonly #purge: Database.Statement<[]>;
  readonly #generation: Database.Statement<[], { value: string }>;
  readonly #bump: Database.Statement<[]>;
  readonly #write: <T>(fn: () => T) => T;
  readonly #listeners = new Set<AclChangeListener>();

  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT who, rules FROM acl_rules WHERE kind = ? AND who = ?');
    this.#put = db.prepare('INSERT INTO acl_rules (kind, who, rules) VALUES (?, ?, ?) ON CONFLICT (kind, who) DO UPDATE SET rules = excluded.rules');
    this.#insert = db.prepare('INSERT INTO acl_rules (kind, who, rules) VALUES (?, ?, ?) ON CONFLICT (kind, who) DO NOTHING');
    this.#delete = db.prepare('DELETE FROM acl_rules WHERE kind = ? AND who = ?');
    this.#all = db.prepare('SELECT kind, who, rules FROM acl_rules');
    const filter = 'kind = @kind AND (@like IS NULL OR instr(who, @like) > 0)';
    this.#listCount = db.prepare(`SELECT count(*) AS n FROM acl_rules WHERE ${filter}`);
    this.#listPage = db.prepare(`SELECT who, rules FROM acl_rules WHERE ${filter} ORDER BY who LIMIT @limit OFFSET @offset`);
    this.#purge = db.prepare('DELETE FROM acl_rules');
    this.#generation = db.prepare(`SELECT value FROM meta WHERE key = '${GENERATION_KEY}'`);
    this.#bump = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('${GENERATION_KEY}', '1')
       ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)`,
    );
    // IMMEDIATE: take the write lock first, so busy_timeout applies between processes.
    this.#write = <T>(fn: () => T): T => db.transaction(fn).immediate();
  }

  /** Increases on every write, by any process. */
  generation(): number {
    return Number(this.#generation.get()?.value ?? 0);
  }

  /** Called after each write made through this object (not for other processes' writes). */
  onChange(listener: AclChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  private changed(kind: AclKind | undefined, who: string | undefined): void {
    for (const l of this.#listeners) l(kind, who);
  }

  get(kind: AclKind, who: string): unknown[] | undefined {
    checkKind(kind);
    const row = this.#get.get(kind, who);
    return row === undefined ? undefined : parseRules(row.rules);
  }

  /** Creates or replaces one record. */
  put(kind: AclKind, who: string, rules: unknown[]): void {
    checkKind(kind);
    checkWho(kind, who);
    checkRules(rules);
    this.#write(() => {
      this.#put.run(kind, who, JSON.stringify(rules));
      this.#bump.run();
    });
    this.changed(kind, who);
  }

  /**
   * Creates several records of one kind in one transaction, or none: when one already
   * exists, nothing is written and its name is returned (the REST POST's 409).
   */
  insertMany(kind: 'clientid' | 'username', records: ReadonlyArray<{ who: string; rules: unknown[] }>): { exists: string } | undefined {
    checkKind(kind);
    records.forEach((r, i) => {
      checkWho(kind, r.who);
      checkRules(r.rules, `record ${i}: `);
    });
    const exists = this.#write(() => {
      for (const r of records) if (this.#get.get(kind, r.who)) return r.who;
      for (const r of records) this.#insert.run(kind, r.who, JSON.stringify(r.rules));
      if (records.length > 0) this.#bump.run();
      return undefined;
    });
    if (exists !== undefined) return { exists };
    if (records.length > 0) this.changed(records.length === 1 ? kind : undefined, records.length === 1 ? records[0]!.who : undefined);
    return undefined;
  }

  /** Creates or replaces many records of any kind in one transaction (an import). */
  putMany(records: readonly AclRecord[]): void {
    records.forEach((r, i) => {
      checkKind(r.kind);
      checkWho(r.kind, r.who);
      checkRules(r.rules, `record ${i}: `);
    });
    if (records.length === 0) return;
    this.#write(() => {
      for (const r of records) this.#put.run(r.kind, r.who, JSON.stringify(r.rules));
      this.#bump.run();
    });
    this.changed(undefined, undefined);
  }

  delete(kind: AclKind, who: string): 'ok' | 'not_found' {
    checkKind(kind);
    const removed = this.#write(() => {
      const n = this.#delete.run(kind, who).changes;
      if (n > 0) this.#bump.run();
      return n;
    });
    if (removed === 0) return 'not_found';
    this.changed(kind, who);
    return 'ok';
  }

  /** Removes every record. */
  purge(): void {
    this.#write(() => {
      this.#purge.run();
      this.#bump.run();
    });
    this.changed(undefined, undefined);
  }

  /** One page of the client-id or username records, ordered by name. */
  list(kind: 'clientid' | 'username', query: AclListQuery): AclListPage {
    checkKind(kind);
    for (const [name, v] of [['page', query.page], ['limit', query.limit]] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new StoreInputError('invalid_paging', `${name} must be an integer >= 1`);
    }
    if (query.like !== undefined && typeof query.like !== 'string') throw new StoreInputError('invalid_argument', 'like must be a string');
    const params = { kind, like: query.like ?? null };
    const count = this.#listCount.get(params)!.n;
    const offset = (query.page - 1) * query.limit;
    const rows = offset >= count ? [] : this.#listPage.all({ ...params, limit: query.limit, offset });
    return {
      data: rows.map((r) => ({ who: r.who, rules: parseRules(r.rules) })),
      meta: { page: query.page, limit: query.limit, count, hasnext: offset + rows.length < count },
    };
  }

  /** Every record (to build an in-memory index). */
  *records(): Generator<AclRecord> {
    for (const row of this.#all.iterate()) yield { kind: row.kind, who: row.who, rules: parseRules(row.rules) };
  }
}
