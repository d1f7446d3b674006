import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type { Logger } from 'pino';
import type { ConnectionMeta } from '../transport/types.js';
import { identityValueProblem, MQTT_STRING_MAX_BYTES, peerCertAs, peerCertAsProblem, type PeerCertAsKind } from '../transport/identity/index.js';
import { looksLikeProxyHeader, mayStillBeProxyHeader, startsLike } from '../transport/proxy-signature.js';
import type { AuthenticationService, AuthnDecision, ClientCredential } from '../authn/types.js';
import type { AuthzClient } from '../authz/types.js';
import { connackReasonCode, v3ReturnCode } from './reason-codes.js';
import { credentialFor } from '../authn/credential.js';
import { renderMountpoint, type MountpointResult } from '../authn/mountpoint.js';
import type { ClientSession } from './session.js';

/** Which certificate field, if any, becomes the username or client id (§11.3, plus Gatehouse's additions). */
export type PeerCertAs = PeerCertAsKind | 'psk_identity';

export interface MqttFrontSettings {
  maxPacketSize: number;
  peerCertAsUsername: PeerCertAs;
  peerCertAsClientid: PeerCertAs;
  /** `mqtt.use_username_as_clientid`: the username (from the CONNECT or the certificate) becomes the client id. */
  useUsernameAsClientid: boolean;
  /** `mqtt.max_clientid_len`: a client id taken from a certificate may not be longer either. */
  maxClientidLen?: number;
}

export interface MqttFrontDeps {
  logger: Logger;
  authn: () => AuthenticationService;
  settings: () => MqttFrontSettings;
  /** Counts connections closed before the broker accepted them, by reason. */
  onRefused?: (meta: ConnectionMeta, reason: string) => void;
}

/** The CONNECT fields the front reads (from the packet aedes's reader parsed). */
export interface ConnectRequest {
  protocolVersion: number;
  clientId: string;
  username?: string | undefined;
  password?: Buffer | undefined;
  authenticationMethod?: string | undefined;
  authenticationData?: Buffer | undefined;
  /** The Will Topic, when the CONNECT has a will (its UTF-8 is checked by the parser). */
  willTopic?: string | undefined;
  /** The will's Response Topic (MQTT 5), which must be a Topic Name too [MQTT-3.3.2-13], [MQTT-3.3.2-14]. */
  willResponseTopic?: string | undefined;
}

/**
 * What the front decided about a CONNECT the client may go on with: the session the
 * broker keeps, and the username / client id a certificate field replaces (§11.3).
 */
export interface ConnectAccepted {
  session: ClientSession;
  username?: string;
  clientId?: string;
}

/**
 * The MQTT front (ARCHITECTURE.md): owns the first packet of every MQTT
 * connection. It does not read the socket itself; the broker's reader does, and
 * asks the front at two points:
 *
 * - `firstBytes`, before the first bytes reach the MQTT parser: anything that is
 *   not the start of a CONNECT is refused with a reason (and an unsupported
 *   protocol level with CONNACK 1);
 * - `connect`, once the CONNECT is parsed: it runs authentication, answers a
 *   refusal with its own CONNACK and closes, or gives the broker the session.
 *
 * Reading once, in the broker's own reader, keeps the connect path as short as
 * bare aedes's (NOTES.md, "connect rate").
 */
export class MqttFront {
  constructor(private readonly deps: MqttFrontDeps) {}

