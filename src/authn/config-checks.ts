// The authentication chains a configuration defines, and their check: every authenticator
// block must be one a registered backend can build (EMQX reference §2).

import type { ConfigCheck, ConfigProblem } from '../config/load.js';
import type { GatehouseConfig } from '../config/schema.js';
import { configuredListeners } from '../config/listeners.js';
import type { AuthenticatorRegistry } from './registry.js';

export interface ConfiguredChain {
  /** `mqtt:global`, `stomp:global`, or a listener id. */
  name: string;
  /** The chain's config path. */
  path: string;
  authenticators: Array<Record<string, unknown>>;
}

/** Every authentication chain a config defines, by chain name, with its config path. */
export function configuredChains(config: GatehouseConfig): ConfiguredChain[] {
  const chains: ConfiguredChain[] = [];
  chains.push({ name: 'mqtt:global', path: 'authentication', authenticators: config.authentication });
  const stomp = config.gateway.stomp;
  if (stomp) {
    const list = Array.isArray(stomp.authentication) ? stomp.authentication : [stomp.authentication];
    chains.push({ name: 'stomp:global', path: 'gateway.stomp.authentication', authenticators: list });
  }
  for (const { id, path, listener } of configuredListeners(config)) {
    chains.push({ name: id, path: `${path}.authentication`, authenticators: listener.authentication });
  }
  return chains;
}

/** Authenticator blocks no registered type accepts (against the fragments of the registry's types), per chain. */
export function chainChecks(authenticators: AuthenticatorRegistry): ConfigCheck {
  return (config): ConfigProblem[] => configuredChains(config).flatMap((c) => authenticators.chainProblems(c.path, c.authenticators));
}
