import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { ConfigError, type ConfigProblem } from '../config/load.js';
import type { GatehouseConfig } from '../config/schema.js';
import { deleteAtPath, readOverrides, setAtPath, writeOverrides, type OverrideDoc } from '../config/overrides.js';

/**
 * Configuration becomes running state in one place (ARCHITECTURE.md): the management API,
 * the CLI (`gatehouse reload`), a reload of the file on SIGHUP and, later, a change
 * replicated from another node all call `LiveConfig.apply`. A handler per subsystem
 * (authentication chains, listeners, gateways, authorization next) is registered in the
 * composition root and makes its part live.
 */

/** Who asked for a change: the management API, or a reload of the configuration files. */
export type ChangeOrigin = 'api' | 'reload';

/** What `SubtreeChange.to` returns to leave the configuration as it is: nothing is applied or written. */
export const UNCHANGED: unique symbol = Symbol('unchanged');

/** Set (or remove) one subtree of the configuration, as the management API does. Persisted to the override file. */
export interface SubtreeChange {
  readonly kind: 'subtree';
  readonly path: readonly string[];
  /**
   * The new subtree from the current one (`undefined` removes it, `UNCHANGED` leaves it). Runs
   * in the change's turn, after every earlier change has finished, so a read-modify-write
   * cannot race; a throw refuses the change.
   */
  readonly to: (current: unknown, config: GatehouseConfig) => unknown;
}

/**
 * Read the whole configuration again (file, `GATEHOUSE_*` environment, override file) and
 * make the difference live. Not persisted: the files are where it came from.
 */
export interface ConfigReload {
  readonly kind: 'reload';
  /** Reads and validates the configuration; a `ConfigError` (naming the file) refuses the reload. */
  readonly load: () => GatehouseConfig;
}

export type ConfigChange = SubtreeChange | ConfigReload;

/** The subtree at `path` becomes `value` (`undefined` removes it). */
export function setSubtree(path: readonly string[], value: unknown): SubtreeChange {
  return { kind: 'subtree', path, to: () => value };
}

/** The subtree at `path` becomes what `to` makes of the current one, in the change's turn. */
export function updateSubtree(path: readonly string[], to: SubtreeChange['to']): SubtreeChange {
  return { kind: 'subtree', path, to };
}

export interface ChangeResult {
  /** The configuration now live. */
  readonly config: GatehouseConfig;
  /** The dotted paths whose values changed (a subtree added or removed is one path). */
  readonly changed: readonly string[];
}

/** What a handler is asked to make live. */
export interface ChangeStep {
  readonly prev: GatehouseConfig;
  readonly next: GatehouseConfig;
  /**
   * Where the change was made (`[]` for a reload). What lies at or under it is refreshed even
   * when its settings are equal: a PUT of a TLS listener, or a reload, re-reads its files.
   */
  readonly at: readonly string[];
  readonly origin: ChangeOrigin;
}

/** How to finish or take back what a handler made live. */
export interface AppliedStep {
  /** Puts back what `prev` had; called when a later handler or the override file fails. */
  undo(): Promise<void>;
  /** Releases what `prev` held (old authenticators), once the whole change has succeeded. */
  finish?(): Promise<void>;
}

/**
 * One subsystem's part of applying a configuration. `apply` is all or nothing for its
 * subsystem: when it throws, the subsystem is as `prev` left it. When it succeeds it returns
 * how to undo it, so a later handler's failure leaves the whole node as it was.
 */
export interface ChangeHandler {
  /** For logs: `authentication`, `listeners`, `gateway.stomp`. */
  readonly name: string;
  /** True for the configuration paths this handler makes live; a changed path no handler owns refuses the change. */
  owns(path: readonly string[]): boolean;
  apply(step: ChangeStep): Promise<AppliedStep>;
}

export interface LiveConfigOptions {
  initial: GatehouseConfig;
  /** `<node.data_dir>/cluster.hocon`: where subtree changes are persisted. */
  overrideFile: string;
  /** Validates a whole configuration document: the schema and every registry's checks. Throws `ConfigError`. */
  validate: (doc: Record<string, unknown>) => GatehouseConfig;
  logger: Logger;
}

/**
 * The node's live configuration and the one entry that changes it. Changes run one at a
 * time. Each is validated as a whole configuration first; a changed path that no handler
 * owns refuses it (it needs a restart); then every handler makes its part live in
 * registration order, and a failure undoes the handlers before it (newest first); finally a
 * subtree change is written atomically to the override file, and a write that fails undoes
 * every handler. A refused change leaves the configuration, the running state and the file
 * as they were.
 */
export class LiveConfig {
  private current: GatehouseConfig;
  private overrides: OverrideDoc;
  private readonly handlers: ChangeHandler[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LiveConfigOptions) {
    this.current = opts.initial;
    this.overrides = readOverrides(opts.overrideFile);
  }

