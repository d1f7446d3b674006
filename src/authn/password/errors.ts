/**
 * Typed errors of the password-hashing module. None of them ever carries a
 * password, a salt or a stored hash in its message: only the reason.
 */

/** Base class: every failure raised by this module is one of these. */
export class PasswordHashError extends Error {
  /** Stable machine-readable reason, e.g. `invalid_salt`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'PasswordHashError';
    this.code = code;
  }
}

/**
 * The stored salt cannot be used with the configured `salt_position`
 * (EMQX crashes the authenticator here, which the chain counts as *ignore*).
 */
export class InvalidSaltError extends PasswordHashError {
  constructor(message: string) {
    super('invalid_salt', message);
    this.name = 'InvalidSaltError';
  }
}

/** The stored record itself is unusable (e.g. the hash is not a string). */
export class InvalidStoredPasswordError extends PasswordHashError {
  constructor(message: string) {
    super('invalid_stored_password', message);
    this.name = 'InvalidStoredPasswordError';
  }
}

/** A `password_hash_algorithm` object is malformed or cannot be used for this operation. */
export class InvalidAlgorithmError extends PasswordHashError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'InvalidAlgorithmError';
  }
}

/** Which bound a refused verification met: its source's (client address's) queue, or the whole queue. */
export type HashBusyBound = 'source' | 'total';

/** Why a login was refused as busy, in words (HashBusyError's message, an authenticator's detail). */
export function hashBusyMessage(bound: HashBusyBound): string {
  return bound === 'source' ? 'password verification queue for this address is full' : 'password verification queue is full';
}

/**
 * Too many expensive (bcrypt / pbkdf2) verifications are already waiting, from this client's
 * address (`source`) or in all (`total`). Authentication answers it as `server_busy`
 * (CONNACK 0x89, v3 code 3) at once, without hashing.
 */
export class HashBusyError extends PasswordHashError {
  constructor(readonly bound: HashBusyBound = 'total') {
    super('server_busy', hashBusyMessage(bound));
    this.name = 'HashBusyError';
  }
}

/** A queued verification whose caller stopped waiting (an authenticator timeout); never run. */
export class HashCancelledError extends PasswordHashError {
  constructor(message = 'password verification cancelled before it ran') {
    super('cancelled', message);
    this.name = 'HashCancelledError';
  }
}