  /**
   * Checks the bytes a connection has sent so far, before any of them reach the parser:
   * `pass` lets them (and everything after) go to the parser, `refused` means the front
   * has refused the connection (and closed it, or is closing it), `more` means the bytes
   * cannot be told apart yet: the caller holds them and asks again with the next ones
   * appended. Held prefixes stay short (at most 14 bytes: a fixed header, the protocol
   * name's length, the longest name and the level; HTTP and PROXY signatures are shorter), and a CONNECT
   * that arrives in one read is decided on that read, so the answer never depends on
   * how the bytes were cut into reads.
   */
  firstBytes(stream: Duplex, meta: ConnectionMeta, buf: Buffer): FirstBytesVerdict {
    if (buf.length === 0) return 'more';
    if (buf[0] !== CONNECT_HEADER) {
      const reason = describeBadStart(buf);
      if (reason === undefined) return 'more';
      this.refuse(stream, meta, reason);
      return 'refused';
    }
    const length = frameLength(buf);
    if (length === -1) {
      this.refuse(stream, meta, 'malformed remaining length in CONNECT');
      return 'refused';
    }
    if (length === undefined) return 'more';
    if (length > this.deps.settings().maxPacketSize) {
      this.refuse(stream, meta, `CONNECT of ${length} bytes exceeds max_packet_size`);
      return 'refused';
    }
    const level = protocolLevel(buf, length);
    if (level === 'more') return 'more';
    if (level !== 'none' && !SUPPORTED_LEVELS.has(level & 0x7f)) {
      this.refuseVersion(stream, meta, level);
      return 'refused';
    }
    return 'pass';
  }

  /**
   * Decides about a parsed CONNECT and calls `decided` once: synchronously when the
   * authentication service decides at once (anonymous access, a digest). A refusal is
   * answered with a CONNACK and closed here, and `decided` gets undefined.
   */
  connect(stream: Duplex, meta: ConnectionMeta, request: ConnectRequest, decided: (outcome: ConnectAccepted | undefined) => void): void {
    if (request.willTopic !== undefined) {
      const invalid =
        invalidTopicName(request.willTopic) ??
        (request.willResponseTopic !== undefined ? invalidTopicName(request.willResponseTopic)?.replace(/^/, 'Response Topic: ') : undefined);
      if (invalid) {
        this.refuseWill(stream, meta, request, invalid);
        decided(undefined);
        return;
      }
    }
    const settings = this.deps.settings();
    const problem =
      certIdentityProblem(meta, settings.peerCertAsUsername, MQTT_STRING_MAX_BYTES, 'mqtt.peer_cert_as_username') ??
      certIdentityProblem(meta, settings.peerCertAsClientid, Math.min(MQTT_STRING_MAX_BYTES, settings.maxClientidLen ?? MQTT_STRING_MAX_BYTES), 'mqtt.peer_cert_as_clientid');
    if (problem) {
      this.refuseCertIdentity(stream, meta, request, problem);
      decided(undefined);
      return;
    }
    const certUsername = certField(meta, settings.peerCertAsUsername);
    // §1.1 step 3: use_username_as_clientid, then a certificate-derived client id wins.
    let assignedClientid = certField(meta, settings.peerCertAsClientid);
    if (settings.useUsernameAsClientid && assignedClientid === undefined) {
      const username = certUsername ?? request.username;
      if (!username) {
        this.refuseClientid(stream, meta, request, 'use_username_as_clientid = true and the client sent no username');
        decided(undefined);
        return;
      }
      assignedClientid = username;
    }
    const certClientid = assignedClientid;
    const credential = buildCredential(meta, request, certUsername, certClientid);
    const service = this.deps.authn();
    const conclude = (decision: AuthnDecision) => {
      if (stream.destroyed) return;
      if (!decision.allowed) {
        this.refuseDecision(stream, meta, request.protocolVersion, credential, decision);
        decided(undefined);
        return;
      }
      const clientAttrs = decision.clientAttrs ? { ...credential.client_attrs, ...decision.clientAttrs } : credential.client_attrs;
      const mount = renderMountpoint(meta.mountpoint, clientAttrs === credential.client_attrs ? credential : { ...credential, client_attrs: clientAttrs });
      if (!mount.ok) {
        this.refuseMountpoint(stream, meta, request.protocolVersion, credential, mount);
        decided(undefined);
        return;
      }
      const outcome: ConnectAccepted = { session: sessionFor(meta, credential, decision, clientAttrs, mount.mountpoint) };
      if (certUsername !== undefined) outcome.username = certUsername;
      if (certClientid !== undefined) outcome.clientId = certClientid;
      decided(outcome);
    };
    const failed = (err: unknown) => {
      // The service itself failing is a refusal, never a way in.
      this.deps.logger.error({ listener: meta.listenerId, err: err instanceof Error ? err.message : String(err) }, 'authentication service failed');
      conclude({ allowed: false, reason: 'server_unavailable' });
    };
    // Anonymous access and digest checks are decided now, without a promise.
    let answer: AuthnDecision | Promise<AuthnDecision>;
    try {
      answer = service.decide ? service.decide(credential) : service.authenticate(credential);
    } catch (err) {
      failed(err);
      return;
    }
    if (answer instanceof Promise) answer.then(conclude, failed);
    else conclude(answer);
  }

