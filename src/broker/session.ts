import type { ConnectionMeta } from '../transport/types.js';
import type { AuthnDecision } from '../authn/types.js';
import type { AuthzClient } from '../authz/types.js';

/**
 * What the front decided about a connection, carried to aedes's hooks and to
 * authorization for the connection's lifetime.
 */
export interface ClientSession {
  meta: ConnectionMeta;
  decision: Extract<AuthnDecision, { allowed: true }>;
  /** The client as authorization sees it (superuser flag, ACL, attributes). */
  authz: AuthzClient;
  /** Rendered mountpoint ('' for none), prefixed to topics on the way in. */
  mountpoint: string;
}
