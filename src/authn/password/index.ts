/**
 * EMQX-5-compatible password hashing (reference §4): algorithm objects and
 * their schemas, hashing for the built-in database, verification for every
 * password-based backend, the `is_superuser` rules, and the limiter that keeps
 * bcrypt/pbkdf2 off the event loop and bounded.
 */
export {
  BCRYPT_SALT_ROUNDS,
  DEFAULT_PASSWORD_HASH_ALGORITHM,
  ExternalPasswordHashAlgorithmSchema,
  PBKDF2_MAC_FUNS,
  PasswordHashAlgorithmSchema,
  SALT_POSITIONS,
  SIMPLE_HASH_NAMES,
  clampSaltRounds,
  parsePasswordHashAlgorithm,
  passwordHashAlgorithmField,
} from './algorithm.js';
export type {
  BcryptAlgorithm,
  ParseAlgorithmOptions,
  PasswordHashAlgorithm,
  PasswordHashAlgorithmInput,
  PasswordHashAlgorithmName,
  Pbkdf2Algorithm,
  Pbkdf2MacFun,
  SaltPosition,
  SimpleHashAlgorithm,
  SimpleHashName,
} from './algorithm.js';
export {
  HashBusyError,
  HashCancelledError,
  hashBusyMessage,
  InvalidAlgorithmError,
  InvalidSaltError,
  InvalidStoredPasswordError,
  PasswordHashError,
} from './errors.js';
export { hashPassword, verifyPassword, verifyPasswordNow } from './hashing.js';
export {
  HashLimiter,
  configureHashConcurrency,
  defaultHashConcurrency,
  hashConcurrencyStats,
  loginRefusal,
} from './limiter.js';
export type { HashLimiterOptions, HashLimiterStats, RunOptions } from './limiter.js';
export type { HashBusyBound } from './errors.js';
export type { StoredSalt } from './salt.js';
export { isSuperuserImportValue, isSuperuserValue } from './superuser.js';
export type { HashedPassword, StoredPassword, VerifyOptions } from './types.js';
