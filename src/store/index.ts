import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BannedTable } from './banned.js';
import { AclTable } from './acl.js';
import { MetaTable } from './meta.js';
import { PskTable } from './psk.js';
import { migrate } from './schema.js';
import { UserTable } from './users.js';

export { PskImportError, StoreInputError, StoreSchemaError, UserImportError } from './errors.js';
export type { StoreInputErrorCode, UserImportErrorCode } from './errors.js';
export { formatFromFilename, parseUserFile, toImportRecords } from './import-file.js';
export type { PasswordHasher, RawUser, UserFileFormat, UserImportType } from './import-file.js';
export { DEFAULT_PSK_CHUNK_SIZE, DEFAULT_PSK_SEPARATOR, PskTable } from './psk.js';
export type { PskEntry } from './psk.js';
export { MetaTable } from './meta.js';
export { AclTable } from './acl.js';
export type { AclChangeListener, AclKind, AclListPage, AclListQuery, AclRecord } from './acl.js';
export { SCHEMA_VERSION } from './schema.js';
export { UserTable } from './users.js';
export { BannedTable } from './banned.js';
export type { BanInsertResult, BanWrite, StoredBan } from './banned.js';
export type {
  ImportMode,
  ImportRecord,
  ImportResult,
  NewUser,
  UserListPage,
  UserListQuery,
  UserPatch,
  UserRecord,
} from './users.js';

export interface StoreSettings {
  journal_mode: string;
  /** SQLite code: 2 = FULL. */
  synchronous: number;
  busy_timeout_ms: number;
  schema_version: number;
}

export const DATABASE_FILE = 'gatehouse.db';
/** How long a write waits for another process (broker or CLI) holding the lock. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * The built-in database: one SQLite file `<dataDir>/gatehouse.db` in WAL mode
 * with `synchronous = FULL`, so a call that returned has reached the disk and
 * survives kill -9 (and power loss). Several processes may open the same file;
 * a writer waits up to BUSY_TIMEOUT_MS for another one's lock.
 */
export class BuiltInStore {
  readonly users: UserTable;
  readonly psk: PskTable;
  readonly meta: MetaTable;
  readonly banned: BannedTable;
  /** Authorization rules of the built-in database (§8.8). */
  readonly acl: AclTable;
  readonly path: string;
  readonly #db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
    this.users = new UserTable(db);
    this.psk = new PskTable(db);
    this.meta = new MetaTable(db);
    this.banned = new BannedTable(db);
    this.acl = new AclTable(db);
  }

  /** Open (creating the directory and file if needed) and migrate the schema. */
  static open(dataDir: string): BuiltInStore {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, DATABASE_FILE);
    // SQLite creates its files 0644; it gives the WAL, shared-memory and journal files the
    // database file's mode, so the database is made 0600 before SQLite opens it.
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    const db = new Database(path);
    try {
      // busy_timeout first: switching to WAL needs a lock another process may hold.
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not switch ${path} to WAL mode (got ${String(mode)})`);
      db.pragma('synchronous = FULL');
      migrate(db);
      for (const suffix of ['-wal', '-shm', '-journal']) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
      return new BuiltInStore(path, db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The connection settings in force (for health output and tests). */
  settings(): StoreSettings {
    const read = (name: string): unknown => this.#db.pragma(name, { simple: true });
    return {
      journal_mode: String(read('journal_mode')),
      synchronous: Number(read('synchronous')),
      busy_timeout_ms: Number(read('busy_timeout')),
      schema_version: Number(read('user_version')),
    };
  }

  get isOpen(): boolean {
    return this.#db.open;
  }

  /** Close the connection; later calls on the tables throw. Safe to call twice. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
