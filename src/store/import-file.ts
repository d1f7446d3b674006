import { extname } from 'node:path';
import { CsvSyntaxError, parseCsv } from './csv.js';
import { UserImportError } from './errors.js';
import type { ImportRecord } from './users.js';

export type UserFileFormat = 'csv' | 'json';
/** `plain`: the file holds passwords to hash; `hash`: stored hashes (§6.2). */
export type UserImportType = 'plain' | 'hash';

/** One user read from an import file, not yet hashed. */
export interface RawUser {
  user_id: string;
  /** Present for `plain` imports. */
  password?: string;
  /** Present for `hash` imports. */
  password_hash?: string;
  /** Present for `hash` imports (`''` when the file has none). */
  salt?: string;
  is_superuser: boolean;
  /** CSV: 1-based line the record starts on. JSON: 0-based array index. */
  line: number;
}

/** Choose the parser from a file name's extension (case-insensitive). */
export function formatFromFilename(name: string): UserFileFormat {
  const ext = extname(name);
  if (ext === '' || ext === '.') {
    throw new UserImportError('unknown_file_format', 'file name has no extension (expected .csv or .json)');
  }
  const lower = ext.toLowerCase();
  if (lower === '.csv') return 'csv';
  if (lower === '.json') return 'json';
  throw new UserImportError(
    'unsupported_file_format',
    `unsupported file extension ${JSON.stringify(ext)} (expected .csv or .json)`,
  );
}

function decode(content: string | Buffer): string {
  if (typeof content === 'string') return content;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    throw new UserImportError('bad_format', 'file is not valid UTF-8');
  }
}

/**
 * Parse a users file into raw rows. Throws UserImportError; messages name the
 * CSV line or JSON array index and never echo a password.
 *
 * An empty file (or a CSV with only a header) is `empty_users`, checked before
 * the column requirements so the shipped header-only bootstrap file is always
 * `empty_users` whatever the import type.
 */
export function parseUserFile(
  content: string | Buffer,
  format: UserFileFormat,
  type: UserImportType,
): RawUser[] {
  if (type !== 'plain' && type !== 'hash') {
    throw new UserImportError('bad_format', 'import type must be plain or hash');
  }
  const text = decode(content);
  if (format === 'csv') return parseCsvUsers(text, type);
  if (format === 'json') return parseJsonUsers(text, type);
  throw new UserImportError('unknown_file_format', 'file format must be csv or json');
}

function parseCsvUsers(text: string, type: UserImportType): RawUser[] {
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw new UserImportError('bad_format', err.message);
    throw err;
  }
  const [header, ...rows] = records;
  if (header === undefined || rows.length === 0) {
    throw new UserImportError('empty_users', 'the file contains no users');
  }
  const column = new Map<string, number>();
  header.fields.forEach((name, idx) => {
    if (name === '') {
      throw new UserImportError('bad_format', `line ${header.line}: header column ${idx + 1} has no name`);
    }
    if (column.has(name)) {
      throw new UserImportError('bad_format', `line ${header.line}: header names column ${JSON.stringify(name)} twice`);
    }
    column.set(name, idx);
  });
  const userIdCol = column.get('user_id');
  if (userIdCol === undefined) {
    throw new UserImportError('bad_format', `line ${header.line}: header has no user_id column`);
  }
  const secretName = type === 'plain' ? 'password' : 'password_hash';
  const secretCol = column.get(secretName);
  if (secretCol === undefined) {
    throw missingSecret(type, `line ${header.line}: header has no ${secretName} column`);
  }
  const saltCol = column.get('salt');
  const superCol = column.get('is_superuser');

  return rows.map(({ fields, line }) => {
    if (fields.length !== header.fields.length) {
      throw new UserImportError(
        'bad_format',
        `line ${line}: ${fields.length} fields where the header has ${header.fields.length}`,
      );
    }
    const userId = fields[userIdCol]!;
    if (userId === '') throw new UserImportError('bad_format', `line ${line}: user_id is empty`);
    const secret = fields[secretCol]!;
    if (secret === '') throw missingSecret(type, `line ${line}: ${secretName} is empty`);
    const isSuperuser = superCol !== undefined && fields[superCol] === 'true';
    return type === 'plain'
      ? { user_id: userId, password: secret, is_superuser: isSuperuser, line }
      : {
          user_id: userId,
          password_hash: secret,
          salt: saltCol === undefined ? '' : fields[saltCol]!,
          is_superuser: isSuperuser,
          line,
        };
  });
}

