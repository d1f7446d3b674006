import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { PskImportError, StoreInputError } from './errors.js';

export interface PskEntry {
  identity: string;
  /** The secret bytes exactly as given (text secrets are NOT hex-decoded). */
  secret: Buffer;
}

export const DEFAULT_PSK_SEPARATOR = ':';
export const DEFAULT_PSK_CHUNK_SIZE = 50;

function checkChunkSize(chunkSize: unknown): asserts chunkSize is number {
  if (typeof chunkSize !== 'number' || !Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new StoreInputError('invalid_argument', 'chunk size must be an integer >= 1');
  }
}

/** TLS-PSK identities and secrets (§11.5). */
export class PskTable {
  readonly #get: Database.Statement<[string], { secret: Buffer }>;
  readonly #delete: Database.Statement<[string]>;
  readonly #count: Database.Statement<[], { n: number }>;
  readonly #writeChunk: (entries: readonly PskEntry[]) => void;

  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT secret FROM psk WHERE identity = ?');
    this.#delete = db.prepare('DELETE FROM psk WHERE identity = ?');
    this.#count = db.prepare('SELECT count(*) AS n FROM psk');
    const upsert = db.prepare<[string, Buffer]>(
      'INSERT INTO psk (identity, secret) VALUES (?, ?) ON CONFLICT (identity) DO UPDATE SET secret = excluded.secret',
    );
    const chunk = db.transaction((entries: readonly PskEntry[]) => {
      for (const e of entries) upsert.run(e.identity, e.secret);
    });
    this.#writeChunk = (entries) => chunk.immediate(entries);
  }

  get(identity: string): Buffer | undefined {
    return this.#get.get(identity)?.secret;
  }

  delete(identity: string): 'ok' | 'not_found' {
    return this.#delete.run(identity).changes === 1 ? 'ok' : 'not_found';
  }

  count(): number {
    return this.#count.get()!.n;
  }

  /**
   * Insert or overwrite entries, one transaction per `chunkSize` entries
   * (later entries with the same identity win). Returns the number written.
   */
  upsertMany(entries: readonly PskEntry[], chunkSize: number = DEFAULT_PSK_CHUNK_SIZE): number {
    checkChunkSize(chunkSize);
    entries.forEach((e, i) => {
      if (typeof e?.identity !== 'string') {
        throw new StoreInputError('invalid_record', `PSK entry ${i}: identity must be a string`);
      }
      if (!Buffer.isBuffer(e.secret)) {
        throw new StoreInputError('invalid_record', `PSK entry ${i}: secret must be a Buffer`);
      }
    });
    for (let i = 0; i < entries.length; i += chunkSize) {
      this.#writeChunk(entries.slice(i, i + chunkSize));
    }
    return entries.length;
  }

  /**
   * Import a PSK file: one `identity<separator>secret` per line, split at the
   * first separator, trailing CR/LF stripped from the secret, the secret kept
   * as its literal bytes. Written in transactions of `chunkSize` lines. A line
   * without the separator (an empty line included) throws PskImportError
   * naming the 1-based line; complete chunks before it stay written, the chunk
   * holding the bad line is not written.
   */
  importPskFile(
    content: string | Buffer,
    separator: string = DEFAULT_PSK_SEPARATOR,
    chunkSize: number = DEFAULT_PSK_CHUNK_SIZE,
  ): { imported: number } {
    checkChunkSize(chunkSize);
    if (typeof separator !== 'string' || separator === '') {
      throw new StoreInputError('invalid_argument', 'PSK separator must be a non-empty string');
    }
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const sep = Buffer.from(separator, 'utf8');
    let imported = 0;
    let pending: PskEntry[] = [];
    let lineNo = 0;
    let start = 0;
    while (start < bytes.length) {
      lineNo++;
      const nl = bytes.indexOf(0x0a, start);
      const end = nl === -1 ? bytes.length : nl;
      const line = bytes.subarray(start, end);
      start = end + 1;
      const at = line.indexOf(sep);
      if (at === -1) {
        throw new PskImportError(
          lineNo,
          `PSK file line ${lineNo}: bad_format (no separator ${JSON.stringify(separator)})`,
          imported,
        );
      }
      let secret = line.subarray(at + sep.length);
      if (secret.length > 0 && secret[secret.length - 1] === 0x0d) secret = secret.subarray(0, -1);
      pending.push({
        identity: line.subarray(0, at).toString('utf8'),
        secret: Buffer.from(secret),
      });
      if (pending.length === chunkSize) {
        this.#writeChunk(pending);
        imported += pending.length;
        pending = [];
      }
    }
    if (pending.length > 0) {
      this.#writeChunk(pending);
      imported += pending.length;
    }
    return { imported };
  }
}

/**
 * `psk_authentication.init_file`, read into the table at start (EMQX imports it whenever it
 * is set, even with enable = false). A file that cannot be read is an error naming the setting;
 * PskImportError names the bad line, never the secret.
 */
export function importPskInitFile(table: PskTable, path: string, separator: string, chunkSize: number): { imported: number } {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (err) {
    throw new Error(`psk_authentication.init_file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return table.importPskFile(content, separator, chunkSize);
}
