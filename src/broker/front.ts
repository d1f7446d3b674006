import type { Duplex } from 'node:stream';
import mqttPacket, { type IConnectPacket } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { ConnectionHandler, ConnectionMeta } from '../../listeners/types.js';
import { peerCertAs, type PeerCertAsKind } from '../../listeners/identity/index.js';
import type { AuthenticationService, AuthnDecision, ClientCredential } from '../authn/types.js';
import type { AuthzClient } from '../authz/types.js';
import { connackReasonCode, v3ReturnCode } from './reason-codes.js';
import { readConnectFields, type ConnectFields } from './connect-fields.js';
import { credentialFor } from '../authn/credential.js';
import type { ClientSession } from './session.js';

/** Which certificate field, if any, becomes the username or client id (§11.3, plus Gatehouse's additions). */
export type PeerCertAs = PeerCertAsKind | 'psk_identity';

export interface MqttFrontSettings {
  /** A connection that has not sent a whole CONNECT by then is closed. */
  idleTimeoutMs: number;
  maxPacketSize: number;
  peerCertAsUsername: PeerCertAs;
  peerCertAsClientid: PeerCertAs;
}

export interface MqttFrontDeps {
  logger: Logger;
  authn: () => AuthenticationService;
  settings: () => MqttFrontSettings;
  /** Gives an authenticated connection to the broker with the bytes already read (its CONNECT first). */
  handOver: (stream: Duplex, session: ClientSession, firstBytes: Buffer) => void;
  /** Counts connections closed before the broker saw them, by reason. */
  onRefused?: (meta: ConnectionMeta, reason: string) => void;
}

const CONNECT_HEADER = 0x10;
const EMPTY = Buffer.alloc(0);

/**
 * The MQTT front (ARCHITECTURE.md): owns the first packet of every MQTT
 * connection. It frames and parses CONNECT, runs authentication, answers a
 * refusal with its own CONNACK, and otherwise puts the bytes back into the
 * stream and hands it to aedes with the decision already taken.
 */
export function createMqttFront(deps: MqttFrontDeps): ConnectionHandler {
  const sweep = new IdleSweep();
  return (stream, meta) => new FirstPacket(stream, meta, deps, sweep).start();
}

/**
 * One timer for every connection still waiting for its CONNECT (instead of a
 * timer each): it runs while any are waiting and closes those past their deadline.
 */
class IdleSweep {
  private readonly waiting = new Set<FirstPacket>();
  private timer: NodeJS.Timeout | undefined;

