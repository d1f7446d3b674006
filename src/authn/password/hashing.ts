/**
 * hashPassword / verifyPassword: pick the scheme by `algorithm.name`.
 * The set of algorithms is closed (EMQX's), so a checked switch is the registry.
 */
import { isSimpleHash, type PasswordHashAlgorithm } from './algorithm.js';
import { hashBcrypt, verifyBcrypt } from './bcrypt.js';
import { InvalidAlgorithmError, InvalidStoredPasswordError, PasswordHashError } from './errors.js';
import { hashPbkdf2, verifyPbkdf2 } from './pbkdf2.js';
import { hashSimple, verifySimple } from './simple.js';
import type { HashedPassword, StoredPassword, VerifyOptions } from './types.js';

function unknownAlgorithm(algorithm: never): InvalidAlgorithmError {
  const name = (algorithm as { name?: unknown } | null)?.name;
  return new InvalidAlgorithmError(
    'unknown_algorithm',
    `unknown password hash algorithm ${typeof name === 'string' ? JSON.stringify(name) : '(no name)'}`,
  );
}

/**
 * Hash a new password for the built-in database (reference §4.3).
 * bcrypt and pbkdf2 wait for a limiter slot but are never refused.
 */
export async function hashPassword(algorithm: PasswordHashAlgorithm, password: string | Buffer): Promise<HashedPassword> {
  if (typeof password !== 'string' && !Buffer.isBuffer(password)) {
    throw new PasswordHashError('invalid_password', 'password must be a string or a Buffer');
  }
  if (isSimpleHash(algorithm)) return hashSimple(algorithm, password);
  switch (algorithm.name) {
    case 'bcrypt':
      return hashBcrypt(algorithm, password);
    case 'pbkdf2':
      return hashPbkdf2(algorithm, password);
    default:
      throw unknownAlgorithm(algorithm);
  }
}

/**
 * Check a client's password against a stored record (reference §4.2).
 *
 * Resolves false for a wrong or missing password. Rejects (the chain treats
 * it as *ignore*) with InvalidSaltError when a prefix/suffix salt is not a
 * string, InvalidStoredPasswordError when the stored hash is not a string,
 * InvalidAlgorithmError for a malformed algorithm; and with HashBusyError when
 * the bcrypt/pbkdf2 queue of the client's address, or the whole queue, is full
 * (the authenticator answers `server_busy`).
 */
export async function verifyPassword(
  algorithm: PasswordHashAlgorithm,
  candidate: string | Buffer | undefined,
  stored: StoredPassword,
  options: VerifyOptions = {},
): Promise<boolean> {
  const now = verifyPasswordNow(algorithm, candidate, stored);
  if (now !== undefined) return now;
  // Only bcrypt and pbkdf2 get here, with a string or Buffer candidate.
  const password = candidate as string | Buffer;
  return algorithm.name === 'pbkdf2' ? verifyPbkdf2(algorithm, password, stored, options) : verifyBcrypt(password, stored, options);
}

/**
 * verifyPassword's answer when it can be given at once: for the digests (no hashing
 * slot, microseconds of work) and for a missing candidate; undefined for bcrypt and
 * pbkdf2, which go through the limiter. Throws as verifyPassword rejects.
 */
export function verifyPasswordNow(algorithm: PasswordHashAlgorithm, candidate: string | Buffer | undefined, stored: StoredPassword): boolean | undefined {
  if (typeof candidate !== 'string' && !Buffer.isBuffer(candidate)) return false;
  if (typeof stored?.password_hash !== 'string') {
    throw new InvalidStoredPasswordError('stored password hash must be a string');
  }
  if (isSimpleHash(algorithm)) return verifySimple(algorithm, candidate, stored);
  switch (algorithm.name) {
    case 'bcrypt':
    case 'pbkdf2':
      return undefined;
    default:
      throw unknownAlgorithm(algorithm);
  }
}