  /** A connection the broker's reader gave up on before its CONNECT was decided. */
  failed(meta: ConnectionMeta, reason: string): void {
    this.logRefusal(meta, { reason });
  }

  private refuse(stream: Duplex, meta: ConnectionMeta, reason: string): void {
    this.logRefusal(meta, { reason });
    stream.destroy();
  }

  private refuseVersion(stream: Duplex, meta: ConnectionMeta, level: number): void {
    // An unsupported protocol level gets CONNACK 1 (v3) before the close [MQTT-3.1.2-2].
    this.logRefusal(meta, { reason: `unsupported protocol level ${level}` });
    closeWithConnack(stream, mqttPacket.generate({ cmd: 'connack', returnCode: 1, sessionPresent: false }, { protocolVersion: 4 }));
  }

  /**
   * A will whose topic is no Topic Name [MQTT-3.1.3-11], [MQTT-4.7.3-1], [MQTT-4.7.1-1]: CONNACK
   * 0x90 (Topic Name invalid) on 5.0, as EMQX answers; 3.1/3.1.1 have no return code for it,
   * so the connection is closed [MQTT-3.1.4-1]. The will is never stored.
   */
  private refuseWill(stream: Duplex, meta: ConnectionMeta, request: ConnectRequest, invalid: string): void {
    const v5 = request.protocolVersion === 5;
    this.logRefusal(meta, {
      clientid: request.clientId,
      username: request.username,
      reason: `invalid will topic: ${invalid}`,
      ...(v5 ? { reason_code: TOPIC_NAME_INVALID } : {}),
    });
    if (v5) closeWithConnack(stream, mqttPacket.generate({ cmd: 'connack', reasonCode: TOPIC_NAME_INVALID, sessionPresent: false }, { protocolVersion: 5 }));
    else stream.destroy();
  }

  /** No client id can be assigned: CONNACK 0x85 (Client Identifier not valid), 3.1.1 code 2. */
  private refuseClientid(stream: Duplex, meta: ConnectionMeta, request: ConnectRequest, reason: string): void {
    const v5 = request.protocolVersion === 5;
    this.logRefusal(meta, { clientid: request.clientId, reason: 'client_identifier_not_valid', detail: reason, reason_code: v5 ? 0x85 : 2 });
    closeWithRefusal(stream, request.protocolVersion, 0x85);
  }

  /**
   * The listener's mountpoint cannot be rendered for this client (a value missing, or one that
   * would put `+`, `#`, `/` or NUL into every topic): CONNACK 0x85 (Client Identifier not valid)
   * when the client id is to blame, else 0x87 (Not authorized); 3.1.1 return codes 2 and 5.
   */
  private refuseMountpoint(stream: Duplex, meta: ConnectionMeta, version: number, credential: ClientCredential, mount: Extract<MountpointResult, { ok: false }>): void {
    const code = mount.placeholder === 'clientid' || mount.placeholder === 'endpoint_name' ? 0x85 : 0x87;
    this.logRefusal(meta, {
      clientid: credential.clientid,
      username: credential.username,
      reason: 'bad_mountpoint',
      detail: mount.reason,
      reason_code: version === 5 ? code : v3ReturnCode(code),
    });
    closeWithRefusal(stream, version, code);
  }

  /**
   * The certificate field a peer_cert_as_* setting names is missing or cannot be an MQTT
   * string: refused as a bad username (CONNACK 0x86, 3.1.1 return code 4), never replaced by
   * what the client sent (a deliberate difference from EMQX, README).
   */
  private refuseCertIdentity(stream: Duplex, meta: ConnectionMeta, request: ConnectRequest, problem: string): void {
    const code = connackReasonCode('bad_username_or_password');
    const version = request.protocolVersion;
    this.logRefusal(meta, {
      clientid: request.clientId,
      username: request.username,
      reason: 'bad_username_or_password',
      detail: problem,
      reason_code: version === 5 ? code : v3ReturnCode(code),
    });
    closeWithRefusal(stream, version, code);
  }

