import type { ConfigCheck, ConfigProblem } from './config/load.js';
import { LISTENER_TYPES, type GatehouseConfig } from './config/schema.js';
import { chainProblems } from './authn/registry.js';
import './authn/backends/index.js';

/** Every authentication chain a config defines, by chain name, with its config path. */
export function configuredChains(config: GatehouseConfig): Array<{ name: string; path: string; authenticators: Array<Record<string, unknown>> }> {
  const chains: Array<{ name: string; path: string; authenticators: Array<Record<string, unknown>> }> = [];
  chains.push({ name: 'mqtt:global', path: 'authentication', authenticators: config.authentication });
  for (const type of LISTENER_TYPES) {
    for (const [name, l] of Object.entries(config.listeners[type])) {
      chains.push({ name: `${type}:${name}`, path: `listeners.${type}.${name}.authentication`, authenticators: l.authentication });
    }
  }
  const stomp = config.gateway.stomp;
  if (stomp) {
    const list = Array.isArray(stomp.authentication) ? stomp.authentication : [stomp.authentication];
    chains.push({ name: 'stomp:global', path: 'gateway.stomp.authentication', authenticators: list });
    for (const [type, byName] of Object.entries(stomp.listeners)) {
      for (const [name, l] of Object.entries(byName as Record<string, { authentication: Array<Record<string, unknown>> }>)) {
        chains.push({
          name: `stomp:${type}:${name}`,
          path: `gateway.stomp.listeners.${type}.${name}.authentication`,
          authenticators: l.authentication,
        });
      }
    }
  }
  return chains;
}

/** The checks backends contribute to config validation: authenticator blocks per chain. */
export function configChecks(): ConfigCheck[] {
  return [
    (config): ConfigProblem[] => configuredChains(config).flatMap((c) => chainProblems(c.path, c.authenticators)),
  ];
}
