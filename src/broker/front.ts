import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type { ConnectionMeta } from '../transport/types.js';
import { looksLikeProxyHeader, mayStillBeProxyHeader, startsLike } from '../transport/proxy-signature.js';
import type { AccessService } from '../access/service.js';
import type { DisconnectReason, Refusal } from '../access/connection.js';
import { connackReasonCode, disconnectReasonCode, v3ReturnCode } from './reason-codes.js';

export interface MqttFrontDeps {
  /** Logs and counts the front's own refusals as every other refusal is. */
  access: Pick<AccessService, 'refusedByFront'>;
  /** `mqtt.max_packet_size`: a longer CONNECT is refused before it is read. */
  maxPacketSize: number;
}

/** The will of a CONNECT: its topic and (MQTT 5) Response Topic, both Topic Names. */
export interface WillTopics {
  topic: string;
  responseTopic?: string | undefined;
}

/**
 * The MQTT front (ARCHITECTURE.md): what is MQTT's own in a connection's first packet. It does
 * not read the socket itself; the broker's reader does (broker.ts, the aedes adapter), and asks
 * the front:
 *
 * - `firstBytes`, before the first bytes reach the MQTT parser: anything that is not the start
 *   of a CONNECT is refused with a reason (and an unsupported protocol level with CONNACK 1);
 * - `refuseWill`, once the CONNECT is parsed: a will that cannot be stored;
 * - `refuseConnect` / `disconnectCode`, when the access service refuses a client or ends one:
 *   the CONNACK reason code (5.0) or return code (3.1/3.1.1), the DISCONNECT reason code.
 *
 * Who the client is, authentication, the mountpoint and the session are the access service's
 * (src/access). Reading once, in the broker's own reader, keeps the connect path as short as
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
    if (length > this.deps.maxPacketSize) {
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
   * A will whose topic is no Topic Name [MQTT-3.1.3-11], [MQTT-4.7.3-1], [MQTT-4.7.1-1] (nor its
   * Response Topic [MQTT-3.3.2-13], [MQTT-3.3.2-14]): CONNACK 0x90 (Topic Name invalid) on 5.0,
   * as EMQX answers; 3.1/3.1.1 have no return code for it, so the connection is closed
   * [MQTT-3.1.4-1]. The will is never stored. True when refused.
   */
  refuseWill(stream: Duplex, meta: ConnectionMeta, version: number, clientid: string, username: string | undefined, will: WillTopics): boolean {
    const invalid =
      invalidTopicName(will.topic) ?? (will.responseTopic !== undefined ? invalidTopicName(will.responseTopic)?.replace(/^/, 'Response Topic: ') : undefined);
    if (!invalid) return false;
    const v5 = version === 5;
    this.deps.access.refusedByFront(meta, `invalid will topic: ${invalid}`, { clientid, username, ...(v5 ? { reason_code: TOPIC_NAME_INVALID } : {}) });
    if (v5) closeWithConnack(stream, mqttPacket.generate({ cmd: 'connack', reasonCode: TOPIC_NAME_INVALID, sessionPresent: false }, { protocolVersion: 5 }));
    else stream.destroy();
    return true;
  }

  /**
   * Answers the access service's refusal: CONNACK with the reason's MQTT 5 reason code, or its
   * 3.1/3.1.1 return code, then close. Returns the code written, for the refusal's log line.
   */
  refuseConnect(stream: Duplex, version: number, refusal: Refusal): number {
    const code = connackReasonCode(refusal.reason, refusal.placeholder);
    closeWithRefusal(stream, version, code);
    return version === 5 ? code : v3ReturnCode(code);
  }

  /** The MQTT 5 DISCONNECT reason code for the node ending a connection (3.1/3.1.1: a plain close). */
  disconnectCode(reason: DisconnectReason): number {
    return disconnectReasonCode(reason);
  }

  /** A connection the broker's reader gave up on before its CONNECT was decided. */
  failed(meta: ConnectionMeta, reason: string): void {
    this.deps.access.refusedByFront(meta, reason);
  }

  private refuse(stream: Duplex, meta: ConnectionMeta, reason: string): void {
    this.deps.access.refusedByFront(meta, reason);
    stream.destroy();
  }

  private refuseVersion(stream: Duplex, meta: ConnectionMeta, level: number): void {
    // An unsupported protocol level gets CONNACK 1 (v3) before the close [MQTT-3.1.2-2].
    this.deps.access.refusedByFront(meta, `unsupported protocol level ${level}`);
    closeWithConnack(stream, mqttPacket.generate({ cmd: 'connack', returnCode: 1, sessionPresent: false }, { protocolVersion: 4 }));
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


