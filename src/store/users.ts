import type Database from 'better-sqlite3';
import { StoreInputError } from './errors.js';

/** One stored user of a user group (a chain name, or a SCRAM authenticator id). */
export interface UserRecord {
  user_id: string;
  password_hash: string;
  salt: string;
  is_superuser: boolean;
  /** Milliseconds since the epoch. */
  created_at: number;
}

/** What a caller supplies to create a user (the password is already hashed). */
export interface NewUser {
  user_id: string;
  password_hash: string;
  salt: string;
  is_superuser: boolean;
}

/** One already-hashed user of an import. */
export type ImportRecord = NewUser;

export interface UserPatch {
  password_hash?: string;
  salt?: string;
  is_superuser?: boolean;
}

export interface UserListQuery {
  /** 1-based page number. */
  page: number;
  /** Page size, at least 1. */
  limit: number;
  /** Case-sensitive substring of the user id (no wildcards: `%` and `_` are literal). */
  like_user_id?: string;
  is_superuser?: boolean;
}

export interface UserListPage {
  data: { user_id: string; is_superuser: boolean }[];
  meta: { page: number; limit: number; count: number; hasnext: boolean };
}

/**
 * Import mode (§6.2): `override` replaces a different existing record (REST import);
 * `no_override` counts it as failed (bootstrap file).
 */
export type ImportMode = 'override' | 'no_override';

export interface ImportResult {
  total: number;
  success: number;
  override: number;
  skipped: number;
  failed: number;
}

interface UserRow {
  user_id: string;
  password_hash: string;
  salt: string;
  is_superuser: number;
  created_at: number;
}

function toRecord(row: UserRow): UserRecord {
  return {
    user_id: row.user_id,
    password_hash: row.password_hash,
    salt: row.salt,
    is_superuser: row.is_superuser === 1,
    created_at: row.created_at,
  };
}

function checkGroup(group: unknown): asserts group is string {
  if (typeof group !== 'string') {
    throw new StoreInputError('invalid_argument', 'user group must be a string');
  }
}

function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId === '') {
    throw new StoreInputError('invalid_user_id', 'user_id must be a non-empty string');
  }
}

/** Validate a record; `where` prefixes the message (e.g. "record 3: "). */
function checkNewUser(rec: unknown, where: string): asserts rec is NewUser {
  if (typeof rec !== 'object' || rec === null) {
    throw new StoreInputError('invalid_record', `${where}not an object`);
  }
  const r = rec as Record<string, unknown>;
  if (typeof r.user_id !== 'string' || r.user_id === '') {
    throw new StoreInputError('invalid_user_id', `${where}user_id must be a non-empty string`);
  }
  if (typeof r.password_hash !== 'string') {
    throw new StoreInputError('invalid_record', `${where}password_hash must be a string`);
  }
  if (typeof r.salt !== 'string') {
    throw new StoreInputError('invalid_record', `${where}salt must be a string`);
  }
  if (typeof r.is_superuser !== 'boolean') {
    throw new StoreInputError('invalid_record', `${where}is_superuser must be a boolean`);
  }
}

function checkPositiveInt(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new StoreInputError('invalid_paging', `${name} must be an integer >= 1`);
  }
}

/**
 * Users of the built-in database, keyed by (user_group, user_id). All calls are
 * synchronous and use statements prepared once when the store opens.
 */
export class UserTable {
  readonly #get: Database.Statement<[string, string], UserRow>;
  readonly #insert: Database.Statement<[string, string, string, string, number, number]>;
  readonly #update: Database.Statement<[string | null, string | null, number | null, string, string]>;
  readonly #replace: Database.Statement<[string, string, number, string, string]>;
  readonly #delete: Database.Statement<[string, string]>;
  readonly #deleteGroup: Database.Statement<[string]>;
  readonly #count: Database.Statement<[string], { n: number }>;
  readonly #listCount: Database.Statement<[ListParams], { n: number }>;
  readonly #listPage: Database.Statement<[ListParams & { limit: number; offset: number }], { user_id: string; is_superuser: number }>;
  readonly #import: (group: string, records: readonly ImportRecord[], mode: ImportMode) => ImportResult;

