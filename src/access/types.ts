import type { ConnectionMeta } from '../transport/types.js';
import type { ClientCredential } from '../authn/types.js';
import type { Refusal } from './connection.js';
import type { ClientSession } from './session.js';

/**
 * The contracts of the access service (README.md in this folder): what a protocol front
 * gives it, what it answers, and the extension points issue 15 builds on (admission checks,
 * observers, disconnecting connected clients).
 */

/** What a protocol front read from its connect frame (MQTT CONNECT, STOMP CONNECT/STOMP). */
export interface ConnectRequest {
  /** The client id the frame carries; '' when none (MQTT: aedes assigns one [MQTT-3.1.3-6]). */
  clientid: string;
  username?: string | undefined;
  password?: Buffer | undefined;
  /** MQTT 5 Authentication Method and Data (§3.1.2.11.9, §3.1.2.11.10). */
  authMethod?: string | undefined;
  authData?: Buffer | undefined;
  /**
   * The mountpoint template, when the front chooses it; else the listener's (`meta.mountpoint`).
   * STOMP: the listener's own, else the gateway's (§12.1).
   */
  mountpoint?: string | undefined;
  /**
   * A gateway's `clientinfo_override` (§12.2): the username, password and client id come from
   * these templates instead of the fields above. `${Packet.*}` values come from the gateway's
   * `packet` lookup (STOMP: `Packet.headers.<name>`); `${ClientInfo.*}` and `${ConnInfo.*}` from
   * the connection.
   */
  clientinfo?: ClientinfoOverride | undefined;
}

export interface ClientinfoOverride {
  templates: ClientinfoTemplates;
  /** A `${Packet.<path>}` value of the connect frame (`path` without `Packet.`), or undefined. */
  packet: (path: string) => string | undefined;
}

/** The effective `clientinfo_override` templates (the gateway's defaults filled in). */
export interface ClientinfoTemplates {
  username: string;
  password: string;
  clientid: string;
}

/**
 * What the access service answers `admit`: the client's session, a refusal (already answered
 * on the wire, logged and counted), or undefined when the connection closed while its
 * authentication ran (nothing answered, nothing logged).
 */
export type Admission = ClientSession | Refusal | undefined;

/**
 * What an admission check sees: who connects, where, from where, before any password is looked
 * at. (It is the credential itself, typed down: nothing is built per connect for the checks.)
 */
export type AdmissionRequest = Readonly<Pick<ClientCredential, 'listener' | 'protocol' | 'zone' | 'peerhost' | 'clientid' | 'username'>>;

/**
 * A check every connection passes before authentication, for every protocol (issue 15: the
 * banned list, flapping detection, login throttling). Synchronous and cheap: it runs on every
 * connect, with the identity the client goes on with (certificate-derived ids applied).
 */
export interface AdmissionCheck {
  /** Named in the refusal log line (`check`). */
  readonly name: string;
  check(request: AdmissionRequest): Refusal | undefined;
  /**
   * What `check` would answer, without side effects (no counting, no flapping event): for the
   * explain endpoint. A check without it is not consulted by explain.
   */
  explain?(request: AdmissionRequest): Refusal | undefined;
}

/**
 * Observes the access path (issue 15: flapping counts disconnects, failed-login counting counts
 * failures). Called synchronously; an observer that throws is logged and skipped. The
 * credential holds the password: an observer never logs or keeps it.
 */
export interface AccessObserver {
  /** Authentication refused the client (admission checks' refusals are not reported here). */
  authenticationFailed?(credential: ClientCredential, refusal: Refusal): void;
  /** Authentication let the client in (the session is not connected yet). */
  authenticationSucceeded?(credential: ClientCredential, session: ClientSession): void;
  /** A connected client's connection ended, for any reason. */
  disconnected?(session: ClientSession): void;
}

/**
 * The certificate (or PSK) fields `peer_cert_as_*` and `${ClientInfo.cn}`/`${ClientInfo.dn}`
 * name. Implemented over the listeners' certificate identity and injected by the composition
 * root, so this folder imports no transport code.
 */
export interface CertificateFields {
  /** The value `field` names on this connection; undefined when it has none (no certificate, no such field). */
  value(meta: ConnectionMeta, field: PeerCertField): string | undefined;
  /**
   * Why that value cannot be a username or client id of at most `maxBytes` UTF-8 bytes (absent,
   * not UTF-8, U+0000, too long), or undefined. A connection without a certificate (for
   * `psk_identity`: without PSK) is not concerned: undefined.
   */
  problem(meta: ConnectionMeta, field: PeerCertField, maxBytes: number): string | undefined;
}

/** `mqtt.peer_cert_as_username` / `_clientid` values (§11.3 and Gatehouse's additions), and `disabled`. */
export type PeerCertField = 'disabled' | 'cn' | 'dn' | 'crt' | 'pem' | 'md5' | 'san_dns' | 'san_email' | 'san_uri' | 'fingerprint_sha256' | 'psk_identity';

/** The `mqtt.*` settings that shape an MQTT client's identity (§1.1 step 3, §11.3). */
export interface MqttIdentitySettings {
  peerCertAsUsername: PeerCertField;
  peerCertAsClientid: PeerCertField;
  /** `mqtt.use_username_as_clientid`: the username (from the CONNECT or the certificate) becomes the client id. */
  useUsernameAsClientid: boolean;
  /** `mqtt.max_clientid_len`: a client id taken from a certificate may not be longer either. */
  maxClientidLen?: number | undefined;
}
