import { ConfigError, validateConfig, type ConfigCheck } from '../config/load.js';
import type { GatehouseConfig } from '../config/schema.js';
import { deleteAtPath, readOverrides, setAtPath, writeOverrides, type OverrideDoc } from '../config/overrides.js';
import { configRejected } from './errors.js';

/** One change to the node's configuration: set (or remove) the subtree at `path`. */
export interface ConfigChange {
  path: readonly string[];
  /** `undefined` removes the subtree. */
  value: unknown;
  /** Makes the change live (chains, listeners); a throw cancels the change. */
  apply(next: GatehouseConfig): Promise<void>;
  /** Renames problem paths for the answer (e.g. `authentication.2.backend` → `backend`). */
  field?: (path: string) => string;
}

/**
 * The node's live configuration as the API sees it, and the override file that makes
 * API changes survive a restart. Changes run one at a time: validate the whole new
 * configuration (schema and backend checks), apply it live, then write the file
 * atomically. A change that fails at any step changes nothing.
 */
export class ConfigState {
  private current: GatehouseConfig;
  private overrides: OverrideDoc;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(initial: GatehouseConfig, private readonly file: string, private readonly checks: readonly ConfigCheck[]) {
    this.current = structuredClone(initial);
    this.overrides = readOverrides(file);
  }

  get config(): GatehouseConfig {
    return this.current;
  }

  /** Where API changes are written. */
  get overrideFile(): string {
    return this.file;
  }

  /** Runs `fn` after every earlier change has finished (read-modify-write sections). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Validates, applies and persists one change; call inside `serial`. */
  async commit(change: ConfigChange): Promise<GatehouseConfig> {
    const draft = structuredClone(this.current) as unknown as Record<string, unknown>;
    if (change.value === undefined) deleteAtPath(draft, change.path);
    else setAtPath(draft, change.path, structuredClone(change.value));
    let next: GatehouseConfig;
    try {
      next = validateConfig(draft, [...this.checks], 'change');
    } catch (err) {
      if (err instanceof ConfigError) throw configRejected(err, change.field);
      throw err;
    }
    await change.apply(next);
    const overrides = structuredClone(this.overrides);
    setAtPath(overrides, change.path, change.value === undefined ? null : structuredClone(change.value));
    writeOverrides(this.file, overrides);
    this.overrides = overrides;
    this.current = next;
    return next;
  }

  /** `serial` + `commit`. */
  change(change: ConfigChange): Promise<GatehouseConfig> {
    return this.serial(() => this.commit(change));
  }
}