function missingSecret(type: UserImportType, message: string): UserImportError {
  return new UserImportError(
    type === 'plain' ? 'plain_import_requires_password_field' : 'hash_import_requires_password_hash_field',
    message,
  );
}

/** Convert a JSON.parse failure to a message with a line/column but no file content. */
function jsonSyntaxMessage(err: unknown, text: string): string {
  const m = err instanceof SyntaxError ? /position (\d+)/.exec(err.message) : null;
  if (m === null) return 'invalid JSON';
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `invalid JSON at line ${line} column ${column}`;
}

function parseJsonUsers(text: string, type: UserImportType): RawUser[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Never include err.message: V8 quotes part of the input, which may hold a password.
    throw new UserImportError('bad_format', jsonSyntaxMessage(err, text));
  }
  if (!Array.isArray(doc)) {
    throw new UserImportError('unknown_file_format', 'JSON users file must be an array of user objects');
  }
  if (doc.length === 0) throw new UserImportError('empty_users', 'the file contains no users');

  return doc.map((item: unknown, index): RawUser => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new UserImportError('bad_format', `index ${index}: user must be an object`);
    }
    const u = item as Record<string, unknown>;
    if (typeof u.user_id !== 'string' || u.user_id === '') {
      throw new UserImportError('bad_format', `index ${index}: user_id must be a non-empty string`);
    }
    const isSuperuser = u.is_superuser === true || u.is_superuser === 'true';
    if (type === 'plain') {
      if (u.password === undefined || u.password === null || u.password === '') {
        throw missingSecret(type, `index ${index}: password is missing`);
      }
      if (typeof u.password !== 'string') {
        throw new UserImportError('bad_format', `index ${index}: password must be a string`);
      }
      return { user_id: u.user_id, password: u.password, is_superuser: isSuperuser, line: index };
    }
    if (u.password_hash === undefined || u.password_hash === null || u.password_hash === '') {
      throw missingSecret(type, `index ${index}: password_hash is missing`);
    }
    if (typeof u.password_hash !== 'string') {
      throw new UserImportError('bad_format', `index ${index}: password_hash must be a string`);
    }
    if (u.salt !== undefined && u.salt !== null && typeof u.salt !== 'string') {
      throw new UserImportError('bad_format', `index ${index}: salt must be a string`);
    }
    return {
      user_id: u.user_id,
      password_hash: u.password_hash,
      salt: typeof u.salt === 'string' ? u.salt : '',
      is_superuser: isSuperuser,
      line: index,
    };
  });
}

/** Hashes one plain password with the authenticator's algorithm and a fresh salt. */
export type PasswordHasher = (password: string) => Promise<{ password_hash: string; salt: string }>;

/**
 * Turn parsed rows into ImportRecords ready for `store.users.importRecords`.
 * `plain` rows are hashed with `hash`, at most `concurrency` at a time (bcrypt
 * and pbkdf2 run on the hashing threads), so the slow part is asynchronous and the
 * single import transaction afterwards is short. `hash` rows pass through.
 */
export async function toImportRecords(
  rows: readonly RawUser[],
  hash: PasswordHasher,
  concurrency = 8,
): Promise<ImportRecord[]> {
  const out: ImportRecord[] = new Array(rows.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const i = next++;
      const row = rows[i]!;
      if (row.password_hash !== undefined) {
        out[i] = {
          user_id: row.user_id,
          password_hash: row.password_hash,
          salt: row.salt ?? '',
          is_superuser: row.is_superuser,
        };
      } else if (row.password !== undefined) {
        const hashed = await hash(row.password);
        out[i] = {
          user_id: row.user_id,
          password_hash: hashed.password_hash,
          salt: hashed.salt,
          is_superuser: row.is_superuser,
        };
      } else {
        throw new UserImportError('bad_format', `user ${JSON.stringify(row.user_id)} has neither password nor password_hash`);
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(concurrency) || 1, rows.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}
