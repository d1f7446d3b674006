import type { ConnectionMeta } from '../transport/types.js';
import type { AuthnDecision } from '../authn/types.js';
import type { AuthzClient } from '../authz/types.js';
import type { AccessConnection } from './connection.js';

/**
 * An admitted client, for the connection's lifetime: what authentication decided, the client
 * as authorization sees it, the rendered mountpoint, and the front's connection (to end it on
 * expiry or a ban). Made by the access service only.
 */
export class ClientSession {
  /** The `expireAt` timer while the client is connected (the access service's). */
  expiry: NodeJS.Timeout | undefined = undefined;

  constructor(
    /** The protocol front's side of the connection. */
    readonly connection: AccessConnection,
    readonly meta: ConnectionMeta,
    readonly decision: Extract<AuthnDecision, { allowed: true }>,
    /**
     * The client as authorization sees it (superuser flag, ACL, attributes). Its `clientid` and
     * `username` are the ids the client goes on with: a certificate field, the username
     * (`use_username_as_clientid`) or a `clientinfo_override` result replaced what the frame said.
     * MQTT sets `clientid` once more when aedes assigned one to an empty client id.
     */
    readonly authz: AuthzClient,
    /** Rendered mountpoint ('' for none), prefixed to topics on the way in. */
    readonly mountpoint: string,
  ) {}
}
