import { isDeepStrictEqual } from 'node:util';
import type { GatehouseConfig } from '../config/schema.js';
import type { AppliedStep, ChangeHandler, ChangeStep } from './changes.js';

export interface SettingsHandlerOptions<T> {
  name: string;
  owns(path: readonly string[]): boolean;
  /** The settings this handler keeps live, as a configuration has them. */
  select(config: GatehouseConfig): T;
  /** Makes settings live (read per new connection, so they apply to the next one). */
  set(value: T): void;
}

/** The handler for settings that are simply read where they are used: set them, or set them back. */
export function settingsHandler<T>(opts: SettingsHandlerOptions<T>): ChangeHandler {
  return {
    name: opts.name,
    owns: opts.owns,
    async apply(step: ChangeStep): Promise<AppliedStep> {
      const before = opts.select(step.prev);
      const after = opts.select(step.next);
      if (isDeepStrictEqual(before, after)) return { undo: async () => undefined };
      opts.set(after);
      return { undo: async () => opts.set(before) };
    },
  };
}
