import { schemaProblems, type ConfigProblem } from '../config/load.js';
import { fillDefaults } from '../config/defaults.js';
import type { AuthenticatorFactory } from './authenticator.js';

/**
 * Backends register themselves here by id; the core never names a backend.
 * Adding one is a folder under backends/ and one import line in backends/index.ts.
 */
const factories = new Map<string, AuthenticatorFactory>();

export function registerAuthenticator(factory: AuthenticatorFactory): void {
  const id = factory.backend ? `${factory.mechanism}:${factory.backend}` : factory.mechanism;
  factories.set(id, factory);
}

/** EMQX's authenticator id: `mechanism:backend`, or `mechanism` alone (jwt). */
export function authenticatorId(config: { mechanism: string; backend?: string | undefined }): string {
  return config.backend ? `${config.mechanism}:${config.backend}` : config.mechanism;
}

export function findFactory(id: string): AuthenticatorFactory | undefined {
  return factories.get(id);
}

export function registeredAuthenticators(): string[] {
  return [...factories.keys()].sort();
}

/** Checks one chain's authenticator blocks: known type, the backend's own schema, no duplicate ids. */
export function chainProblems(path: string, chain: ReadonlyArray<Record<string, unknown>>, source: 'config' | 'api' = 'config'): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  chain.forEach((entry, index) => {
    const at = `${path}.${index}`;
    const mechanism = entry['mechanism'];
    const backend = entry['backend'];
    if (typeof mechanism !== 'string') return; // reported by the root schema
    const id = authenticatorId({ mechanism, backend: typeof backend === 'string' ? backend : undefined });
    const factory = factories.get(id);
    if (!factory) {
      const known = registeredAuthenticators();
      const mechanismKnown = known.some((k) => k.split(':')[0] === mechanism);
      problems.push({
        path: mechanismKnown ? `${at}.backend` : `${at}.mechanism`,
        message: `unknown authenticator ${JSON.stringify(id)}; available: ${known.join(', ')}`,
      });
      return;
    }
    // The backend's defaults become part of the config (as the root schema's do).
    fillDefaults(factory.schema, entry);
    const structural = schemaProblems(factory.schema, entry, at);
    problems.push(...structural);
    if (structural.length === 0 && factory.validate) {
      for (const p of factory.validate(entry, source)) problems.push({ path: `${at}.${p.field}`, message: p.message });
    }
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      problems.push({
        path: at,
        message: `duplicate authenticator ${id}: ${path}.${earlier} is the same type (one per type in a chain)`,
      });
    } else {
      seen.set(id, index);
    }
  });
  return problems;
}