  private refuseDecision(
    stream: Duplex,
    meta: ConnectionMeta,
    version: number,
    credential: ClientCredential,
    decision: Extract<AuthnDecision, { allowed: false }>,
  ): void {
    const code = connackReasonCode(decision.reason);
    this.logRefusal(meta, {
      clientid: credential.clientid,
      username: credential.username,
      chain: decision.chain,
      authenticator: decision.authenticator,
      reason: decision.reason,
      ...(decision.detail ? { detail: decision.detail } : {}),
      ...(decision.steps ? { steps: decision.steps } : {}),
      reason_code: version === 5 ? code : v3ReturnCode(code),
    });
    closeWithRefusal(stream, version, code);
  }

  /** One log line per refused connection (listener, peer, reason; never a password). */
  private logRefusal(meta: ConnectionMeta, fields: Record<string, unknown> & { reason: string }): void {
    this.deps.logger.info({ listener: meta.listenerId, peer: `${meta.peerhost}:${meta.peerport}`, ...fields }, 'connection refused');
    this.deps.onRefused?.(meta, fields.reason);
  }
}

const CONNECT_HEADER = 0x10;
const TOPIC_NAME_INVALID = 0x90;

/**
 * Why `topic` cannot be a Topic Name, or undefined when it can: it must not be empty
 * [MQTT-4.7.3-1] nor hold the wildcards `+` or `#` [MQTT-3.3.2-2]. (Its UTF-8 and U+0000 were
 * checked by the parser [MQTT-1.5.4-1..2].)
 */
export function invalidTopicName(topic: string): string | undefined {
  if (topic.length === 0) return 'empty topic';
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in a topic name';
  return undefined;
}
/** MQTT 3.1, 3.1.1 and 5.0; the top bit (bridge mode) is ignored. */
const SUPPORTED_LEVELS = new Set([3, 4, 5]);
/** The longest protocol name: "MQIsdp" (MQTT 3.1); 3.1.1 and 5.0 say "MQTT" [MQTT-3.1.2-1]. */
const MAX_PROTOCOL_NAME = 6;
/** The first four bytes of the HTTP requests told apart from MQTT. */
const HTTP_METHODS = ['GET ', 'POST', 'PUT ', 'HEAD'].map((m) => Buffer.from(m, 'latin1'));

/** What `MqttFront.firstBytes` says about the bytes a connection has sent so far. */
export type FirstBytesVerdict = 'pass' | 'more' | 'refused';

/** Sends the CONNACK, then closes: at once if the client closes, after a second otherwise. */
function closeWithConnack(stream: Duplex, connack: Buffer): void {
  stream.end(connack);
  setTimeout(() => stream.destroy(), 1000).unref();
}

/** CONNACK with an MQTT 5 reason code (its 3.1/3.1.1 return code on older versions), then close. */
function closeWithRefusal(stream: Duplex, version: number, code: number): void {
  const packet =
    version === 5
      ? { cmd: 'connack' as const, reasonCode: code, sessionPresent: false }
      : { cmd: 'connack' as const, returnCode: v3ReturnCode(code), sessionPresent: false };
  closeWithConnack(stream, mqttPacket.generate(packet, { protocolVersion: version === 3 || version === 5 ? version : 4 }));
}

/** Built field by field (no temporary spread objects): this runs for every connection. */
function sessionFor(
  meta: ConnectionMeta,
  credential: ClientCredential,
  decision: Extract<AuthnDecision, { allowed: true }>,
  clientAttrs: Record<string, string>,
  mountpoint: string,
): ClientSession {
  const authz: AuthzClient = {
    clientid: credential.clientid,
    peerhost: meta.peerhost,
    listener: meta.listenerId,
    protocol: 'mqtt',
    mountpoint,
    isSuperuser: decision.isSuperuser,
    client_attrs: clientAttrs,
  };
  if (credential.username !== undefined) authz.username = credential.username;
  if (decision.acl) authz.acl = decision.acl;
  if (credential.cert_common_name !== undefined) authz.cert_common_name = credential.cert_common_name;
  if (credential.cert_subject !== undefined) authz.cert_subject = credential.cert_subject;
  return { meta, decision, mountpoint, authz };
}

