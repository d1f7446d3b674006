/**
 * Secrets in API answers (emqx5-auth.md §7.2, gatehouse-choices 5): sensitive keys are
 * shown as "******" in every answer, POST included (`node.secrets.redact`: the node's one
 * list, shared with the logs and fed by every registered type's `secretFields`); a PUT
 * that sends "******" keeps the stored value.
 */
import { MASK } from '../secrets.js';

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
