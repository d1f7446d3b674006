import type { TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { schemaProblems, type ConfigProblem } from '../config/load.js';
import { fillDefaults } from '../config/defaults.js';
import { FragmentRegistry } from '../config/fragments.js';
import type { BuiltInStore } from '../store/index.js';
import type { SourceMatch } from './rule.js';
import type { AuthzClient, AuthzRequest, RulesScope } from './types.js';

/**
 * The authorization source contract (ARCHITECTURE.md; EMQX's emqx_authz_source behaviour):
 * a source type is one folder with its schema and one `register` line in the composition
 * root. A source answers a match (allow or deny, with the rule), `nomatch` or `ignore`; the
 * authorizer alone handles order, enable flags, timeouts, errors, metrics and logging.
 */

export type SourceAnswer = SourceMatch | 'nomatch' | 'ignore';

/** Filled in by a source when explain asks (never a secret). */
export interface SourceTrace {
  /** What the source looked at or why nothing matched (`3 rules for clientid c1`, a query). */
  detail?: string;
}

export type SourceStatus = 'connected' | 'disconnected' | 'connecting';

export interface AuthzSource {
  /**
   * Sources that answer from memory (file, built-in database) answer synchronously: the
   * authorizer then makes no promise and no timer. Others return a promise, bounded by
   * `timeoutMs`. `request` is the caller's: read it now, copy what a promise needs later.
   */
  authorize(client: AuthzClient, request: AuthzRequest, trace?: SourceTrace): SourceAnswer | Promise<SourceAnswer>;
  /** Takes a new configuration of the same type (already validated); on failure keeps the old one and throws. */
  update(config: Record<string, unknown>): Promise<void>;
  /** Resource health for the status endpoint; in-memory sources are always connected. */
  status(): SourceStatus;
  destroy(): Promise<void>;
  /** An asynchronous answer not given by then counts as nomatch (default DEFAULT_SOURCE_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

export const DEFAULT_SOURCE_TIMEOUT_MS = 15_000;

/** What a source gets when it is created. */
export interface SourceContext {
  logger: Logger;
  store: BuiltInStore;
  /** Relative paths in the configuration resolve against this. */
  baseDir: string;
  /** The node's data directory (files written through the API live under it). */
  dataDir: string;
  /**
   * The source's rules changed (a reload, a write from elsewhere): the cached decisions of the
   * clients `scope` names (everyone's without one) go at once, and their subscriptions are
   * checked again.
   */
  rulesChanged(scope?: RulesScope): void;
}

/** Where a source block is checked: the config file, or an API body. */
export interface ValidationContext {
  baseDir: string;
  from: 'config' | 'api';
}

/** Where a source's files are: relative paths resolve against `baseDir`; the API stores files under `dataDir`. */
export interface SourceFiles {
  baseDir: string;
  dataDir: string;
}

/** A mistake in an API body that the schema cannot see (`rules` that do not parse), naming the field. */
export class SourceInputError extends Error {
  override readonly name = 'SourceInputError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * The form of a source in the management API, when it differs from the configuration's
 * (§9.1: a `file` source takes and shows its `rules` text rather than a path).
 */
export interface SourceApiForm {
  /** The block as the API takes and shows it (the body and answer fragment in `/api-docs`). */
  readonly schema: TObject;
  /**
   * The configuration block of a body already checked against `schema`. May store files
   * under `dataDir`, atomically; `undo` puts back what was there (the change was refused).
   * Throws SourceInputError.
   */
  toConfig(body: Record<string, unknown>, files: SourceFiles): { config: Record<string, unknown>; undo(): void };
  /** An API answer of a configured block (throws when what it shows cannot be read). */
  view(config: Record<string, unknown>, files: SourceFiles): Record<string, unknown>;
}

export interface AuthzSourceType {
  /** EMQX's type name (`file`, `built_in_database`, `http`, ...). */
  readonly type: string;
  /** The whole source block, `type` and `enable` included. */
  readonly schema: TObject;
  /** The API's form, when it is not `schema`. */
  readonly api?: SourceApiForm;
  /** Fields whose values are secrets (masked in API answers and logs). */
  readonly secretFields?: readonly string[];
  /** Checks the schema cannot express (an acl.conf that does not parse), `{field, message}` relative to the block. */
  validate?(config: Record<string, unknown>, ctx: ValidationContext): Array<{ field: string; message: string }>;
  create(config: Record<string, unknown>, ctx: SourceContext): Promise<AuthzSource>;
}

/**
 * The source types a node knows, made in the composition root with one `register` line each.
 * One source per type: a second registration of a type is a programming error.
 */
export class SourceRegistry {
  private readonly types = new Map<string, AuthzSourceType>();
  /** The API forms of the types, by `type`: the management API's bodies and answers (`/api-docs`). */
  readonly fragments = new FragmentRegistry<{ type: string; schema: TObject; secretFields?: readonly string[] }>('authorization source', ['type']);

  register(sourceType: AuthzSourceType): this {
    if (this.types.has(sourceType.type)) throw new Error(`authorization source type ${sourceType.type} is registered twice`);
    this.types.set(sourceType.type, sourceType);
    this.fragments.register({
      type: sourceType.type,
      schema: sourceType.api?.schema ?? sourceType.schema,
      ...(sourceType.secretFields ? { secretFields: sourceType.secretFields } : {}),
    });
    return this;
  }

  find(type: string): AuthzSourceType | undefined {
    return this.types.get(type);
  }

  names(): string[] {
    return [...this.types.keys()];
  }

  /**
   * Checks `authorization.sources` (§8.3): known types, each type's own schema (its defaults
   * filled in), its own checks, and one source per type (`duplicated_authz_source_type`).
   */
  problems(path: string, sources: ReadonlyArray<Record<string, unknown>>, ctx: ValidationContext): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const seen = new Map<string, number>();
    sources.forEach((block, index) => {
      const at = `${path}.${index}`;
      const type = block['type'];
      if (typeof type !== 'string') return; // reported by the root schema
      const sourceType = this.types.get(type);
      if (!sourceType) {
        problems.push({ path: `${at}.type`, message: `unknown authorization source type ${JSON.stringify(type)}; available: ${this.names().join(', ')}` });
        return;
      }
      const earlier = seen.get(type);
      if (earlier !== undefined) {
        problems.push({ path: at, message: `duplicated_authz_source_type: ${path}.${earlier} is also a ${type} source (one source per type)` });
        return;
      }
      seen.set(type, index);
      fillDefaults(sourceType.schema, block);
      const structural = schemaProblems(sourceType.schema, block, at);
      problems.push(...structural);
      if (structural.length === 0 && sourceType.validate && block['enable'] !== false) {
        for (const p of sourceType.validate(block, ctx)) problems.push({ path: `${at}.${p.field}`, message: p.message });
      }
    });
    return problems;
  }
}
