import { authenticatorId } from '../authn/registry.js';
import type { UserManager } from '../authn/authenticator.js';
import type { GatehouseConfig } from '../config/schema.js';
import { UNCHANGED, valueAt } from '../node/changes.js';
import type { ApiContext } from './context.js';
import { applyAt } from './apply.js';
import { ApiError, badRequest, notFound } from './errors.js';
import { restoreMasked } from './redact.js';

/** An authentication chain the API manages: its name and where it lives in the config. */
export interface ChainScope {
  name: string;
  path: string[];
  /** How messages name the scope: `global`, a listener id, a gateway. */
  label: string;
}

export type AuthenticatorConfig = Record<string, unknown> & { mechanism: string; backend?: string };

/** A chain edit: the new chain from the current one, `UNCHANGED` to leave it; a throw refuses it. */
export type ChainEdit = (chain: AuthenticatorConfig[]) => AuthenticatorConfig[] | typeof UNCHANGED;

/** The chain's authenticator blocks in a configuration (defaults filled). */
export function chainIn(config: GatehouseConfig, scope: ChainScope): AuthenticatorConfig[] {
  return asChain(valueAt(config, scope.path));
}

function asChain(value: unknown): AuthenticatorConfig[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.map((c) => structuredClone(c) as AuthenticatorConfig);
}

export function idOf(config: Record<string, unknown>): string {
  return authenticatorId({
    mechanism: String(config['mechanism']),
    backend: typeof config['backend'] === 'string' ? config['backend'] : undefined,
  });
}

/** An authenticator for an answer: id first, secrets masked (the answer schema drops anything undeclared). */
export function authenticatorView(ctx: ApiContext, config: Record<string, unknown>): Record<string, unknown> {
  const { id: _ignored, ...rest } = config;
  return { id: idOf(config), ...ctx.node.secrets.redact(rest) };
}

/**
 * Edits one chain through the node's `apply`: validated with the whole configuration, made
 * live (the chain replaced atomically), persisted. Problems are named relative to the
 * authenticator block (`authentication.2.backend` → `backend`). Answers the chain as applied.
 */
export async function editChain(ctx: ApiContext, scope: ChainScope, edit: ChainEdit): Promise<AuthenticatorConfig[]> {
  const prefix = scope.path.join('.') + '.';
  const { config } = await applyAt(
    ctx.node,
    scope.path,
    (current) => {
      const next = edit(asChain(current));
      return next === UNCHANGED ? next : next.map(({ id: _id, ...rest }) => rest);
    },
    (p) => (p.startsWith(prefix) ? p.slice(prefix.length).replace(/^\d+\.?/, '') || p : p),
  );
  return chainIn(config, scope);
}

/** POST: appends an authenticator; one per type (§2.5, 409). */
export function appendAuthenticator(body: AuthenticatorConfig): ChainEdit {
  return (chain) => {
    const id = idOf(body);
    if (chain.some((c) => idOf(c) === id)) throw new ApiError(409, 'ALREADY_EXISTS', `Authenticator '${id}' already exist`);
    const { id: _id, ...config } = body;
    return [...chain, config as AuthenticatorConfig];
  };
}

/** PUT: replaces one authenticator's block; `"******"` keeps a stored secret; the type cannot change. */
export function replaceAuthenticator(id: string, body: AuthenticatorConfig): ChainEdit {
  return (chain) => {
    const index = requireEntry(chain, id);
    if (idOf(body) !== id) throw badRequest('Change of authentication type is not allowed');
    const next = [...chain];
    next[index] = restoreMasked(body, chain[index]);
    return next;
  };
}

/** DELETE: removes an authenticator; an unknown id changes nothing. */
export function removeAuthenticator(id: string): ChainEdit {
  return (chain) => (chain.some((c) => idOf(c) === id) ? chain.filter((c) => idOf(c) !== id) : UNCHANGED);
}

const POSITION = /^(front|rear|before:.+|after:.+)$/;

/** PUT …/position/{front|rear|before:ID|after:ID} (§7.2). */
export function moveAuthenticator(id: string, position: string): ChainEdit {
  if (!POSITION.test(position)) throw badRequest("Invalid value for 'position'");
  return (chain) => {
    const moved = chain[requireEntry(chain, id)]!;
    const rest = chain.filter((c) => c !== moved);
    let at: number;
    if (position === 'front') at = 0;
    else if (position === 'rear') at = rest.length;
    else {
      const [where, ...relParts] = position.split(':');
      const rel = relParts.join(':');
      const relIndex = rest.findIndex((c) => idOf(c) === rel);
      if (relIndex < 0) throw new ApiError(404, 'NOT_FOUND', `Authenticator '${rel}' does not exist`);
      at = where === 'before' ? relIndex : relIndex + 1;
    }
    rest.splice(at, 0, moved);
    return rest;
  };
}

/** PUT …/order: the whole chain in a new order; every authenticator named once (§7.2 texts). */
export function reorderChain(order: readonly string[]): ChainEdit {
  return (chain) => {
    const ids = chain.map(idOf);
    const unknown = order.filter((id) => !ids.includes(id));
    const missing = ids.filter((id) => !order.includes(id));
    const dup = order.filter((id, i) => order.indexOf(id) !== i);
    const problems: string[] = [];
    if (unknown.length > 0) problems.push(`Authenticators: ${unknown.join(', ')} are not found`);
    if (missing.length > 0) problems.push(`No positions are specified for authenticators: ${missing.join(', ')}`);
    if (dup.length > 0) problems.push(`Authenticators listed twice: ${dup.join(', ')}`);
    if (problems.length > 0) throw badRequest(problems.join('; '));
    return order.map((id) => chain[ids.indexOf(id)]!);
  };
}

/** 404 when a chain entry is unknown. */
export function requireEntry(chain: AuthenticatorConfig[], id: string): number {
  const index = chain.findIndex((c) => idOf(c) === id);
  if (index < 0) throw notFound(`Authenticator '${id}' does not exist`);
  return index;
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
