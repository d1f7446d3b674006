import type { ProtocolName } from '../transport/types.js';
import type { ClientAcl } from '../authn/types.js';

export type AuthzAction = 'publish' | 'subscribe';

/** The client an authorization question is about: what authentication left on its session. */
export interface AuthzClient {
  clientid: string;
  username?: string;
  peerhost: string;
  listener: string;
  protocol: ProtocolName;
  mountpoint: string;
  isSuperuser: boolean;
  acl?: ClientAcl;
  cert_common_name?: string;
  cert_subject?: string;
  client_attrs: Record<string, string>;
}

export interface AuthzRequest {
  action: AuthzAction;
  /** The topic (or filter, for subscribe) as the client sent it, before the mountpoint. */
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface AuthzDecision {
  result: 'allow' | 'deny';
  /**
   * Who decided: `superuser`, the client's ACL (`jwt`, `http`: its authenticator type), a
   * source type (`file`, `built_in_database`, ...), `default` (no_match) or `reserved` ($SYS/).
   */
  from: string;
  /** The rule that matched, as written with where it comes from (`acl.conf:12 {deny, ...}`). */
  rule?: string;
  reason?: string;
}

/**
 * Whose rules changed (a source's `rulesChanged`, the authorizer's `onRulesChanged`): one client
 * id's record, one username's record (built-in database), or, when absent, anyone's.
 */
export type RulesScope = { readonly clientid: string } | { readonly username: string };

/** `authorization.deny_action` (§8.2): what MQTT does to a client beyond refusing the request. */
export type DenyAction = 'ignore' | 'disconnect';

/**
 * One service for every protocol: MQTT publish/subscribe and STOMP SEND/SUBSCRIBE ask it.
 * The answer is synchronous when nothing has to be waited for (superuser, cache hit,
 * in-memory sources, no sources). The caller may reuse `request` once `authorize` has
 * returned: a service that answers later copies what it needs first.
 */
export interface AuthorizationService {
  authorize(client: AuthzClient, request: AuthzRequest): AuthzDecision | Promise<AuthzDecision>;
}
