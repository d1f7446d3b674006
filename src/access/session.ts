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
  /** The access service's list of connected clients runs through its sessions (`ConnectedClients`). */
  listed = false;
  previous: ClientSession | undefined = undefined;
  next: ClientSession | undefined = undefined;

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

/**
 * The connected clients of every protocol, as a list threaded through their sessions: adding
 * and removing one hashes nothing and allocates nothing (a `Set` cost several hundred ns per
 * connect under churn).
 */
export class ConnectedClients {
  private head: ClientSession | undefined = undefined;
  size = 0;

  add(session: ClientSession): void {
    if (session.listed) return;
    session.listed = true;
    session.previous = undefined;
    session.next = this.head;
    if (this.head) this.head.previous = session;
    this.head = session;
    this.size += 1;
  }

  /** False when the session was not listed. */
  delete(session: ClientSession): boolean {
    if (!session.listed) return false;
    session.listed = false;
    if (session.previous) session.previous.next = session.next;
    else this.head = session.next;
    if (session.next) session.next.previous = session.previous;
    session.previous = undefined;
    session.next = undefined;
    this.size -= 1;
    return true;
  }

  /** The sessions listed now, newest first (a copy: callers may remove while they go through it). */
  snapshot(): ClientSession[] {
    const out: ClientSession[] = [];
    for (let s = this.head; s; s = s.next) out.push(s);
    return out;
  }
}
