import type Database from 'better-sqlite3';
import { StoreSchemaError } from './errors.js';

/**
 * Schema migrations, applied in order. `PRAGMA user_version` holds the number
 * of migrations already applied. Never edit a shipped migration: append one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: users, PSK entries, metadata.
  `
  CREATE TABLE users (
    user_group    TEXT    NOT NULL,
    user_id       TEXT    NOT NULL CHECK (user_id <> ''),
    password_hash TEXT    NOT NULL,
    salt          TEXT    NOT NULL DEFAULT '',
    is_superuser  INTEGER NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1)),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (user_group, user_id)
  ) WITHOUT ROWID;

  CREATE TABLE psk (
    identity TEXT NOT NULL PRIMARY KEY,
    secret   BLOB NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: authorization rules of the built-in database (§8.8), one record per client id,
  // username, and one for all ('' as its name); rules as a JSON array.
  `
  CREATE TABLE acl_rules (
    kind  TEXT NOT NULL CHECK (kind IN ('clientid', 'username', 'all')),
    who   TEXT NOT NULL CHECK ((kind = 'all') = (who = '')),
    rules TEXT NOT NULL,
    PRIMARY KEY (kind, who)
  ) WITHOUT ROWID;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Bring the schema up to date. Runs inside an IMMEDIATE transaction so two
 * processes opening a fresh file at once cannot both migrate.
 */
export function migrate(db: Database.Database): void {
  if (userVersion(db) === SCHEMA_VERSION) return;
  db.transaction(() => {
    const current = userVersion(db);
    if (current > SCHEMA_VERSION) {
      throw new StoreSchemaError(
        `database schema version ${current} is newer than this Gatehouse supports (${SCHEMA_VERSION})`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
