/**
 * Which values are secrets: the one list behind the API's masking (`src/api/redact.ts`), the
 * log redaction (`src/logging`), and the validation messages of the API, the CLI and
 * startup (`schemaProblems`), so a field is hidden everywhere once it is named here.
 */

/** What a secret is shown as. */
export const MASK = '******';

/** Keys whose values are secrets wherever they appear (config blocks, API bodies, log objects). */
export const SECRET_KEYS: readonly string[] = [
  'password',
  'passcode',
  'secret',
  'token',
  'jwt',
  'private_key',
  'bind_password',
  'keyfile_password',
  'default_password',
  'account_key',
  'aws_secret_access_key',
  'secret_access_key',
  'access_key_secret',
  'access_key_id',
  'secret_key',
  'security_token',
  'sp_private_key',
  'password_hash',
  'salt',
  'psk',
  'authorization',
];

/** HTTP header names (any case) whose values are secrets. */
export const SECRET_HEADERS: readonly string[] = ['authorization', 'proxy-authorization'];

/**
 * Keys whose values a validation message never repeats although answers show them: a
 * `keyfile` is usually a path, but may be the key itself inline.
 */
const NOT_ECHOED_KEYS: readonly string[] = ['keyfile'];

/**
 * The node's secret field names: the built-in list above plus what each registered
 * authenticator type (and, later, authorization source type) declares as `secretFields`.
 * The composition root builds one and hands it to the logger and the management API, so a
 * backend's secret is masked in answers and logs once its factory names it.
 */
export class SecretFields {
  /** Every secret key, the built-in ones first. */
  readonly keys: readonly string[];
  private readonly secretKeys: ReadonlySet<string>;
  private readonly notEchoed: ReadonlySet<string>;

  constructor(extra: Iterable<string> = []) {
    const keys = new Set(SECRET_KEYS);
    for (const k of extra) keys.add(k);
    this.keys = [...keys];
    this.secretKeys = keys;
    this.notEchoed = new Set([...keys, ...SECRET_HEADERS, ...NOT_ECHOED_KEYS]);
  }

  has(key: string): boolean {
    return this.secretKeys.has(key);
  }

  /**
   * True when a dotted path (`ssl_options.password`, `headers.Authorization`, `password.0`)
   * names a secret or lies inside one: its value must not be repeated in a message.
   */
  isSecretPath(path: string): boolean {
    for (const part of path.split('.')) if (this.notEchoed.has(part.toLowerCase())) return true;
    return false;
  }

  /**
   * A deep copy with every secret replaced by the mask: values under secret keys and secret
   * headers, and inline private keys. Placeholders (`${password}`) and `file://` references
   * are not secrets and stay.
   */
  redact<T>(value: T): T {
    const walk = (v: unknown, parentKey?: string): unknown => {
      if (Array.isArray(v)) return v.map((x) => walk(x, parentKey));
      if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        out[k] = this.isSensitive(k, x, parentKey) ? MASK : walk(x, k);
      }
      return out;
    };
    return walk(value) as T;
  }

  /**
   * pino `redact.paths` for the secret keys at the top of a log object and two levels down
   * (header names with a dash in bracket notation).
   */
  logRedactPaths(): string[] {
    const keys = [...this.keys, ...SECRET_HEADERS.filter((h) => !this.secretKeys.has(h))];
    return keys.flatMap((k) => {
      const at = /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`;
      return [at.startsWith('.') ? k : at, `*${at}`, `*.*${at}`];
    });
  }

  private isSensitive(key: string, value: unknown, parentKey: string | undefined): boolean {
    if (value === undefined || value === null || isPlaceholderOrFile(value)) return false;
    if (this.secretKeys.has(key)) return typeof value !== 'object';
    if (parentKey === 'headers' && secretHeaders.has(key.toLowerCase())) return true;
    // An inline private key (EMQX writes them to files; here they may sit in the config).
    return looksLikePrivateKey(value);
  }
}

const secretHeaders = new Set(SECRET_HEADERS);

/** The built-in list alone (the schema's own messages, tools without a node). */
export const BUILT_IN_SECRETS = new SecretFields();

/** A value that is a secret by its text wherever it sits: an inline private key. */
export function looksLikePrivateKey(value: unknown): boolean {
  return typeof value === 'string' && value.includes('PRIVATE KEY-----');
}

/** `BUILT_IN_SECRETS.isSecretPath`. */
export function isSecretPath(path: string): boolean {
  return BUILT_IN_SECRETS.isSecretPath(path);
}

function isPlaceholderOrFile(v: unknown): boolean {
  return typeof v === 'string' && (/^\$\{[^}]+\}$/.test(v) || v.startsWith('file://'));
}

/** A deep copy with the built-in secrets and `extraKeys` masked (see `SecretFields.redact`). */
export function redact<T>(value: T, extraKeys: readonly string[] = []): T {
  return (extraKeys.length === 0 ? BUILT_IN_SECRETS : new SecretFields(extraKeys)).redact(value);
}
