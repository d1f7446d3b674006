import type { ConfigProblem } from '../config/load.js';
import { FragmentRegistry } from '../config/fragments.js';
import type { AuthenticatorFactory } from './authenticator.js';

/** EMQX's authenticator id: `mechanism:backend`, or `mechanism` alone (jwt). */
export function authenticatorId(config: { mechanism: string; backend?: string | undefined }): string {
  return config.backend ? `${config.mechanism}:${config.backend}` : config.mechanism;
}

/**
 * The authenticator types a node knows, by `mechanism:backend` (§2.5). Made in the
 * composition root with one `register` line per backend (`src/main.ts`); the core never
 * names a backend. Adding one is a folder under `backends/` and that one line.
 */
export class AuthenticatorRegistry extends FragmentRegistry<AuthenticatorFactory> {
  constructor() {
    super('authenticator', ['mechanism', 'backend']);
  }

  /**
   * Checks one chain's authenticator blocks: a known type, the backend's own schema (its
   * defaults filled in), the backend's own checks, and one authenticator per type (§2.5).
   */
  chainProblems(path: string, chain: ReadonlyArray<Record<string, unknown>>, source: 'config' | 'api' = 'config'): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const seen = new Map<string, number>();
    chain.forEach((entry, index) => {
      const at = `${path}.${index}`;
      if (typeof entry['mechanism'] !== 'string') return; // reported by the root schema
      const { fragment, problems: structural } = this.blockProblems(at, entry);
      problems.push(...structural);
      if (!fragment) return;
      if (structural.length === 0 && fragment.validate) {
        for (const p of fragment.validate(entry, source)) problems.push({ path: `${at}.${p.field}`, message: p.message });
      }
      const id = this.idOf(entry);
      const earlier = seen.get(id);
      if (earlier !== undefined) {
        problems.push({ path: at, message: `duplicate authenticator ${id}: ${path}.${earlier} is the same type (one per type in a chain)` });
      } else {
        seen.set(id, index);
      }
    });
    return problems;
  }
}
