/**
 * `plain`, `md5`, `sha`, `sha256`, `sha512` with a salt position
 * (reference §4.2–4.3). Cheap enough to run inline on the event loop.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { SaltPosition, SimpleHashAlgorithm, SimpleHashName } from './algorithm.js';
import { SALT_POSITIONS } from './algorithm.js';
import { equalBytes, equalHexIgnoringCase } from './constant-time.js';
import { InvalidAlgorithmError, PasswordHashError } from './errors.js';
import { generateSalt, passwordBytes, saltBytes } from './salt.js';
import type { HashedPassword, StoredPassword } from './types.js';

const NODE_DIGEST: Record<Exclude<SimpleHashName, 'plain'>, string> = {
  md5: 'md5',
  sha: 'sha1',
  sha256: 'sha256',
  sha512: 'sha512',
};

function checkSaltPosition(position: unknown): SaltPosition {
  if (!(SALT_POSITIONS as readonly unknown[]).includes(position)) {
    throw new InvalidAlgorithmError('invalid_algorithm', `salt_position must be one of ${SALT_POSITIONS.join(', ')}`);
  }
  return position as SaltPosition;
}

/** The bytes that get digested: salt ‖ password, password ‖ salt, or password. */
function saltedInput(position: SaltPosition, password: Buffer, salt: unknown): Buffer {
  switch (position) {
    case 'disable':
      return password;
    case 'prefix':
      return Buffer.concat([saltBytes(salt), password]);
    case 'suffix':
      return Buffer.concat([password, saltBytes(salt)]);
  }
}

function digestHex(name: Exclude<SimpleHashName, 'plain'>, input: Buffer): string {
  return createHash(NODE_DIGEST[name]).update(input).digest('hex');
}

export function hashSimple(algorithm: SimpleHashAlgorithm, password: string | Buffer): HashedPassword {
  const position = checkSaltPosition(algorithm.salt_position);
  const bytes = passwordBytes(password);
  if (algorithm.name === 'plain') {
    if (!isUtf8(bytes)) {
      throw new PasswordHashError('invalid_password', 'a plain password must be valid UTF-8');
    }
    return { password_hash: bytes.toString('utf8'), salt: '' };
  }
  const salt = position === 'disable' ? '' : generateSalt();
  return { password_hash: digestHex(algorithm.name, saltedInput(position, bytes, salt)), salt };
}

/**
 * Digests compare case-insensitively (uppercase hex in a database works);
 * `plain` compares exactly, unlike EMQX (gatehouse-choices "fixed" #1).
 */
export function verifySimple(algorithm: SimpleHashAlgorithm, candidate: string | Buffer, stored: StoredPassword): boolean {
  const position = checkSaltPosition(algorithm.salt_position);
  const input = saltedInput(position, passwordBytes(candidate), stored.salt);
  if (algorithm.name === 'plain') {
    return equalBytes(Buffer.from(stored.password_hash, 'utf8'), input);
  }
  return equalHexIgnoringCase(digestHex(algorithm.name, input), stored.password_hash);
}