  /** The configuration now live (do not modify it: make a change). */
  get config(): GatehouseConfig {
    return this.current;
  }

  get overrideFile(): string {
    return this.opts.overrideFile;
  }

  /** Adds a subsystem's handler; handlers apply in the order they are registered. */
  register(handler: ChangeHandler): this {
    this.handlers.push(handler);
    return this;
  }

  /** Applies one change after every earlier one has finished. */
  apply(change: ConfigChange): Promise<ChangeResult> {
    const run = this.queue.then(() => this.run(change));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(change: ConfigChange): Promise<ChangeResult> {
    const origin: ChangeOrigin = change.kind === 'reload' ? 'reload' : 'api';
    try {
      const result = change.kind === 'reload' ? await this.reload(change) : await this.setSubtree(change);
      if (result.changed.length > 0 || origin === 'reload') {
        this.opts.logger.info({ origin, changed: result.changed }, result.changed.length > 0 ? 'configuration change applied' : 'configuration reloaded: nothing changed');
      }
      return result;
    } catch (err) {
      // The API answers its caller; a reload has only the log to say why it was refused.
      if (origin === 'reload') this.opts.logger.warn({ origin, error: (err as Error).message }, 'configuration reload refused; the node keeps its configuration');
      throw err;
    }
  }

  private async setSubtree(change: SubtreeChange): Promise<ChangeResult> {
    const prev = this.current;
    const draft = structuredClone(prev) as unknown as Record<string, unknown>;
    const value = change.to(structuredClone(valueAt(draft, change.path)), prev);
    if (value === UNCHANGED) return { config: prev, changed: [] };
    if (value === undefined) deleteAtPath(draft, change.path);
    else setAtPath(draft, change.path, structuredClone(value));
    const next = this.opts.validate(draft);
    const changed = await this.makeLive(prev, next, change.path, 'api', () => {
      const overrides = structuredClone(this.overrides);
      setAtPath(overrides, change.path, value === undefined ? null : structuredClone(value));
      writeOverrides(this.opts.overrideFile, overrides);
      this.overrides = overrides;
    });
    return { config: next, changed };
  }

  private async reload(change: ConfigReload): Promise<ChangeResult> {
    const next = change.load();
    const overrides = readOverrides(this.opts.overrideFile);
    const changed = await this.makeLive(this.current, next, [], 'reload', () => undefined);
    this.overrides = overrides;
    return { config: next, changed };
  }

  /** Runs the handlers, persists, and makes `next` current; all or nothing. */
  private async makeLive(prev: GatehouseConfig, next: GatehouseConfig, at: readonly string[], origin: ChangeOrigin, persist: () => void): Promise<string[]> {
    const changed = changedPaths(prev, next);
    const unowned = changed.filter((path) => !this.handlers.some((h) => h.owns(path)));
    if (unowned.length > 0) {
      const problems: ConfigProblem[] = unowned.map((path) => ({ path: path.join('.'), message: 'cannot change while the node runs; restart the node to apply it' }));
      throw new ConfigError(problems, origin === 'reload' ? 'configuration reload' : 'change');
    }
    const step: ChangeStep = { prev, next, at, origin };
    const applied: Array<{ handler: ChangeHandler; step: AppliedStep }> = [];
    try {
      for (const handler of this.handlers) applied.push({ handler, step: await handler.apply(step) });
      persist();
    } catch (err) {
      await this.undo(applied);
      throw err;
    }
    this.current = next;
    for (const { handler, step: done } of applied) {
      await done.finish?.().catch((err: Error) => this.opts.logger.warn({ handler: handler.name, error: err.message }, 'releasing the previous configuration failed'));
    }
    return changed.map((p) => p.join('.'));
  }

  private async undo(applied: Array<{ handler: ChangeHandler; step: AppliedStep }>): Promise<void> {
    for (const { handler, step } of [...applied].reverse()) {
      try {
        await step.undo();
      } catch (err) {
        this.opts.logger.error({ handler: handler.name, error: (err as Error).message }, 'undoing a refused configuration change failed; this part may differ from the configuration');
      }
    }
  }
}

/** The value at a path of a configuration document, if any. */
export function valueAt(doc: unknown, path: readonly string[]): unknown {
  let node: unknown = doc;
  for (const seg of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[seg];
  }
  return node;
}

/**
 * Where two configurations differ, as paths: objects are compared key by key, anything else
 * (arrays included) as a whole; a subtree only one side has is one path.
 */
export function changedPaths(a: unknown, b: unknown, at: readonly string[] = []): string[][] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths(a[k], b[k], [...at, k]));
  }
  return isDeepStrictEqual(a, b) ? [] : [[...at]];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** True when `prefix` is `path` or one of its ancestors. */
export function isWithin(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => path[i] === seg);
}