  add(first: FirstPacket): void {
    this.waiting.add(first);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), IDLE_SWEEP_MS);
      this.timer.unref();
    }
  }

  delete(first: FirstPacket): void {
    this.waiting.delete(first);
  }

  private sweep(): void {
    const now = Date.now();
    for (const first of this.waiting) {
      // A client that went away before its CONNECT leaves here (no close listener each).
      if (first.gone) this.waiting.delete(first);
      else if (first.deadline <= now) first.expire();
    }
    if (this.waiting.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** How often waiting connections are checked against idle_timeout. */
const IDLE_SWEEP_MS = 100;

class FirstPacket {
  private buffered: Buffer = EMPTY;
  /** When the connection is closed if no whole CONNECT has arrived (ms since the epoch). */
  deadline = 0;
  private done = false;
  private readonly settings: MqttFrontSettings;
  private readonly onReadable = () => this.read();

  constructor(
    private readonly stream: Duplex,
    private readonly meta: ConnectionMeta,
    private readonly deps: MqttFrontDeps,
    private readonly sweep: IdleSweep,
  ) {
    this.settings = deps.settings();
  }

  start(): void {
    // Listeners give every stream an error handler before it gets here.
    this.deadline = Date.now() + this.settings.idleTimeoutMs;
    this.sweep.add(this);
    this.stream.on('readable', this.onReadable);
  }

  /** The stream closed before the CONNECT was complete. */
  get gone(): boolean {
    return this.stream.destroyed;
  }

  /** Called by the sweep once the deadline has passed. */
  expire(): void {
    this.refuse('no CONNECT within idle_timeout');
  }

  private read(): void {
    // read() without a size hands over everything buffered at once.
    const chunk = this.stream.read() as Buffer | null;
    if (chunk !== null) this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.done || this.buffered.length === 0) return;
    if (this.buffered[0] !== CONNECT_HEADER) {
      this.refuse(describeBadStart(this.buffered));
      return;
    }
    const length = frameLength(this.buffered);
    if (length === -1) {
      this.refuse('malformed remaining length in CONNECT');
      return;
    }
    if (length !== undefined && length > this.settings.maxPacketSize) {
      this.refuse(`CONNECT of ${length} bytes exceeds max_packet_size`);
      return;
    }
    if (length === undefined || this.buffered.length < length) return;
    this.finish();
    const frame = this.buffered.subarray(0, length);
    let fields = readConnectFields(frame);
    if (!fields) {
      // Unusual or malformed: the full parser decides, and words the error.
      try {
        fields = fieldsOf(parseConnect(frame));
      } catch (err) {
        this.refuseMalformed((err as Error).message);
        return;
      }
    }
    this.authenticate(fields, length);
  }

  private authenticate(packet: ConnectFields, length: number): void {
    const certUsername = certField(this.meta, this.settings.peerCertAsUsername);
    const certClientid = certField(this.meta, this.settings.peerCertAsClientid);
    const credential = buildCredential(this.meta, packet, certUsername, certClientid);
    const service = this.deps.authn();
    // No chain to run (anonymous access): decided now, without a promise.
    const quick = service.decideWithoutChain?.(credential);
    if (quick) {
      this.conclude(packet, length, credential, certUsername, certClientid, quick);
      return;
    }
    service.authenticate(credential).then(
      (decision) => this.conclude(packet, length, credential, certUsername, certClientid, decision),
      (err: Error) => {
        // The service itself failing is a refusal, never a way in.
        this.deps.logger.error({ listener: this.meta.listenerId, err: err.message }, 'authentication service failed');
        this.conclude(packet, length, credential, certUsername, certClientid, { allowed: false, reason: 'server_unavailable' });
      },
    );
  }

  private conclude(
    packet: ConnectFields,
    length: number,
    credential: ClientCredential,
    certUsername: string | undefined,
    certClientid: string | undefined,
    decision: AuthnDecision,
  ): void {
    const version = packet.protocolVersion;
    if (this.stream.destroyed) return;
    if (!decision.allowed) {
      const code = connackReasonCode(decision.reason);
      this.deps.logger.info(
        {
          listener: this.meta.listenerId,
          peer: `${this.meta.peerhost}:${this.meta.peerport}`,
          clientid: credential.clientid,
          username: credential.username,
          chain: decision.chain,
          authenticator: decision.authenticator,
          reason: decision.reason,
          ...(decision.detail ? { detail: decision.detail } : {}),
          ...(decision.steps ? { steps: decision.steps } : {}),
          reason_code: version === 5 ? code : v3ReturnCode(code),
        },
        'connection refused',
      );
      this.deps.onRefused?.(this.meta, decision.reason);
      this.closeWithConnack(version, code);
      return;
    }
    let connect = this.buffered.subarray(0, length);
    if (certUsername !== undefined || certClientid !== undefined) {
      const full = parseConnect(connect);
      if (certUsername !== undefined) full.username = certUsername;
      if (certClientid !== undefined) full.clientId = certClientid;
      connect = mqttPacket.generate(full, { protocolVersion: version });
    }
    const rest = this.buffered.subarray(length);
    // Built field by field (no temporary spread objects): this runs for every connection.
    const authz: AuthzClient = {
      clientid: credential.clientid,
      peerhost: this.meta.peerhost,
      listener: this.meta.listenerId,
      protocol: 'mqtt',
      mountpoint: this.meta.mountpoint,
      isSuperuser: decision.isSuperuser,
      client_attrs: decision.clientAttrs ? { ...credential.client_attrs, ...decision.clientAttrs } : credential.client_attrs,
    };
    if (credential.username !== undefined) authz.username = credential.username;
    if (decision.acl) authz.acl = decision.acl;
    if (credential.cert_common_name !== undefined) authz.cert_common_name = credential.cert_common_name;
    if (credential.cert_subject !== undefined) authz.cert_subject = credential.cert_subject;
    const session: ClientSession = { meta: this.meta, decision, mountpoint: this.meta.mountpoint, authz };
    this.buffered = EMPTY;
    this.deps.handOver(this.stream, session, rest.length > 0 ? Buffer.concat([connect, rest]) : connect);
  }

  /** Stops owning the stream's reads; the broker (or nobody) reads from here on. */
  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.sweep.delete(this);
    this.stream.off('readable', this.onReadable);
  }

  private refuse(reason: string): void {
    if (this.done && this.stream.destroyed) return;
    this.finish();
    this.deps.logger.info(
      { listener: this.meta.listenerId, peer: `${this.meta.peerhost}:${this.meta.peerport}`, reason },
      'connection refused',
    );
    this.deps.onRefused?.(this.meta, reason);
    this.stream.destroy();
  }

  private refuseMalformed(message: string): void {
    // An unsupported protocol level gets CONNACK 1 (v3) before the close [MQTT-3.1.2-2].
    if (/protocol version|protocol id/i.test(message)) {
      this.deps.logger.info(
        { listener: this.meta.listenerId, peer: `${this.meta.peerhost}:${this.meta.peerport}`, reason: `malformed CONNECT: ${message}` },
        'connection refused',
      );
      this.deps.onRefused?.(this.meta, 'unsupported protocol version');
      this.stream.end(mqttPacket.generate({ cmd: 'connack', returnCode: 1, sessionPresent: false }, { protocolVersion: 4 }));
      setTimeout(() => this.stream.destroy(), 1000).unref();
      return;
    }
    this.done = false;
    this.refuse(`malformed CONNECT: ${message}`);
  }

  private closeWithConnack(version: number, v5code: number): void {
    const packet =
      version === 5
        ? { cmd: 'connack' as const, reasonCode: v5code, sessionPresent: false }
        : { cmd: 'connack' as const, returnCode: v3ReturnCode(v5code), sessionPresent: false };
    this.stream.end(mqttPacket.generate(packet, { protocolVersion: version }));
    setTimeout(() => this.stream.destroy(), 1000).unref();
  }
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

/** The fields authentication needs, from a packet mqtt-packet parsed. */
function fieldsOf(packet: IConnectPacket): ConnectFields {
  const fields: ConnectFields = { protocolVersion: packet.protocolVersion ?? 4, clientId: packet.clientId };
  if (packet.username !== undefined) fields.username = packet.username;
  if (packet.password !== undefined) fields.password = Buffer.from(packet.password);
  const props = packet.properties;
  if (props?.authenticationMethod !== undefined) fields.authenticationMethod = props.authenticationMethod;
  if (props?.authenticationData !== undefined) fields.authenticationData = props.authenticationData;
  return fields;
}

/**
 * One parser for every connection: parsing a whole CONNECT is synchronous, so
 * a shared parser saves building one per client. It is replaced after an error,
 * since a failed parse may leave state behind.
 */
let sharedParser: ReturnType<typeof mqttPacket.parser> | undefined;
let parsed: IConnectPacket | undefined;
let parseError: Error | undefined;

function connectParser(): ReturnType<typeof mqttPacket.parser> {
  if (sharedParser) return sharedParser;
  const parser = mqttPacket.parser();
  parser.on('packet', (p: mqttPacket.Packet) => {
    if (p.cmd === 'connect') parsed = p;
  });
  parser.on('error', (err: Error) => {
    parseError ??= err;
  });
  sharedParser = parser;
  return parser;
}

function parseConnect(bytes: Buffer): IConnectPacket {
  parsed = undefined;
  parseError = undefined;
  connectParser().parse(bytes);
  const packet = parsed;
  const error = parseError;
  parsed = undefined;
  parseError = undefined;
  if (error || !packet) {
    sharedParser = undefined;
    throw error ?? new Error('incomplete CONNECT');
  }
  return packet;
}

function describeBadStart(buf: Buffer): string {
  const head = buf.subarray(0, 4).toString('latin1');
  if (/^(GET |POST|PUT |HEAD)/.test(head)) return 'HTTP request on an MQTT listener';
  if (buf[0] === 0x16) return 'TLS handshake on a plain MQTT listener';
  if (head.startsWith('PROX') || buf.subarray(0, 12).equals(PROXY_V2_SIGNATURE)) return 'Proxy Protocol header on a listener without proxy_protocol';
  return `first packet is not CONNECT (first byte 0x${buf[0]!.toString(16).padStart(2, '0')})`;
}

const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** The certificate (or PSK) field a `peer_cert_as_*` setting names, when the connection has it. */
export function certField(meta: ConnectionMeta, kind: PeerCertAs): string | undefined {
  if (kind === 'psk_identity') return meta.pskIdentity;
  return meta.cert ? peerCertAs(kind, meta.cert) : undefined;
}

function buildCredential(
  meta: ConnectionMeta,
  packet: ConnectFields,
  certUsername: string | undefined,
  certClientid: string | undefined,
): ClientCredential {
  const credential = credentialFor(meta, {
    protocol: 'mqtt',
    clientid: certClientid ?? packet.clientId,
    username: certUsername ?? packet.username,
    password: packet.password,
    mountpoint: meta.mountpoint,
  });
  if (packet.authenticationMethod !== undefined) credential.auth_method = packet.authenticationMethod;
  if (packet.authenticationData !== undefined) credential.auth_data = packet.authenticationData;
  return credential;
}
