/**
 * The `password_hash_algorithm` object of EMQX 5 (reference §4.1): TypeScript
 * types for the normalised value, TypeBox schemas for config and REST bodies,
 * and a parser that applies defaults and gives one clear reason on bad input.
 */
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { InvalidAlgorithmError } from './errors.js';

export type SimpleHashName = 'plain' | 'md5' | 'sha' | 'sha256' | 'sha512';
export type SaltPosition = 'disable' | 'prefix' | 'suffix';
export type Pbkdf2MacFun = 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'md4' | 'md5' | 'ripemd160';

export interface SimpleHashAlgorithm {
  name: SimpleHashName;
  salt_position: SaltPosition;
}

export interface BcryptAlgorithm {
  name: 'bcrypt';
  /** Only meaningful for generating hashes (built-in database); default 10. */
  salt_rounds?: number;
}

export interface Pbkdf2Algorithm {
  name: 'pbkdf2';
  mac_fun: Pbkdf2MacFun;
  iterations: number;
  /** Derived key length in bytes; default is the digest size of `mac_fun`. */
  dk_length?: number;
}

export type PasswordHashAlgorithm = SimpleHashAlgorithm | BcryptAlgorithm | Pbkdf2Algorithm;
export type PasswordHashAlgorithmName = PasswordHashAlgorithm['name'];

export const SIMPLE_HASH_NAMES: readonly SimpleHashName[] = ['plain', 'md5', 'sha', 'sha256', 'sha512'];

/** The digests (plain included): hashed and checked at once, without a hashing slot. */
export function isSimpleHash(algorithm: PasswordHashAlgorithm): algorithm is SimpleHashAlgorithm {
  return (SIMPLE_HASH_NAMES as readonly string[]).includes(algorithm.name);
}
export const SALT_POSITIONS: readonly SaltPosition[] = ['disable', 'prefix', 'suffix'];
export const PBKDF2_MAC_FUNS: readonly Pbkdf2MacFun[] = [
  'sha', 'sha224', 'sha256', 'sha384', 'sha512', 'md4', 'md5', 'ripemd160',
];

/** Used when the whole `password_hash_algorithm` object is omitted. */
export const DEFAULT_PASSWORD_HASH_ALGORITHM: Readonly<SimpleHashAlgorithm> = Object.freeze({
  name: 'sha256',
  salt_position: 'prefix',
});

export const BCRYPT_SALT_ROUNDS = Object.freeze({ min: 5, max: 10, default: 10 });

/** EMQX's config-file behaviour: an out-of-range integer `salt_rounds` is pulled into 5..10. */
export function clampSaltRounds(rounds: number): number {
  if (!Number.isInteger(rounds)) {
    throw new InvalidAlgorithmError('invalid_salt_rounds', 'bcrypt salt_rounds must be an integer');
  }
  return Math.min(BCRYPT_SALT_ROUNDS.max, Math.max(BCRYPT_SALT_ROUNDS.min, rounds));
}

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

function literals<T extends string>(values: readonly T[], options: Record<string, unknown> = {}): TUnion<TLiteral<T>[]> {
  return Type.Union(values.map((v) => Type.Literal(v)), options);
}

const SimpleHashAlgorithmSchema = Type.Object(
  {
    name: literals(SIMPLE_HASH_NAMES, { description: 'Digest applied to the salted password (plain stores it as is).' }),
    salt_position: Type.Optional(
      literals(SALT_POSITIONS, {
        default: 'prefix',
        description: 'Where the salt goes: before (prefix) or after (suffix) the password, or not used (disable).',
      }),
    ),
  },
  { additionalProperties: false, title: 'simple hash' },
);

const BuiltInBcryptSchema = Type.Object(
  {
    name: Type.Literal('bcrypt'),
    salt_rounds: Type.Optional(
      Type.Integer({
        minimum: BCRYPT_SALT_ROUNDS.min,
        maximum: BCRYPT_SALT_ROUNDS.max,
        default: BCRYPT_SALT_ROUNDS.default,
        description: 'bcrypt cost used when creating users (5..10).',
      }),
    ),
  },
  { additionalProperties: false, title: 'bcrypt' },
);

const ExternalBcryptSchema = Type.Object(
  { name: Type.Literal('bcrypt') },
  { additionalProperties: false, title: 'bcrypt' },
);

const Pbkdf2Schema = Type.Object(
  {
    name: Type.Literal('pbkdf2'),
    mac_fun: literals(PBKDF2_MAC_FUNS, {
      description: 'HMAC digest. md4, md5 and ripemd160 are accepted for compatibility but never verify.',
    }),
    iterations: Type.Integer({ minimum: 1, description: 'PBKDF2 iteration count.' }),
    dk_length: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 4294967295,
        description: 'Derived key length in bytes; defaults to the digest size.',
      }),
    ),
  },
  { additionalProperties: false, title: 'pbkdf2' },
);