/** Total size of the first packet from its fixed header; undefined until known, -1 when malformed. */
export function frameLength(buf: Buffer): number | undefined {
  let length = 0;
  let multiplier = 1;
  for (let i = 1; i <= 4; i++) {
    if (i >= buf.length) return undefined;
    const byte = buf[i]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return i + 1 + length;
    multiplier *= 128;
  }
  return -1;
}

/**
 * The protocol level byte of a CONNECT whose first bytes are in `buf` (after the protocol
 * name, [MQTT-3.1.2-1]); `more` while those bytes have not arrived; `none` when no level can
 * be read: the name does not fit the frame, or is longer than any MQTT protocol name
 * ("MQTT", "MQIsdp"), which the parser refuses on its own.
 */
function protocolLevel(buf: Buffer, length: number): number | 'more' | 'none' {
  let header = 2;
  while (header < 5 && (buf[header - 1]! & 0x80) !== 0) header++;
  if (length < header + 2) return 'none';
  if (buf.length < header + 2) return 'more';
  const nameLength = buf.readUInt16BE(header);
  if (nameLength > MAX_PROTOCOL_NAME) return 'none';
  const at = header + 2 + nameLength;
  if (at >= length) return 'none';
  if (at >= buf.length) return 'more';
  return buf[at]!;
}

/**
 * Why a connection whose first byte is not CONNECT's is refused, or undefined while the
 * bytes so far may still grow into one of the signatures named (HTTP, Proxy Protocol).
 */
function describeBadStart(buf: Buffer): string | undefined {
  if (buf[0] === 0x16) return 'TLS handshake on a plain MQTT listener';
  if (HTTP_METHODS.some((m) => startsLike(buf, m))) {
    if (buf.length < 4) return undefined;
    return 'HTTP request on an MQTT listener';
  }
  if (mayStillBeProxyHeader(buf)) return undefined;
  if (looksLikeProxyHeader(buf)) return 'Proxy Protocol header on a listener without proxy_protocol';
  return `first packet is not CONNECT (first byte 0x${buf[0]!.toString(16).padStart(2, '0')})`;
}


/**
 * Why the field `kind` names cannot identify this connection (`setting: reason`), or undefined.
 * A connection without a certificate (or, for psk_identity, without PSK) is not concerned.
 */
function certIdentityProblem(meta: ConnectionMeta, kind: PeerCertAs, maxBytes: number, setting: string): string | undefined {
  if (kind === 'disabled') return undefined;
  let problem: string | undefined;
  if (kind === 'psk_identity') problem = meta.pskIdentity === undefined ? undefined : identityValueProblem(kind, meta.pskIdentity, maxBytes);
  else problem = meta.cert ? peerCertAsProblem(kind, meta.cert, maxBytes) : undefined;
  return problem === undefined ? undefined : `${setting} = ${kind}: ${problem}`;
}

/** The certificate (or PSK) field a `peer_cert_as_*` setting names, when the connection has it. */
export function certField(meta: ConnectionMeta, kind: PeerCertAs): string | undefined {
  if (kind === 'psk_identity') return meta.pskIdentity;
  return meta.cert ? peerCertAs(kind, meta.cert) : undefined;
}

function buildCredential(
  meta: ConnectionMeta,
  request: ConnectRequest,
  certUsername: string | undefined,
  certClientid: string | undefined,
): ClientCredential {
  const credential = credentialFor(meta, {
    protocol: 'mqtt',
    clientid: certClientid ?? request.clientId,
    username: certUsername ?? request.username,
    password: request.password,
    mountpoint: meta.mountpoint,
  });
  if (request.authenticationMethod !== undefined) credential.auth_method = request.authenticationMethod;
  if (request.authenticationData !== undefined) credential.auth_data = request.authenticationData;
  return credential;
}

