/** Records exchanged with the stores and backends. */
import type { StoredSalt } from './salt.js';

/** What hashPassword produces for the built-in database. */
export interface HashedPassword {
  password_hash: string;
  salt: string;
}

/** What a backend found for a user. */
export interface StoredPassword {
  password_hash: string;
  /** Absent means the empty salt; `null` cannot be used with a prefix/suffix salt. */
  salt?: StoredSalt;
}
