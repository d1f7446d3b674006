import { configuredChains } from '../authn/config-checks.js';
import { findFactory, authenticatorId } from '../authn/registry.js';
import type { UserManager } from '../authn/authenticator.js';
import type { ApiContext } from './context.js';
import { ApiError, badRequest, notFound } from './errors.js';
import { redact } from './redact.js';

/** An authentication chain the API manages: its name and where it lives in the config. */
export interface ChainScope {
  name: string;
  path: string[];
  /** How messages name the scope: `global`, a listener id, a gateway. */
  label: string;
}

export type AuthenticatorConfig = Record<string, unknown> & { mechanism: string; backend?: string };

/** The chain's authenticator configs as configured now (defaults filled). */
export function chainConfigs(ctx: ApiContext, scope: ChainScope): AuthenticatorConfig[] {
  const chain = configuredChains(ctx.state.config).find((c) => c.name === scope.name);
  return (chain?.authenticators ?? []).map((c) => structuredClone(c) as AuthenticatorConfig);
}

export function idOf(config: Record<string, unknown>): string {
  return authenticatorId({
    mechanism: String(config['mechanism']),
    backend: typeof config['backend'] === 'string' ? config['backend'] : undefined,
  });
}

/** An authenticator for an answer: id first, defaults filled, secrets masked. */
export function authenticatorView(config: Record<string, unknown>): Record<string, unknown> {
  const id = idOf(config);
  const { id: _ignored, ...rest } = config;
  return { id, ...redact(rest, findFactory(id)?.secretFields ?? []) };
}

/**
 * Replaces a chain's config: validated with the whole configuration, made live with
 * AuthnService.setChain, then persisted. Call inside `ctx.state.serial`.
 */
export async function commitChain(ctx: ApiContext, scope: ChainScope, next: AuthenticatorConfig[]): Promise<void> {
  const prefix = scope.path.join('.') + '.';
  await ctx.state.commit({
    path: scope.path,
    value: next.map(({ id: _id, ...rest }) => rest),
    field: (p) => (p.startsWith(prefix) ? p.slice(prefix.length).replace(/^\d+\.?/, '') || p : p),
    apply: async (config) => {
      const chain = configuredChains(config).find((c) => c.name === scope.name);
      await ctx.node.authn.setChain(scope.name, chain?.authenticators ?? [], false);
    },
  });
}

/** The user store of an authenticator in a chain (§7.3 errors, gatehouse-choices 6). */
export function usersOf(ctx: ApiContext, scope: ChainScope, id: string | undefined): UserManager {
  const chain = ctx.node.authn.chain(scope.name);
  if (!chain) throw notFound(`Authenticator not found in the '${scope.label}' scope`);
  const entry = id === undefined ? chain.entries.find((e) => e.authenticator.users) : chain.entries.find((e) => e.id === id);
  if (!entry) throw notFound(id === undefined ? `No authenticator with users in the '${scope.label}' scope` : `Authenticator '${id}' does not exist`);
  if (!entry.authenticator.users) throw badRequest('User error: unsupported_operation');
  return entry.authenticator.users;
}

/** 404 when a chain entry is unknown. */
export function requireEntry(configs: AuthenticatorConfig[], id: string): number {
  const index = configs.findIndex((c) => idOf(c) === id);
  if (index < 0) throw notFound(`Authenticator '${id}' does not exist`);
  return index;
}

export { ApiError };
