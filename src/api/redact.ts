/**
 * Secrets in API answers (emqx5-auth.md §7.2, gatehouse-choices 5): sensitive keys are
 * shown as "******" in every answer, POST included; a PUT that sends "******" keeps the
 * stored value.
 */
export const MASK = '******';

const SENSITIVE_KEYS = new Set([
  'password',
  'secret',
  'token',
  'jwt',
  'private_key',
  'bind_password',
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
  'default_password',
]);
const SENSITIVE_HEADERS = new Set(['authorization', 'proxy-authorization']);

function isPlaceholderOrFile(v: unknown): boolean {
  return typeof v === 'string' && (/^\$\{[^}]+\}$/.test(v) || v.startsWith('file://'));
}

function isSensitive(key: string, value: unknown, parentKey: string | undefined, extra: ReadonlySet<string>): boolean {
  if (value === undefined || value === null || isPlaceholderOrFile(value)) return false;
  if (SENSITIVE_KEYS.has(key) || extra.has(key)) return typeof value !== 'object' || value === null;
  if (parentKey === 'headers' && SENSITIVE_HEADERS.has(key.toLowerCase())) return true;
  // An inline private key (EMQX writes them to files; here they may sit in the config).
  if (typeof value === 'string' && value.includes('PRIVATE KEY-----')) return true;
  return false;
}

/** A deep copy with every secret replaced by the mask. */
export function redact<T>(value: T, extraKeys: readonly string[] = []): T {
  const extra = new Set(extraKeys);
  const walk = (v: unknown, parentKey?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, parentKey));
    if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out[k] = isSensitive(k, x, parentKey, extra) ? MASK : walk(x, k);
    }
    return out;
  };
  return walk(value) as T;
}

/** Puts the stored values back where the incoming document sends the mask. */
export function restoreMasked<T>(incoming: T, stored: unknown): T {
  const walk = (v: unknown, s: unknown): unknown => {
    if (v === MASK) return s === undefined ? v : structuredClone(s);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, Array.isArray(s) ? s[i] : undefined));
    if (v === null || typeof v !== 'object') return v;
    const src = s !== null && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x, src[k]);
    return out;
  };
  return walk(incoming, stored) as T;
}
