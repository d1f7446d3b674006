/**
 * PBKDF2-HMAC (reference §4.1–4.3). Runs on the hashing threads (`workers.ts`),
 * behind the shared limiter.
 */
import type { Pbkdf2Algorithm, Pbkdf2MacFun } from './algorithm.js';
import { equalHexIgnoringCase } from './constant-time.js';
import { InvalidAlgorithmError, PasswordHashError } from './errors.js';
import { hashLimiter } from './limiter.js';
import { generateSalt, passwordBytes, saltBytes } from './salt.js';
import type { HashedPassword, StoredPassword, VerifyOptions } from './types.js';
import { hashThreads } from './workers.js';

/** mac_fun → Node digest name and default dk_length. md4/md5/ripemd160 are unsupported (EMQX ≥ 5.8.3). */
const SUPPORTED: Partial<Record<Pbkdf2MacFun, { digest: string; size: number }>> = {
  sha: { digest: 'sha1', size: 20 },
  sha224: { digest: 'sha224', size: 28 },
  sha256: { digest: 'sha256', size: 32 },
  sha384: { digest: 'sha384', size: 48 },
  sha512: { digest: 'sha512', size: 64 },
};

const MAX_DK_LENGTH = 4294967295;

interface Pbkdf2Params {
  digest: string;
  iterations: number;
  keyLength: number;
}

/** Parameters for Node, or undefined when the mac_fun is not supported at runtime. */
function params(algorithm: Pbkdf2Algorithm): Pbkdf2Params | undefined {
  const mac = SUPPORTED[algorithm.mac_fun];
  if (mac === undefined) return undefined;
  const { iterations } = algorithm;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new InvalidAlgorithmError('invalid_algorithm', 'pbkdf2 iterations must be a positive integer');
  }
  const keyLength = algorithm.dk_length ?? mac.size;
  if (!Number.isInteger(keyLength) || keyLength < 1 || keyLength > MAX_DK_LENGTH) {
    throw new InvalidAlgorithmError('invalid_algorithm', 'pbkdf2 dk_length must be an integer in 1..4294967295');
  }
  return { digest: mac.digest, iterations, keyLength };
}

async function deriveHex(p: Pbkdf2Params, password: Buffer, salt: Buffer): Promise<string> {
  try {
    return await hashThreads.run({ kind: 'pbkdf2', password, salt, iterations: p.iterations, keyLength: p.keyLength, digest: p.digest });
  } catch (err) {
    // Node's own message names only parameters, never the inputs.
    throw new PasswordHashError('pbkdf2_failed', `pbkdf2 failed: ${(err as Error).message}`);
  }
}

export async function hashPbkdf2(algorithm: Pbkdf2Algorithm, password: string | Buffer): Promise<HashedPassword> {
  const p = params(algorithm);
  if (p === undefined) {
    throw new InvalidAlgorithmError('unsupported_algorithm', `pbkdf2 mac_fun ${algorithm.mac_fun} is not supported`);
  }
  const salt = generateSalt();
  const bytes = passwordBytes(password);
  const password_hash = await hashLimiter.run(() => deriveHex(p, bytes, Buffer.from(salt, 'utf8')));
  return { password_hash, salt };
}

/** An unsupported mac_fun never verifies (quietly, as in EMQX ≥ 5.8.3). */
export async function verifyPbkdf2(
  algorithm: Pbkdf2Algorithm,
  candidate: string | Buffer,
  stored: StoredPassword,
  options: VerifyOptions = {},
): Promise<boolean> {
  const p = params(algorithm);
  if (p === undefined) return false;
  const salt = saltBytes(stored.salt);
  const bytes = passwordBytes(candidate);
  const computed = await hashLimiter.run(() => deriveHex(p, bytes, salt), { rejectWhenFull: true, ...options });
  return equalHexIgnoringCase(computed, stored.password_hash);
}
