import { isDeepStrictEqual } from 'node:util';
import type { AppliedStep, ChangeHandler, ChangeStep } from '../node/changes.js';
import type { Authorizer } from './authorizer.js';

/**
 * The node's handler for `authorization` (§8.3): the sources, the cache and the settings are
 * rebuilt from the next configuration (a source that cannot be made refuses the whole change
 * and leaves the running ones in place); undo rebuilds them from the previous one. `configure`
 * drops every cached decision and tells the rules-changed listeners (the connected clients'
 * subscriptions are checked again), so a changed rule applies to the next publish.
 */
export function authorizationHandler(authorizer: Authorizer): ChangeHandler {
  return {
    name: 'authorization',
    owns: (path) => path[0] === 'authorization',
    async apply(step: ChangeStep): Promise<AppliedStep> {
      const before = step.prev.authorization;
      const after = step.next.authorization;
      if (isDeepStrictEqual(before, after)) return { undo: async () => undefined };
      await authorizer.configure(after);
      return {
        undo: async () => {
          await authorizer.configure(before);
        },
      };
    },
  };
}
