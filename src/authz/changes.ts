import { isDeepStrictEqual } from 'node:util';
import { isWithin, type AppliedStep, type ChangeHandler, type ChangeStep } from '../node/changes.js';
import type { Authorizer } from './authorizer.js';

/**
 * The node's handler for `authorization` (§8.3): the sources, the cache and the settings are
 * rebuilt from the next configuration (a source that cannot be made refuses the whole change
 * and leaves the running ones in place); undo rebuilds them from the previous one. `configure`
 * drops every cached decision and tells the rules-changed listeners (the connected clients'
 * subscriptions are checked again), so a changed rule applies to the next publish.
 */
const AT = ['authorization'] as const;

export function authorizationHandler(authorizer: Authorizer): ChangeHandler {
  return {
    name: 'authorization',
    owns: (path) => path[0] === 'authorization',
    async apply(step: ChangeStep): Promise<AppliedStep> {
      const before = step.prev.authorization;
      const after = step.next.authorization;
      // A reload (or a change made at or under `authorization`) re-reads the rule files even
      // when the settings are equal: an edited acl.conf takes effect on `gatehouse reload`.
      const refresh = isWithin(step.at, AT) || isWithin(AT, step.at);
      if (isDeepStrictEqual(before, after) && !refresh) return { undo: async () => undefined };
      await authorizer.configure(after);
      return {
        undo: async () => {
          await authorizer.configure(before);
        },
      };
    },
  };
}