  constructor(db: Database.Database) {
    this.#get = db.prepare(
      'SELECT user_id, password_hash, salt, is_superuser, created_at FROM users WHERE user_group = ? AND user_id = ?',
    );
    this.#insert = db.prepare(
      `INSERT INTO users (user_group, user_id, password_hash, salt, is_superuser, created_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_group, user_id) DO NOTHING`,
    );
    this.#update = db.prepare(
      `UPDATE users SET password_hash = coalesce(?, password_hash), salt = coalesce(?, salt),
              is_superuser = coalesce(?, is_superuser)
       WHERE user_group = ? AND user_id = ?`,
    );
    this.#replace = db.prepare(
      'UPDATE users SET password_hash = ?, salt = ?, is_superuser = ? WHERE user_group = ? AND user_id = ?',
    );
    this.#delete = db.prepare('DELETE FROM users WHERE user_group = ? AND user_id = ?');
    this.#deleteGroup = db.prepare('DELETE FROM users WHERE user_group = ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM users WHERE user_group = ?');
    // instr() is a case-sensitive plain substring test: no LIKE wildcards, no case folding.
    const filter = `user_group = @group
        AND (@like IS NULL OR instr(user_id, @like) > 0)
        AND (@su IS NULL OR is_superuser = @su)`;
    this.#listCount = db.prepare(`SELECT count(*) AS n FROM users WHERE ${filter}`);
    this.#listPage = db.prepare(
      `SELECT user_id, is_superuser FROM users WHERE ${filter} ORDER BY user_id LIMIT @limit OFFSET @offset`,
    );
    // IMMEDIATE: take the write lock up front so busy_timeout applies instead of
    // failing with SQLITE_BUSY when another process wrote after our first read.
    const run = db.transaction((group: string, records: readonly ImportRecord[], mode: ImportMode) =>
      this.#importInTransaction(group, records, mode),
    );
    this.#import = (group, records, mode) => run.immediate(group, records, mode);
  }

  get(group: string, userId: string): UserRecord | undefined {
    const row = this.#get.get(group, userId);
    return row === undefined ? undefined : toRecord(row);
  }

  insert(group: string, rec: NewUser): 'ok' | 'already_exists' {
    checkGroup(group);
    checkNewUser(rec, '');
    const info = this.#insert.run(
      group,
      rec.user_id,
      rec.password_hash,
      rec.salt,
      rec.is_superuser ? 1 : 0,
      Date.now(),
    );
    return info.changes === 1 ? 'ok' : 'already_exists';
  }

  update(group: string, userId: string, patch: UserPatch): 'ok' | 'not_found' {
    checkGroup(group);
    checkUserId(userId);
    if (patch.password_hash !== undefined && typeof patch.password_hash !== 'string') {
      throw new StoreInputError('invalid_record', 'password_hash must be a string');
    }
    if (patch.salt !== undefined && typeof patch.salt !== 'string') {
      throw new StoreInputError('invalid_record', 'salt must be a string');
    }
    if (patch.is_superuser !== undefined && typeof patch.is_superuser !== 'boolean') {
      throw new StoreInputError('invalid_record', 'is_superuser must be a boolean');
    }
    const su = patch.is_superuser === undefined ? null : patch.is_superuser ? 1 : 0;
    const info = this.#update.run(patch.password_hash ?? null, patch.salt ?? null, su, group, userId);
    return info.changes === 1 ? 'ok' : 'not_found';
  }

  delete(group: string, userId: string): 'ok' | 'not_found' {
    return this.#delete.run(group, userId).changes === 1 ? 'ok' : 'not_found';
  }

  /** Remove every user of a group (authenticator deleted). Returns how many were removed. */
  deleteGroup(group: string): number {
    return this.#deleteGroup.run(group).changes;
  }

  count(group: string): number {
    return this.#count.get(group)!.n;
  }

  /** One page of users ordered by user_id; `count` is the number of matching users. */
  list(group: string, query: UserListQuery): UserListPage {
    checkGroup(group);
    checkPositiveInt(query.page, 'page');
    checkPositiveInt(query.limit, 'limit');
    if (query.like_user_id !== undefined && typeof query.like_user_id !== 'string') {
      throw new StoreInputError('invalid_argument', 'like_user_id must be a string');
    }
    if (query.is_superuser !== undefined && typeof query.is_superuser !== 'boolean') {
      throw new StoreInputError('invalid_argument', 'is_superuser must be a boolean');
    }
    const params: ListParams = {
      group,
      like: query.like_user_id ?? null,
      su: query.is_superuser === undefined ? null : query.is_superuser ? 1 : 0,
    };
    const count = this.#listCount.get(params)!.n;
    const offset = (query.page - 1) * query.limit;
    const rows = offset >= count ? [] : this.#listPage.all({ ...params, limit: query.limit, offset });
    return {
      data: rows.map((r) => ({ user_id: r.user_id, is_superuser: r.is_superuser === 1 })),
      meta: { page: query.page, limit: query.limit, count, hasnext: offset + rows.length < count },
    };
  }

  /**
   * Import already-hashed users in ONE transaction (§6.2), in array order, each
   * row judged against the table as left by the rows before it: new → success;
   * identical (hash, salt, is_superuser) → skipped; different → override
   * (`override` mode, created_at kept) or failed (`no_override`). So a user id
   * repeated within one import counts like any other existing user.
   * An invalid record throws StoreInputError naming its index and nothing is written.
   * Hash passwords (asynchronously, in batches) before calling this.
   */
  importRecords(group: string, records: readonly ImportRecord[], mode: ImportMode): ImportResult {
    checkGroup(group);
    if (!Array.isArray(records)) {
      throw new StoreInputError('invalid_argument', 'records must be an array');
    }
    if (mode !== 'override' && mode !== 'no_override') {
      throw new StoreInputError('invalid_argument', 'mode must be override or no_override');
    }
    return this.#import(group, records, mode);
  }

  #importInTransaction(group: string, records: readonly ImportRecord[], mode: ImportMode): ImportResult {
    const result: ImportResult = { total: records.length, success: 0, override: 0, skipped: 0, failed: 0 };
    const now = Date.now();
    for (let i = 0; i < records.length; i++) {
      const rec = records[i];
      checkNewUser(rec, `record ${i}: `);
      const su = rec.is_superuser ? 1 : 0;
      const existing = this.#get.get(group, rec.user_id);
      if (existing === undefined) {
        this.#insert.run(group, rec.user_id, rec.password_hash, rec.salt, su, now);
        result.success++;
      } else if (
        existing.password_hash === rec.password_hash &&
        existing.salt === rec.salt &&
        existing.is_superuser === su
      ) {
        result.skipped++;
      } else if (mode === 'override') {
        this.#replace.run(rec.password_hash, rec.salt, su, group, rec.user_id);
        result.override++;
      } else {
        result.failed++;
      }
    }
    return result;
  }

}

interface ListParams {
  group: string;
  like: string | null;
  su: number | null;
}
