import type { AuthnErrorReason, DecisionStep } from '../authn/types.js';

/**
 * The protocol front's side of the access path: what a front implements for each connection
 * (`AccessConnection`), and the refusals and disconnects it answers in its protocol's terms.
 */

/** Why a client is not let in: EMQX's authentication error atoms (§1.2) and the access path's own. */
export type RefusalReason =
  | AuthnErrorReason
  /** No usable client id (`use_username_as_clientid` without a username). */
  | 'client_identifier_not_valid'
  /** The mountpoint template has no safe value for this client (gatehouse-choices 3 and 4). */
  | 'bad_mountpoint';

/** A refusal as the front answers it and the log line shows it (never a secret). */
export interface Refusal {
  readonly reason: RefusalReason;
  readonly detail?: string | undefined;
  /** The chain and authenticator that decided, when authentication refused. */
  readonly chain?: string | undefined;
  readonly authenticator?: string | undefined;
  readonly steps?: readonly DecisionStep[] | undefined;
  /** bad_mountpoint: the placeholder without a safe value (MQTT answers 0x85 for a client id). */
  readonly placeholder?: string | undefined;
  /** The admission check that refused (issue 15: banned, flapping, throttling). */
  readonly check?: string | undefined;
}

/** Why the node ends a connection it admitted. */
export type DisconnectReason =
  /** `expireAt` of the authentication decision passed (JWT `exp`, §3.5). */
  | 'authentication_expired'
  /** A banned-list entry matches the connected client (issue 15; MQTT 5 DISCONNECT 0x98, 0x8A being CONNACK-only). */
  | 'banned'
  /** An operator asked (API kick; MQTT 5 DISCONNECT 0x98). */
  | 'administrative_action';

/**
 * A protocol front's side of one connection, as the access service sees it. The front keeps
 * what is truly its protocol's: the frames and codes of a refusal or a disconnect.
 */
export interface AccessConnection extends SubscriptionHolder {
  /** True once the connection is gone: a decision that arrives later is dropped silently. */
  readonly closed: boolean;
  /**
   * Answers a refusal on the wire and closes (MQTT: CONNACK with the reason's code; STOMP:
   * ERROR "Login Failed: <reason>"). Returns the protocol's code, logged with the refusal.
   */
  refuse(refusal: Refusal): number | undefined;
  /** Ends an admitted connection (MQTT 5: DISCONNECT with the reason's code; STOMP: ERROR), then closes. */
  disconnect(reason: DisconnectReason): void;
}

/** A subscription a connection holds: the filter as the client sent it (before the mountpoint). */
export interface HeldSubscription {
  readonly filter: string;
  readonly qos: 0 | 1 | 2;
}

/** What a front did with a subscription the rules no longer allow. */
export type Revocation = 'unsubscribed' | 'disconnected';

/**
 * Beyond EMQX: a connection's subscriptions, checked again when the authorization rules change
 * (`AccessService.recheckSubscriptions`), and the removal of one that is now denied.
 */
export interface SubscriptionHolder {
  /** The subscriptions the client holds now (a copy). */
  subscriptions(): HeldSubscription[];
  /**
   * Removes the subscription to `filter` as a SUBSCRIBE denied now would be answered: MQTT with
   * `deny_action = ignore` stops delivering without a packet (MQTT has no server-sent
   * UNSUBSCRIBE), with `disconnect` ends the connection (5.0 DISCONNECT 0x87); STOMP sends
   * `ERROR Insufficient permissions for <filter>` and closes (§12.3).
   */
  revoke(filter: string): Revocation;
}
