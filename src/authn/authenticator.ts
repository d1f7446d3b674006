import type { Logger } from 'pino';
import type { SchemaFragment } from '../config/fragments.js';
import type { BuiltInStore } from '../store/index.js';
import type { AuthnErrorReason, AuthnSuccess, ClientCredential } from './types.js';

/**
 * The authenticator contract (ARCHITECTURE.md, EMQX's provider contract §2.7).
 * A backend answers allow, deny, ignore ("not mine / no such user / backend
 * trouble") or continue (a SCRAM round). The chain runner alone handles enable
 * flags, order, timeouts, exceptions, metrics and logging.
 */
export type AuthnResult =
  | ({ outcome: 'allow' } & AuthnSuccess)
  | { outcome: 'deny'; reason: AuthnErrorReason; detail?: string }
  | { outcome: 'ignore'; detail?: string }
  | { outcome: 'continue'; data?: Buffer; state: unknown };

/** What an authenticator may show of its work in a dry run (explain): never a secret. */
export interface AuthnTrace {
  /** The rendered query or request, secrets masked. */
  request?: string;
  detail?: string;
}

export interface AuthenticateOptions {
  /** Set by explain: fill in `trace`, change nothing. */
  trace?: AuthnTrace;
  /** Aborted when the chain stops waiting (timeout): drop queued work such as a hash. */
  signal?: AbortSignal;
}

export interface Authenticator {
  /**
   * A backend without I/O to wait for (the built-in database with a digest) answers
   * synchronously: the chain then runs without a timer or a promise for it.
   */
  authenticate(credential: ClientCredential, opts?: AuthenticateOptions): AuthnResult | Promise<AuthnResult>;
  /** Present when the backend stores users the API and CLI can manage. */
  readonly users?: UserManager;
  /** Resource health for the status endpoint. */
  status?(): 'connected' | 'disconnected' | 'connecting';
  destroy?(): Promise<void>;
}

/** What a backend gets when it is created: its chain, the node's store and logger. */
export interface AuthenticatorContext {
  chain: string;
  store: BuiltInStore;
  logger: Logger;
  /** Relative paths in the config (bootstrap files) resolve against this. */
  baseDir: string;
  /** Config file (true) or API (false): bcrypt salt_rounds are clamped in files, refused over the API. */
  fromFile: boolean;
}

/**
 * One backend type, registered by `mechanism:backend` (or just mechanism) in the composition
 * root. Its `schema` is the fragment the configuration checks, the API's bodies and answers
 * and the OpenAPI document are assembled from: the whole authenticator block, including
 * mechanism/backend/enable. Its `secretFields` join the node's one list of secrets (masked
 * in API answers, logs and validation messages).
 */
export interface AuthenticatorFactory extends SchemaFragment {
  readonly mechanism: string;
  readonly backend?: string;
  /** Checks the schema cannot express, as `{field, message}` relative to the block. */
  validate?(config: Record<string, unknown>, source: 'config' | 'api'): Array<{ field: string; message: string }>;
  create(config: Record<string, unknown>, ctx: AuthenticatorContext): Promise<Authenticator>;
}

/** User management of a backend with its own store (§6). */
export interface UserManager {
  add(user: { user_id: string; password: string; is_superuser?: boolean }): Promise<UserView>;
  update(userId: string, patch: { password?: string; is_superuser?: boolean }): Promise<UserView>;
  delete(userId: string): void;
  lookup(userId: string): UserView;
  list(query: { page: number; limit: number; like_user_id?: string; is_superuser?: boolean }): {
    data: UserView[];
    meta: { page: number; limit: number; count: number; hasnext: boolean };
  };
  import(content: string | Buffer, format: 'csv' | 'json', type: 'plain' | 'hash', onProgress?: (done: number, total: number) => void): Promise<ImportSummary>;
}

export interface UserView {
  user_id: string;
  is_superuser: boolean;
}

export interface ImportSummary {
  total: number;
  success: number;
  override: number;
  skipped: number;
  failed: number;
}

/** A user-management failure with EMQX's error code (§7.3). */
export class UserError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'ALREADY_EXISTS' | 'BAD_REQUEST',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
