import type Database from 'better-sqlite3';

/** A small string key-value table for node-wide settings (e.g. the admin password hash). */
export class MetaTable {
  readonly #get: Database.Statement<[string], { value: string }>;
  readonly #set: Database.Statement<[string, string]>;
  readonly #delete: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.#set = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.#delete = db.prepare('DELETE FROM meta WHERE key = ?');
  }

  get(key: string): string | undefined {
    return this.#get.get(key)?.value;
  }

  set(key: string, value: string): void {
    this.#set.run(key, value);
  }

  delete(key: string): boolean {
    return this.#delete.run(key).changes === 1;
  }
}
