import { isDeepStrictEqual } from 'node:util';
import type { AppliedStep, ChangeHandler, ChangeStep } from '../../node/changes.js';
import type { AccessProtection } from './protection.js';

/** The configuration paths the protections read: `flapping_detect`, `zones`, `authentication_settings.login_failures`. */
function owns(path: readonly string[]): boolean {
  return path[0] === 'flapping_detect' || path[0] === 'zones' || (path[0] === 'authentication_settings' && path[1] === 'login_failures');
}

/**
 * The node's handler for flapping detection and failed-login bans: an API change or a reload
 * of `flapping_detect`, `zones.<name>.flapping_detect` or `authentication_settings.login_failures`
 * applies to the next CONNECT (counts so far are dropped); undo puts the previous settings back.
 * A listener's `zone` is the listeners' handler's (read per connection from the listener's spec).
 */
export function protectionHandler(protection: Pick<AccessProtection, 'configure'>): ChangeHandler {
  return {
    name: 'flapping_detect and login_failures',
    owns,
    async apply(step: ChangeStep): Promise<AppliedStep> {
      const pick = (c: ChangeStep['prev']) => [c.flapping_detect, c.zones, c.authentication_settings.login_failures];
      if (isDeepStrictEqual(pick(step.prev), pick(step.next))) return { undo: async () => undefined };
      protection.configure(step.next);
      return { undo: async () => protection.configure(step.prev) };
    },
  };
}
