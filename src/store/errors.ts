/**
 * Typed errors raised by the built-in database. Messages name a position
 * (line, array index, record index) and never contain a secret value.
 */

export type UserImportErrorCode =
  | 'bad_format'
  | 'empty_users'
  | 'plain_import_requires_password_field'
  | 'hash_import_requires_password_hash_field'
  | 'unknown_file_format'
  | 'unsupported_file_format';

/** A users file (CSV/JSON) or filename that cannot be imported. */
export class UserImportError extends Error {
  override readonly name = 'UserImportError';
  constructor(
    readonly code: UserImportErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A PSK file line that cannot be imported (§11.5). `line` is 1-based. */
export class PskImportError extends Error {
  override readonly name = 'PskImportError';
  readonly code = 'bad_format' as const;
  constructor(
    readonly line: number,
    message: string,
    /** Entries written (in complete chunks) before the bad line was met. */
    readonly imported: number,
  ) {
    super(message);
  }
}

export type StoreInputErrorCode = 'invalid_user_id' | 'invalid_record' | 'invalid_paging' | 'invalid_argument';

/** A caller passed a value the store refuses (empty user id, bad page number, ...). */
export class StoreInputError extends Error {
  override readonly name = 'StoreInputError';
  constructor(
    readonly code: StoreInputErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The database file was written by a newer Gatehouse (unknown schema version). */
export class StoreSchemaError extends Error {
  override readonly name = 'StoreSchemaError';
}
