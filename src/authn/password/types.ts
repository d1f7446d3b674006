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

/** How a verification waits for its hashing slot. */
export interface VerifyOptions {
  /** Aborted when the caller stops waiting: a job still queued is dropped unrun. */
  signal?: AbortSignal;
  /** The client's address: queued verifications are served fairly by it, and bounded per address. */
  source?: string;
}
