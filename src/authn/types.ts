import type { ConnectionMeta, ProtocolName } from '../transport/types.js';

/**
 * What authentication knows about a client (EMQX's ClientInfo): filled from the
 * connection meta and the protocol's connect frame.
 */
export interface ClientCredential {
  listener: string;
  protocol: ProtocolName;
  clientid: string;
  username?: string;
  password?: Buffer;
  peerhost: string;
  peerport: number;
  sockport: number;
  zone: string;
  mountpoint: string;
  cert_subject?: string;
  cert_common_name?: string;
  /** Base64 DER of the peer certificate (EMQX's `${cert_pem}` form). */
  cert_pem?: string;
  psk_identity?: string;
  client_attrs: Record<string, string>;
  /** MQTT 5 enhanced authentication. */
  auth_method?: string;
  auth_data?: Buffer;
  enable_authn: ConnectionMeta['enableAuthn'];
}

/** EMQX's authentication error atoms (§1.2), which decide the CONNACK code. */
export type AuthnErrorReason =
  | 'bad_username_or_password'
  | 'not_authorized'
  | 'banned'
  | 'bad_authentication_method'
  | 'server_unavailable'
  | 'server_busy'
  | 'unspecified_error';

/**
 * A per-client ACL handed over by an authenticator (JWT claim, HTTP reply), §8.4: the list
 * form (raw rules, first match wins, none falls through to the sources) or, for JWT, the map
 * form (`map`: allow-lists per action, none matching denies). `rules` is ignored when `map`
 * is present.
 */
export interface ClientAcl {
  rules: unknown[];
  map?: { pub?: unknown; sub?: unknown; all?: unknown };
  /** The authenticator type it came from (`jwt`, `http`): the decision's `from`. */
  source: string;
  /** Milliseconds since the epoch (the ACL's `expire`, in seconds, × 1000): from then on everything is denied. */
  expireAt?: number;
}

/** A successful authentication's extras, merged into the client's session. */
export interface AuthnSuccess {
  isSuperuser: boolean;
  acl?: ClientAcl;
  clientAttrs?: Record<string, string>;
  /** Milliseconds since the epoch at which the client is disconnected. */
  expireAt?: number;
}

/** What one authenticator did for one client (explain, and the refusal log's decision record). */
export interface DecisionStep {
  authenticator: string;
  result: 'allow' | 'deny' | 'ignore' | 'error' | 'timeout' | 'continue' | 'disabled';
  reason?: string;
  ms: number;
}

/** The final word on a connecting client, with who decided it, for logs and explain. */
export type AuthnDecision =
  | ({ allowed: true; anonymous: boolean; chain?: string; authenticator?: string } & AuthnSuccess)
  | {
      allowed: false;
      reason: AuthnErrorReason;
      chain?: string;
      authenticator?: string;
      detail?: string;
      /** Each authenticator's answer, in order: why the client was refused. */
      steps?: readonly DecisionStep[];
    };

/** The service a protocol front asks: one call per connecting client. */
export interface AuthenticationService {
  authenticate(credential: ClientCredential): Promise<AuthnDecision>;
  /**
   * The same decision, synchronously when nothing has to be waited for (anonymous access,
   * a digest in the built-in database). The MQTT front uses it to skip promises on the
   * connect path; a service without it is asked through `authenticate`.
   */
  decide?(credential: ClientCredential): AuthnDecision | Promise<AuthnDecision>;
}

/** Used until an authentication service is wired in: everyone is anonymous. */
export const allowAnonymous: AuthenticationService = {
  authenticate: async () => ({ allowed: true, anonymous: true, isSuperuser: false }),
};
