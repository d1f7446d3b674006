/**
 * `is_superuser` interpretation (reference §4.4), shared by SQL, Redis, MongoDB,
 * HTTP responses and JWT claims.
 */

const SIGNED_INTEGER = /^[+-]?[0-9]+$/;

/**
 * EMQX's truthiness: `true`, `"true"`, an integer ≥ 1, or a string holding an
 * integer ≥ 1 (optional sign, as Erlang's binary_to_integer allows). Anything
 * else — `"TRUE"`, `"yes"`, floats, `null`, objects — is false.
 *
 * A JSON `1.0` is indistinguishable from `1` once parsed in JavaScript and so
 * counts as true.
 */
export function isSuperuserValue(value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1;
  if (typeof value === 'bigint') return value >= 1n;
  if (typeof value === 'string') return SIGNED_INTEGER.test(value) && BigInt(value) >= 1n;
  return false;
}

/** Built-in database import files are stricter: only JSON `true` or the string `"true"`. */
export function isSuperuserImportValue(value: unknown): boolean {
  return value === true || value === 'true';
}
