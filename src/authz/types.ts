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
  /** `superuser`, a source type, `default` (no_match) or `reserved`. */
  from: string;
  reason?: string;
}

/** One service for every protocol: MQTT publish/subscribe and STOMP SEND/SUBSCRIBE ask it. */
export interface AuthorizationService {
  authorize(client: AuthzClient, request: AuthzRequest): AuthzDecision | Promise<AuthzDecision>;
}

/**
 * Until the authorization work lands: everything is allowed, except that clients
 * may not publish to `$SYS/` topics (aedes's own protection, kept).
 */
export const allowAllButSys: AuthorizationService = {
  authorize(_client, request) {
    if (request.action === 'publish' && request.topic.startsWith('$SYS/')) {
      return { result: 'deny', from: 'reserved', reason: '$SYS/ topics are reserved for the broker' };
    }
    return { result: 'allow', from: 'default' };
  },
};