/** Built-in database variant: bcrypt takes `salt_rounds`. */
export const PasswordHashAlgorithmSchema = Type.Union([SimpleHashAlgorithmSchema, BuiltInBcryptSchema, Pbkdf2Schema], {
  default: { ...DEFAULT_PASSWORD_HASH_ALGORITHM },
  description: 'How user passwords are hashed.',
});

/** MySQL / PostgreSQL / MongoDB / Redis variant: bcrypt is only `{name: "bcrypt"}`. */
export const ExternalPasswordHashAlgorithmSchema = Type.Union(
  [SimpleHashAlgorithmSchema, ExternalBcryptSchema, Pbkdf2Schema],
  {
    default: { ...DEFAULT_PASSWORD_HASH_ALGORITHM },
    description: 'How the stored password hashes were computed.',
  },
);

/**
 * The `password_hash_algorithm` field of a backend's schema fragment: documented (API
 * bodies, answers, OpenAPI) as the union of its variant, and checked by
 * `parsePasswordHashAlgorithm` in the backend's `validate`, which clamps bcrypt
 * `salt_rounds` in configuration files as EMQX does and names one clear reason.
 */
export function passwordHashAlgorithmField(variant: 'built_in_database' | 'external') {
  const union = variant === 'external' ? ExternalPasswordHashAlgorithmSchema : PasswordHashAlgorithmSchema;
  return Type.Optional(Type.Unknown({ anyOf: union.anyOf, description: union.description }));
}

/** The object as written in config or a REST body (defaults not yet applied). */
export type PasswordHashAlgorithmInput = Static<typeof PasswordHashAlgorithmSchema>;

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

export interface ParseAlgorithmOptions {
  /** `built_in_database` (default) allows bcrypt `salt_rounds`; `external` does not. */
  variant?: 'built_in_database' | 'external';
  /** `config` clamps out-of-range `salt_rounds` like EMQX config files; `api` (default) rejects them. */
  source?: 'config' | 'api';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function variantSchema(name: string, variant: 'built_in_database' | 'external'): TSchema | undefined {
  if ((SIMPLE_HASH_NAMES as readonly string[]).includes(name)) return SimpleHashAlgorithmSchema;
  if (name === 'bcrypt') return variant === 'external' ? ExternalBcryptSchema : BuiltInBcryptSchema;
  if (name === 'pbkdf2') return Pbkdf2Schema;
  return undefined;
}

/**
 * Validate an untrusted `password_hash_algorithm` value, fill in defaults and
 * return the normalised algorithm. Throws {@link InvalidAlgorithmError} with
 * the offending field in the message.
 */
export function parsePasswordHashAlgorithm(input: unknown, options: ParseAlgorithmOptions = {}): PasswordHashAlgorithm {
  const variant = options.variant ?? 'built_in_database';
  if (input === undefined) return { ...DEFAULT_PASSWORD_HASH_ALGORITHM };
  if (!isRecord(input)) {
    throw new InvalidAlgorithmError('invalid_algorithm', 'password_hash_algorithm must be an object');
  }
  const name = input['name'];
  if (name === undefined) {
    throw new InvalidAlgorithmError('algorithm_name_missing', 'password_hash_algorithm.name is missing');
  }
  const schema = typeof name === 'string' ? variantSchema(name, variant) : undefined;
  if (schema === undefined) {
    throw new InvalidAlgorithmError(
      'unknown_algorithm',
      `password_hash_algorithm.name must be one of ${[...SIMPLE_HASH_NAMES, 'bcrypt', 'pbkdf2'].join(', ')}`,
    );
  }
  const candidate: Record<string, unknown> = { ...input };
  if (
    name === 'bcrypt' &&
    variant === 'built_in_database' &&
    options.source === 'config' &&
    typeof candidate['salt_rounds'] === 'number' &&
    Number.isInteger(candidate['salt_rounds'])
  ) {
    candidate['salt_rounds'] = clampSaltRounds(candidate['salt_rounds']);
  }
  const withDefaults: unknown = Value.Default(schema, candidate);
  const first = Value.Errors(schema, withDefaults).First();
  if (first !== undefined) {
    const field = first.path === '' ? 'password_hash_algorithm' : `password_hash_algorithm${first.path.replace(/\//g, '.')}`;
    throw new InvalidAlgorithmError('invalid_algorithm', `${field}: ${first.message}`);
  }
  return withDefaults as PasswordHashAlgorithm;
}
