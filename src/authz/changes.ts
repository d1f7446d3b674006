import { isDeepStrictEqual } from 'node:util';
import type { AppliedStep, ChangeHandler, ChangeStep } from '../node/changes.js';
import type { Authorizer } from './authorizer.js';

/**
 * The node's handler for `authorization` (§8.3): the sources, the cache and the settings are
 * rebuilt from the next configuration (a source that cannot be made refuses the whole change
 * and leaves the running ones in place); undo rebuilds them from the previous one. A change
 * made through the API at `authorization` or under `authorization.sources` rebuilds them even
 * when the configuration is equal (a file's rules rewritten at the same path). Every
 * cached decision is dropped, so a changed rule applies to the next publish.
 */
export function authorizationHandler(authorizer: Authorizer): ChangeHandler {
  return {
    name: 'authorization',
    owns: (path) => path[0] === 'authorization',
    async apply(step: ChangeStep): Promise<AppliedStep> {
      const before = step.prev.authorization;
      const after = step.next.authorization;
      // A change made at the sources rebuilds them even when equal: a `file` source's rules
      // were rewritten in place (PUT with `rules`), its path is the same.
      const atSources = step.at[0] === 'authorization' && (step.at.length === 1 || step.at[1] === 'sources');
      if (isDeepStrictEqual(before, after) && !atSources) return { undo: async () => undefined };
      await authorizer.configure(after);
      authorizer.invalidate();
      return {
        undo: async () => {
          await authorizer.configure(before);
          authorizer.invalidate();
        },
      };
    },
  };
}
