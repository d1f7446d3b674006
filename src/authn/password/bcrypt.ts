/**
 * bcrypt (reference §4.2–4.3): the native package runs on the hashing threads
 * (`workers.ts`); every call goes through the shared limiter.
 */
import { BCRYPT_SALT_ROUNDS, type BcryptAlgorithm } from './algorithm.js';
import { equalBytes } from './constant-time.js';
import { InvalidAlgorithmError, PasswordHashError } from './errors.js';
import { hashLimiter } from './limiter.js';
import type { HashedPassword, StoredPassword, VerifyOptions } from './types.js';
import { hashThreads } from './workers.js';

/** `$2a$`, `$2b$` or `$2y$`, two-digit cost, 22 salt + 31 hash characters. */
const CRYPT_STRING = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export async function hashBcrypt(algorithm: BcryptAlgorithm, password: string | Buffer): Promise<HashedPassword> {
  const rounds = algorithm.salt_rounds ?? BCRYPT_SALT_ROUNDS.default;
  if (!Number.isInteger(rounds) || rounds < BCRYPT_SALT_ROUNDS.min || rounds > BCRYPT_SALT_ROUNDS.max) {
    throw new InvalidAlgorithmError(
      'invalid_salt_rounds',
      `bcrypt salt_rounds must be an integer in ${BCRYPT_SALT_ROUNDS.min}..${BCRYPT_SALT_ROUNDS.max}`,
    );
  }
  const crypt = await hashLimiter.run(async () => {
    try {
      return await hashThreads.run({ kind: 'bcrypt', password, setting: rounds });
    } catch (err) {
      throw new PasswordHashError('bcrypt_failed', `bcrypt failed: ${(err as Error).message}`);
    }
  });
  // EMQX stores the crypt string in both fields.
  return { password_hash: crypt, salt: crypt };
}

/**
 * The stored crypt string carries cost and salt (the stored salt field is not
 * used): re-hash the candidate with it and compare in constant time, as EMQX
 * does (the package's own compare() uses strcmp). The native package rejects
 * the `$2y$` tag (PHP's name for the same corrected algorithm as `$2b$`), so
 * it is read as `$2b$`. A malformed crypt string never verifies and costs no
 * hashing.
 */
export async function verifyBcrypt(candidate: string | Buffer, stored: StoredPassword, options: VerifyOptions = {}): Promise<boolean> {
  const crypt = stored.password_hash;
  if (!CRYPT_STRING.test(crypt)) return false;
  const normalised = crypt.startsWith('$2y$') ? `$2b$${crypt.slice(4)}` : crypt;
  return hashLimiter.run(
    async () => {
      let computed: string;
      try {
        computed = await hashThreads.run({ kind: 'bcrypt', password: candidate, setting: normalised });
      } catch (err) {
        // A hashing thread that stopped is the server's failure, not a wrong password.
        if (err instanceof PasswordHashError) throw err;
        return false; // bcrypt refused the stored setting, e.g. a cost outside 4..31
      }
      return equalBytes(Buffer.from(normalised, 'latin1'), Buffer.from(computed, 'latin1'));
    },
    { rejectWhenFull: true, ...options },
  );
}
