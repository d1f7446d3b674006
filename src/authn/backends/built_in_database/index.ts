import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import {
  HashBusyError,
  hashBusyMessage,
  hashPassword,
  loginRefusal,
  parsePasswordHashAlgorithm,
  passwordHashAlgorithmField,
  PasswordHashError,
  verifyPassword,
  verifyPasswordNow,
  type PasswordHashAlgorithm,
} from '../../password/index.js';
import { formatFromFilename, UserImportError, type BuiltInStore, type ImportMode } from '../../../store/index.js';
import { Enum } from '../../../config/types.js';
import {
  UserError,
  type Authenticator,
  type AuthenticatorFactory,
  type AuthenticatorContext,
  type AuthnResult,
  type ImportSummary,
  type UserManager,
  type UserView,
} from '../../authenticator.js';
import { importUsers } from './import.js';

/** `password_based` + `built_in_database` (§3.3): users in the node's own store, one group per chain. */
export const BuiltInDatabaseSchema = Type.Object(
  {
    mechanism: Type.Literal('password_based'),
    backend: Type.Literal('built_in_database'),
    enable: Type.Boolean({ default: true }),
    user_id_type: Enum(['username', 'clientid'] as const, { default: 'username' }),
    password_hash_algorithm: passwordHashAlgorithmField('built_in_database'),
    bootstrap_file: Type.String({ default: '' }),
    bootstrap_type: Enum(['plain', 'hash'] as const, { default: 'plain' }),
    id: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** The backend's type, for the composition root's `AuthenticatorRegistry`. */
export const builtInDatabase: AuthenticatorFactory = {
  mechanism: 'password_based',
  backend: 'built_in_database',
  schema: BuiltInDatabaseSchema,
  validate(config, source) {
    try {
      parsePasswordHashAlgorithm(config['password_hash_algorithm'], { variant: 'built_in_database', source });
      return [];
    } catch (err) {
      return [{ field: 'password_hash_algorithm', message: (err as Error).message }];
    }
  },
  async create(config, ctx) {
    return BuiltInDatabaseAuthenticator.create(config, ctx);
  },
};

export class BuiltInDatabaseAuthenticator implements Authenticator {
  readonly users: UserManager;

  private constructor(
    private readonly store: BuiltInStore,
    /** The user group: the chain's name (§3.3). */
    private readonly group: string,
    private readonly userIdType: 'username' | 'clientid',
    private readonly algorithm: PasswordHashAlgorithm,
  ) {
    this.users = new BuiltInUsers(store, group, algorithm);
  }

  static async create(config: Record<string, unknown>, ctx: AuthenticatorContext): Promise<BuiltInDatabaseAuthenticator> {
    const algorithm = parsePasswordHashAlgorithm(config['password_hash_algorithm'], {
      variant: 'built_in_database',
      source: ctx.fromFile ? 'config' : 'api',
    });
    const userIdType = config['user_id_type'] === 'clientid' ? 'clientid' : 'username';
    const self = new BuiltInDatabaseAuthenticator(ctx.store, ctx.chain, userIdType, algorithm);
    const file = typeof config['bootstrap_file'] === 'string' ? config['bootstrap_file'] : '';
    if (file) await self.bootstrap(resolve(ctx.baseDir, file), config['bootstrap_type'] === 'hash' ? 'hash' : 'plain', ctx);
    return self;
  }

  /** Synchronous for the digests (a store lookup and a hash); a promise for bcrypt and pbkdf2. */
  authenticate(c: Parameters<Authenticator['authenticate']>[0], opts?: Parameters<Authenticator['authenticate']>[1]): AuthnResult | Promise<AuthnResult> {
    if (c.auth_method !== undefined) return { outcome: 'ignore', detail: 'enhanced authentication is not for this authenticator' };
    const userId = this.userIdType === 'username' ? c.username : c.clientid;
    if (opts?.trace) opts.trace.request = `lookup ${this.userIdType} ${JSON.stringify(userId ?? '')} in user group ${this.group}`;
    if (c.password === undefined) return { outcome: 'deny', reason: 'bad_username_or_password', detail: 'no password' };
    if (!userId) return { outcome: 'ignore', detail: `no ${this.userIdType}` };
    const user = this.store.users.get(this.group, userId);
    if (!user) return { outcome: 'ignore', detail: 'user not found' };
    let now: boolean | undefined;
    try {
      now = verifyPasswordNow(this.algorithm, c.password, user);
    } catch (err) {
      return unusable(err);
    }
    if (now !== undefined) return matched(now, user.is_superuser);
    // Past the hashing queue's bounds the login is refused here, synchronously: a storm's
    // surplus costs no promise, abort signal or error object.
    const busy = loginRefusal(c.peerhost);
    if (busy !== undefined) return { outcome: 'deny', reason: 'server_busy', detail: hashBusyMessage(busy) };
    // bcrypt and pbkdf2 queue for a hashing slot, fairly by client address; the abort signal
    // lets a timeout remove the job.
    const wait = opts?.signal ? { signal: opts.signal, source: c.peerhost } : { source: c.peerhost };
    return verifyPassword(this.algorithm, c.password, user, wait).then((ok) => matched(ok, user.is_superuser), unusable);
  }

  /** Bootstrap file (§6.4): imported at create, existing different users count as failed. */
  private async bootstrap(path: string, type: 'plain' | 'hash', ctx: AuthenticatorContext): Promise<void> {
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch {
      ctx.logger.warn({ chain: ctx.chain, file: path }, 'bootstrap file not found: no users imported');
      return;
    }
    try {
      const format = formatFromFilename(extname(path) ? path : `${path}.csv`);
      const result = await importUsers(this.store, this.group, this.algorithm, content, format, type, 'no_override');
      ctx.logger.info({ chain: ctx.chain, file: path, ...result }, 'bootstrap users imported');
    } catch (err) {
      if (err instanceof UserImportError && err.code === 'empty_users') return;
      ctx.logger.warn({ chain: ctx.chain, file: path, error: (err as Error).message }, 'bootstrap file not imported');
    }
  }
}

function matched(ok: boolean, isSuperuser: boolean): AuthnResult {
  return ok ? { outcome: 'allow', isSuperuser } : { outcome: 'deny', reason: 'bad_username_or_password', detail: 'password does not match' };
}

/**
 * A full hashing queue (this address's, or the whole) refuses the client at once as
 * `server_busy` (CONNACK 0x89, v3 code 3): it may retry later. A stored hash the algorithm
 * cannot read is not this client's fault: ignore, as EMQX.
 */
function unusable(err: unknown): AuthnResult {
  if (err instanceof HashBusyError) return { outcome: 'deny', reason: 'server_busy', detail: err.message };
  if (err instanceof PasswordHashError) return { outcome: 'ignore', detail: `stored password unusable: ${err.code}` };
  throw err;
}

/** User management of one chain's user group (§6.1). */
class BuiltInUsers implements UserManager {
  constructor(
    private readonly store: BuiltInStore,
    private readonly group: string,
    private readonly algorithm: PasswordHashAlgorithm,
  ) {}

  async add(user: { user_id: string; password: string; is_superuser?: boolean }): Promise<UserView> {
    if (!user.user_id) throw new UserError('BAD_REQUEST', 'invalid_user_id: user_id must not be empty');
    const hashed = await hashPassword(this.algorithm, user.password);
    const isSuperuser = user.is_superuser === true;
    const r = this.store.users.insert(this.group, { user_id: user.user_id, ...hashed, is_superuser: isSuperuser });
    if (r === 'already_exists') throw new UserError('ALREADY_EXISTS', `user ${user.user_id} already exists`);
    return { user_id: user.user_id, is_superuser: isSuperuser };
  }

  async update(userId: string, patch: { password?: string; is_superuser?: boolean }): Promise<UserView> {
    const existing = this.store.users.get(this.group, userId);
    if (!existing) throw new UserError('NOT_FOUND', `user ${userId} not found`);
    const hashed = patch.password !== undefined ? await hashPassword(this.algorithm, patch.password) : {};
    const r = this.store.users.update(this.group, userId, {
      ...hashed,
      ...(patch.is_superuser !== undefined ? { is_superuser: patch.is_superuser } : {}),
    });
    if (r === 'not_found') throw new UserError('NOT_FOUND', `user ${userId} not found`);
    return { user_id: userId, is_superuser: patch.is_superuser ?? existing.is_superuser };
  }

  delete(userId: string): void {
    if (this.store.users.delete(this.group, userId) === 'not_found') throw new UserError('NOT_FOUND', `user ${userId} not found`);
  }

  lookup(userId: string): UserView {
    const u = this.store.users.get(this.group, userId);
    if (!u) throw new UserError('NOT_FOUND', `user ${userId} not found`);
    return { user_id: u.user_id, is_superuser: u.is_superuser };
  }

  list(query: { page: number; limit: number; like_user_id?: string; is_superuser?: boolean }) {
    return this.store.users.list(this.group, query);
  }

  import(
    content: string | Buffer,
    format: 'csv' | 'json',
    type: 'plain' | 'hash',
    onProgress?: (done: number, total: number) => void,
  ): Promise<ImportSummary> {
    return importUsers(this.store, this.group, this.algorithm, content, format, type, 'override', onProgress);
  }
}

export type { ImportMode };
