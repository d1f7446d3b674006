import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { hashPassword, verifyPassword, type PasswordHashAlgorithm } from '../authn/password/index.js';
import type { MetaTable } from '../store/index.js';
import { ApiError } from './errors.js';

/** The API's two roles (§10): a viewer may only read. */
export type ApiRole = 'administrator' | 'viewer';

/** Who is calling: an API key (Basic) or the dashboard admin (Bearer token). */
export interface Principal {
  kind: 'api_key' | 'token';
  name: string;
  role: ApiRole;
}

/**
 * How the admin password is kept: pbkdf2-sha512. A chosen password gets OWASP's 210 000
 * iterations; a generated one (144 random bits, beyond any guessing) needs no stretching,
 * which keeps node starts fast.
 */
const CHOSEN_ITERATIONS = 210_000;
const GENERATED_ITERATIONS = 1_000;
const adminHash = (iterations: number): PasswordHashAlgorithm => ({ name: 'pbkdf2', mac_fun: 'sha512', iterations });
const ADMIN_META_KEY = 'dashboard.admin_password';
const TOKEN_LIFETIME_MS = 60 * 60 * 1000;

interface ApiKey {
  key: string;
  secretDigest: Buffer;
  role: ApiRole;
}

interface StoredAdmin {
  username: string;
  iterations: number;
  password_hash: string;
  salt: string;
}

export interface AccessSettings {
  logger: Logger;
  meta: MetaTable;
  username: string;
  /** dashboard.default_password (or GATEHOUSE_DASHBOARD__DEFAULT_PASSWORD); absent → generated once. */
  password: string | undefined;
  /** api_key.bootstrap_file, resolved; '' for none. */
  apiKeyFile: string;
  baseDir: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * API access (emqx5-auth.md §10, gatehouse-choices 11): API keys from the bootstrap file
 * over Basic auth, and bearer tokens from POST /login for the admin user, whose password
 * is never a default: configured, or generated on the first start and printed once,
 * stored only as a pbkdf2 hash.
 */
export class ApiAccess {
  private readonly keys = new Map<string, ApiKey>();
  private readonly tokens = new Map<string, { username: string; role: ApiRole; expiresAt: number }>();

  private constructor(private readonly settings: AccessSettings) {}

  static async create(settings: AccessSettings): Promise<ApiAccess> {
    const access = new ApiAccess(settings);
    access.loadApiKeys();
    await access.ensureAdminPassword();
    return access;
  }

  get username(): string {
    return this.settings.username;
  }

  private loadApiKeys(): void {
    const { apiKeyFile, baseDir, logger } = this.settings;
    if (!apiKeyFile) return;
    const file = resolve(baseDir, apiKeyFile);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      logger.warn({ file, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'API key bootstrap file not read: no API keys');
      return;
    }
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const [key, secret, role, ...more] = line.split(':');
      const roleOk = role === undefined || role === 'administrator' || role === 'viewer';
      if (!key || !secret || !roleOk || more.length > 0) {
        logger.warn({ file, line: index + 1 }, 'API key bootstrap line ignored: expected key:secret or key:secret:administrator|viewer');
        return;
      }
      this.keys.set(key, { key, secretDigest: digest(secret), role: (role as ApiRole | undefined) ?? 'administrator' });
    });
    logger.info({ file, keys: this.keys.size }, 'API keys loaded');
  }

  private async ensureAdminPassword(): Promise<void> {
    const { username, password, logger } = this.settings;
    const stored = this.storedAdmin();
    if (password !== undefined && password !== '') {
      if (stored && stored.username === username && (await verifyPassword(adminHash(stored.iterations), password, stored))) return;
      await this.storeAdmin(username, password, CHOSEN_ITERATIONS);
      logger.info({ username }, 'dashboard admin password set from configuration');
      return;
    }
    if (stored && stored.username === username) return;
    const generated = randomBytes(18).toString('base64url');
    await this.storeAdmin(username, generated, GENERATED_ITERATIONS);
    // gatehouse-choices 11: the one place a secret is printed, once, by design.
    logger.warn(
      { username, initial_admin_password: generated },
      'dashboard admin password generated; it is shown only this once (set dashboard.default_password to choose one)',
    );
  }

  private storedAdmin(): StoredAdmin | undefined {
    const text = this.settings.meta.get(ADMIN_META_KEY);
    if (!text) return undefined;
    try {
      const parsed = JSON.parse(text) as StoredAdmin;
      return typeof parsed.iterations === 'number' ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  private async storeAdmin(username: string, password: string, iterations: number): Promise<void> {
    const hashed = await hashPassword(adminHash(iterations), password);
    this.settings.meta.set(ADMIN_META_KEY, JSON.stringify({ username, iterations, ...hashed }));
  }

  /** POST /login: a bearer token for the admin user, or undefined. */
  async login(username: string, password: string): Promise<{ token: string; role: ApiRole } | undefined> {
    const stored = this.storedAdmin();
    if (!stored || stored.username !== username) return undefined;
    if (!(await verifyPassword(adminHash(stored.iterations), password, stored))) return undefined;
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, { username, role: 'administrator', expiresAt: Date.now() + TOKEN_LIFETIME_MS });
    return { token, role: 'administrator' };
  }

  logout(token: string): void {
    this.tokens.delete(token);
  }

  /** Checks an Authorization header; throws the §10 401 errors. */
  authenticate(header: string | undefined): Principal {
    if (!header) throw new ApiError(401, 'AUTHORIZATION_HEADER_ERROR', 'Support authorization: basic/bearer');
    const [scheme, value = ''] = header.split(/\s+/, 2) as [string, string?];
    if (/^basic$/i.test(scheme)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const key = colon >= 0 ? this.keys.get(decoded.slice(0, colon)) : undefined;
      const given = digest(colon >= 0 ? decoded.slice(colon + 1) : '');
      if (!key || !timingSafeEqual(key.secretDigest, given)) throw new ApiError(401, 'BAD_API_KEY_OR_SECRET', 'Check api_key/api_secret');
      return { kind: 'api_key', name: key.key, role: key.role };
    }
    if (/^bearer$/i.test(scheme)) {
      const entry = this.tokens.get(value);
      if (!entry) throw new ApiError(401, 'BAD_TOKEN', 'Get a token by POST /login');
      if (entry.expiresAt < Date.now()) {
        this.tokens.delete(value);
        throw new ApiError(401, 'TOKEN_TIME_OUT', 'Token expired, get new token by POST /login');
      }
      return { kind: 'token', name: entry.username, role: entry.role };
    }
    throw new ApiError(401, 'AUTHORIZATION_HEADER_ERROR', 'Support authorization: basic/bearer');
  }
}
