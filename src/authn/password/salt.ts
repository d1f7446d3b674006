/** Salt handling shared by the simple hashes and PBKDF2 (reference §4.2–4.3). */
import { randomBytes } from 'node:crypto';
import { InvalidSaltError } from './errors.js';

/** A stored salt as a backend returns it; a Buffer is taken as raw bytes (binary columns). */
export type StoredSalt = string | Buffer | null | undefined;

/** A new salt: 16 random bytes as 32 lowercase hex characters, later used as ASCII bytes. */
export function generateSalt(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The salt's raw bytes. A missing salt (`undefined`) is the empty salt, as for
 * a missing column; `null` or any other non-string is refused, as in EMQX.
 * The salt is never hex-decoded.
 */
export function saltBytes(salt: unknown): Buffer {
  if (salt === undefined) return Buffer.alloc(0);
  if (typeof salt === 'string') return Buffer.from(salt, 'utf8');
  if (Buffer.isBuffer(salt)) return salt;
  throw new InvalidSaltError(`stored salt must be a string, got ${salt === null ? 'null' : typeof salt}`);
}

/** Password bytes: a string is UTF-8 encoded, a Buffer is used as is. */
export function passwordBytes(password: string | Buffer): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}
