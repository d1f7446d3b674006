import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { GatehouseConfig } from '../config/schema.js';
import { isWithin, type AppliedStep, type ChangeHandler, type ChangeStep } from './changes.js';

/** What a listener spec needs for this handler: the manager's own spec type has these. */
export interface SpecLike {
  readonly id: string;
  readonly enable: boolean;
}

/** What the handler needs of the node's listener manager (`listeners/manager.ts` has it). */
export interface ListenerControl<S extends SpecLike> {
  has(id: string): boolean;
  /** Adds and starts a listener; throws when it cannot bind. */
  add(spec: S): Promise<void>;
  /** Applies new settings in place, or restarts only that listener; throws and keeps the old settings on failure. */
  update(spec: S): Promise<void>;
  remove(id: string): Promise<void>;
}

/** A listener as a configuration defines it. */
export interface ConfiguredListener<S extends SpecLike> {
  /** Where its block is in the configuration. */
  readonly path: readonly string[];
  /** Its block in the transports' form (compared to tell whether it changed). */
  readonly spec: S;
}

export interface ListenersHandlerOptions<S extends SpecLike> {
  name: string;
  owns(path: readonly string[]): boolean;
  /** Every listener a configuration defines (an implicit default included). */
  listeners(config: GatehouseConfig): ConfiguredListener<S>[];
  control: ListenerControl<S>;
  logger: Logger;
}

/**
 * The handler that keeps running listeners in line with the configuration: a listener whose
 * settings changed (its chain is the authentication handler's), or that lies under where the change was made, is added, updated (in place,
 * or only it restarts) or removed; the others keep their clients. Removals go first, so a
 * port given up can be taken by a listener added in the same change. When one listener
 * fails (a port in use, TLS files that cannot be loaded), those already changed go back to
 * their previous settings before the error is passed on.
 */
export function listenersHandler<S extends SpecLike>(opts: ListenersHandlerOptions<S>): ChangeHandler {
  const make = async (id: string, spec: S | undefined): Promise<void> => {
    const { control } = opts;
    if (!spec) {
      if (control.has(id)) await control.remove(id);
    } else if (control.has(id)) {
      await control.update(spec);
    } else if (spec.enable) {
      await control.add(spec);
    }
  };
  const restore = async (done: string[], before: Map<string, ConfiguredListener<S>>): Promise<void> => {
    for (const id of [...done].reverse()) {
      try {
        await make(id, before.get(id)?.spec);
      } catch (err) {
        opts.logger.error({ listener: id, error: (err as Error).message }, 'listener could not be put back to its previous settings');
      }
    }
  };

  return {
    name: opts.name,
    owns: opts.owns,
    async apply(step: ChangeStep): Promise<AppliedStep> {
      const before = byId(opts.listeners(step.prev));
      const after = byId(opts.listeners(step.next));
      const touched: string[] = [];
      for (const id of new Set([...before.keys(), ...after.keys()])) {
        const was = before.get(id);
        const will = after.get(id);
        if (!isDeepStrictEqual(was?.spec, will?.spec) || isWithin(step.at, (will ?? was)!.path)) touched.push(id);
      }
      touched.sort((a, b) => Number(after.has(a)) - Number(after.has(b)));
      const done: string[] = [];
      try {
        for (const id of touched) {
          await make(id, after.get(id)?.spec);
          done.push(id);
        }
      } catch (err) {
        await restore(done, before);
        throw err;
      }
      return { undo: () => restore(done, before) };
    },
  };
}

function byId<S extends SpecLike>(listeners: ConfiguredListener<S>[]): Map<string, ConfiguredListener<S>> {
  return new Map(listeners.map((l) => [l.spec.id, l]));
}
