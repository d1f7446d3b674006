// HAProxy PROXY protocol, versions 1 (text) and 2 (binary), read from the raw socket
// before anything else (before the TLS handshake on ssl/wss listeners). EMQX reference §11.2.
//
// proxy-protocol-js was considered: it neither frames a header out of a byte stream nor
// reads v2 TLVs, accepts v2 headers whose length field disagrees with their content, and
// has no v1 `UNKNOWN`; framing, TLVs and the strict checks are the whole job here, so the
// parser below is our own, written from the specification (haproxy doc/proxy-protocol.txt).

import net from 'node:net';
import type { AcceptStep } from './accept-step.js';
import { cidrProblem, readCidr, stripV4Mapped } from '../src/transport/cidr.js';
import { startsLike, V1_PREFIX, V2_SIGNATURE } from '../src/transport/proxy-signature.js';
import type { ConnectionMeta, PeerCertificate, ProxyHeaderReader } from '../src/transport/types.js';
import type { ProxyRefusalKind } from '../src/transport/control.js';

export class ProxyProtocolError extends Error {
  constructor(
    readonly kind: ProxyRefusalKind,
    message: string,
  ) {
    super(message);
    this.name = 'ProxyProtocolError';
  }
}

export interface ProxyAddress {
  host: string;
  port: number;
}

/** What a PP2_TYPE_SSL TLV says about the client's TLS session with the proxy. */
export interface ProxySslInfo {
  /** PP2_CLIENT_SSL: the client connected over TLS. */
  tls: boolean;
  /** PP2_CLIENT_CERT_CONN: the client presented a certificate on this connection. */
  certInConnection: boolean;
  /** PP2_CLIENT_CERT_SESS: the client presented a certificate in this TLS session. */
  certInSession: boolean;
  /** The proxy verified the client certificate (verify field = 0). */
  verified: boolean;
  version?: string;
  commonName?: string;
  cipher?: string;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** `local`: a health check or v1 UNKNOWN; the socket's own addresses stay in force. */
  command: 'proxy' | 'local';
  source?: ProxyAddress;
  destination?: ProxyAddress;
  ssl?: ProxySslInfo;
  authority?: string;
  /** Bytes the header took on the wire. */
  length: number;
}

export type ParseResult = { complete: false } | { complete: true; header: ProxyHeader };

/** v1: "the maximum line length is 107 bytes including the CRLF". */
const V1_MAX_LENGTH = 107;
const V2_FIXED = 16;
/** Largest v2 address+TLV block accepted; real proxies send well under 1 KiB. */
export const V2_MAX_PAYLOAD = 4096;

const PP2_TYPE_AUTHORITY = 0x02;
const PP2_TYPE_SSL = 0x20;
const PP2_SUBTYPE_SSL_VERSION = 0x21;
const PP2_SUBTYPE_SSL_CN = 0x22;
const PP2_SUBTYPE_SSL_CIPHER = 0x23;
const PP2_CLIENT_SSL = 0x01;
const PP2_CLIENT_CERT_CONN = 0x02;
const PP2_CLIENT_CERT_SESS = 0x04;

/**
 * Reads a PROXY header from the start of `buf`. Returns `{complete: false}` while more bytes
 * are needed; throws ProxyProtocolError when the bytes cannot be (or cannot become) a valid header.
 */
export function parseProxyHeader(buf: Buffer, maxV2Payload = V2_MAX_PAYLOAD): ParseResult {
  if (startsLike(buf, V1_PREFIX)) {
    return buf.length < V1_PREFIX.length ? { complete: false } : parseV1(buf);
  }
  if (startsLike(buf, V2_SIGNATURE)) {
    return buf.length < V2_FIXED ? { complete: false } : parseV2(buf, maxV2Payload);
  }
  throw new ProxyProtocolError('missing', 'no Proxy Protocol header: the first bytes are neither "PROXY " nor the v2 signature');
}

function parseV1(buf: Buffer): ParseResult {
  const end = buf.subarray(0, V1_MAX_LENGTH).indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (buf.length >= V1_MAX_LENGTH) {
      throw new ProxyProtocolError('oversized', `v1 header has no CRLF within ${V1_MAX_LENGTH} bytes`);
    }
    if (buf.includes(0x0a) || buf.subarray(0, buf.length - 1).includes(0x0d)) {
      throw new ProxyProtocolError('malformed', 'v1 header line does not end with CRLF');
    }
    return { complete: false };
  }
  const line = buf.subarray(0, end).toString('latin1');
  if (!/^[\x20-\x7e]*$/.test(line)) throw new ProxyProtocolError('malformed', 'v1 header holds non-printable bytes');
  const parts = line.split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { complete: true, header: { version: 1, command: 'local', length } };
  if (parts.length !== 6) throw new ProxyProtocolError('malformed', `v1 header has ${parts.length} fields, expected 6`);
  const [, family, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const check = family === 'TCP4' ? net.isIPv4 : family === 'TCP6' ? net.isIPv6 : undefined;
  if (!check) throw new ProxyProtocolError('malformed', `v1 header has unknown protocol ${JSON.stringify(family.slice(0, 16))}`);
  if (!check(src) || !check(dst)) throw new ProxyProtocolError('malformed', `v1 header addresses are not ${family} addresses`);
  return {
    complete: true,
    header: {
      version: 1,
      command: 'proxy',
      source: { host: family === 'TCP6' ? canonicalIpv6(src) : src, port: v1Port(sport) },
      destination: { host: family === 'TCP6' ? canonicalIpv6(dst) : dst, port: v1Port(dport) },
      length,
    },
  };
}

function v1Port(text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) {
    throw new ProxyProtocolError('malformed', 'v1 header has a port outside 0..65535');
  }
  return Number(text);
}

function parseV2(buf: Buffer, maxPayload: number): ParseResult {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) throw new ProxyProtocolError('malformed', `v2 header has version ${verCmd >> 4}, expected 2`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) throw new ProxyProtocolError('malformed', `v2 header has unknown command ${cmd}`);
  const famProto = buf[13]!;
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  if (family > 3 || transport > 2) throw new ProxyProtocolError('malformed', `v2 header has unknown address family/transport 0x${famProto.toString(16)}`);
  const payload = buf.readUInt16BE(14);
  if (payload > maxPayload) throw new ProxyProtocolError('oversized', `v2 header announces ${payload} bytes, more than ${maxPayload}`);
  const length = V2_FIXED + payload;
  if (buf.length < length) return { complete: false };
  // Offsets into buf rather than views of it: this runs once per proxied connection.
  const addressLength = family === 1 ? 12 : family === 2 ? 36 : family === 3 ? 216 : 0;
  if (payload < addressLength) {
    throw new ProxyProtocolError('malformed', `v2 header is ${payload} bytes long, too short for its ${addressLength}-byte address block`);
  }
  const header: ProxyHeader = { version: 2, command: cmd === 1 ? 'proxy' : 'local', length };
  if (payload > addressLength) readTlvs(buf.subarray(V2_FIXED + addressLength, length), header);
  // LOCAL (health checks), UNSPEC and UNIX carry no usable client address: keep the socket's.
  const at = V2_FIXED;
  if (cmd === 1 && family === 1) {
    header.source = { host: ipv4(buf, at), port: buf.readUInt16BE(at + 8) };
    header.destination = { host: ipv4(buf, at + 4), port: buf.readUInt16BE(at + 10) };
  } else if (cmd === 1 && family === 2) {
    header.source = { host: ipv6(buf, at), port: buf.readUInt16BE(at + 32) };
    header.destination = { host: ipv6(buf, at + 16), port: buf.readUInt16BE(at + 34) };
  }
  return { complete: true, header };
}

function readTlvs(tlvs: Buffer, header: ProxyHeader): void {
  for (const { type, value } of tlvEntries(tlvs, 'TLV')) {
    if (type === PP2_TYPE_AUTHORITY) header.authority = value.toString('utf8');
    if (type === PP2_TYPE_SSL) header.ssl = readSslTlv(value);
  }
}

function* tlvEntries(bytes: Buffer, what: string): Generator<{ type: number; value: Buffer }> {
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 3) throw new ProxyProtocolError('malformed', `v2 ${what} list ends inside a TLV header`);
    const type = bytes[at]!;
    const len = bytes.readUInt16BE(at + 1);
    if (at + 3 + len > bytes.length) throw new ProxyProtocolError('malformed', `v2 ${what} 0x${type.toString(16)} runs past the header end`);
    yield { type, value: bytes.subarray(at + 3, at + 3 + len) };
    at += 3 + len;
  }
}

function readSslTlv(value: Buffer): ProxySslInfo {
  if (value.length < 5) throw new ProxyProtocolError('malformed', 'v2 SSL TLV shorter than 5 bytes');
  const client = value[0]!;
  const info: ProxySslInfo = {
    tls: (client & PP2_CLIENT_SSL) !== 0,
    certInConnection: (client & PP2_CLIENT_CERT_CONN) !== 0,
    certInSession: (client & PP2_CLIENT_CERT_SESS) !== 0,
    verified: value.readUInt32BE(1) === 0,
  };
  for (const { type, value: sub } of tlvEntries(value.subarray(5), 'SSL sub-TLV')) {
    if (type === PP2_SUBTYPE_SSL_VERSION) info.version = sub.toString('latin1');
    else if (type === PP2_SUBTYPE_SSL_CN) info.commonName = sub.toString('utf8');
    else if (type === PP2_SUBTYPE_SSL_CIPHER) info.cipher = sub.toString('latin1');
  }
  return info;
}

/** The IPv4 address in the 4 bytes of b at `at`. */
function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** The IPv6 address in the 16 bytes of b at `at`. */
function ipv6(b: Buffer, at: number): string {
  // IPv4-mapped (::ffff:a.b.c.d) shows as the IPv4 address, like the socket's own peers.
  let zeros = 0;
  while (zeros < 10 && b[at + zeros] === 0) zeros++;
  if (zeros === 10 && b[at + 10] === 0xff && b[at + 11] === 0xff) return ipv4(b, at + 12);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(at + i).toString(16));
  return canonicalIpv6(groups.join(':'));
}

/** RFC 5952 text form (the URL parser compresses and lowercases IPv6 literals). */
function canonicalIpv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/**
 * The certificate identity a TLS-terminating proxy vouches for: EMQX takes the PP2 SSL CN
 * for both `cn` and `dn` (the DN is not transmitted). Gatehouse only takes it when the proxy
 * says it verified the certificate presented on this connection.
 */
export function proxiedCertificate(ssl: ProxySslInfo | undefined): PeerCertificate | undefined {
  if (!ssl?.tls || !ssl.certInConnection || !ssl.verified || ssl.commonName === undefined) return undefined;
  return { subject: ssl.commonName, commonName: ssl.commonName, sanDns: [], sanEmail: [], sanUri: [] };
}

/** The set of peers allowed to send a PROXY header; empty means any peer. */
export class TrustedProxies {
  private readonly list: net.BlockList | undefined;

  /** Throws with the offending entry when a CIDR cannot be read (config checks catch it first: `cidrProblem`). */
  constructor(cidrs: readonly string[]) {
    if (cidrs.length === 0) return;
    const list = new net.BlockList();
    for (const entry of cidrs) {
      const subnet = readCidr(entry);
      if (!subnet) throw new Error(`proxy_protocol_trusted_cidrs: ${cidrProblem(entry)}`);
      list.addSubnet(subnet.address, subnet.prefix, subnet.type);
    }
    this.list = list;
  }

  allows(host: string): boolean {
    if (!this.list) return true;
    const h = stripV4Mapped(host);
    return this.list.check(h, net.isIPv4(h) ? 'ipv4' : 'ipv6');
  }
}

export interface ProxyProtocolOptions {
  timeoutMs: number;
  trustedCidrs: readonly string[];
  maxV2Payload?: number;
  /** Counts refusals by kind (the Listener logs the reason). */
  onRefused?: (listenerId: string, kind: ProxyRefusalKind) => void;
}

/**
 * A listener's Proxy Protocol settings at work: which peers may send a header, how long a
 * connection may take to send it, and where refusals are counted. `expect` starts reading
 * one connection's header.
 *
 * Deadlines: every connection of a gate gets the same timeout, so they expire in the order
 * the connections came. The gate keeps its waiting readers in arrival order (a Set) and one
 * timer for the oldest, instead of a timer per connection.
 */
export class ProxyHeaderGate {
  private readonly trusted: TrustedProxies;
  private readonly maxV2Payload: number;
  private readonly waiting = new Set<PendingProxyHeader>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ProxyProtocolOptions) {
    this.trusted = new TrustedProxies(opts.trustedCidrs);
    this.maxV2Payload = opts.maxV2Payload ?? V2_MAX_PAYLOAD;
  }

  /**
   * Starts waiting for the header of a connection just accepted. `refuse` is called once,
   * with the reason, when the connection must be closed (an untrusted peer at once, else a
   * bad, missing or late header); the caller logs and closes. Undefined when refused at once.
   */
  expect(socket: net.Socket, meta: ConnectionMeta, refuse: (reason: string) => void): PendingProxyHeader | undefined {
    if (!this.trusted.allows(meta.peerhost)) {
      this.refused(meta, new ProxyProtocolError('untrusted', `Proxy Protocol peer ${meta.peerhost} is not in proxy_protocol_trusted_cidrs`), refuse);
      return undefined;
    }
    const reader = new PendingProxyHeader(this, socket, meta, refuse, performance.now() + this.opts.timeoutMs, this.maxV2Payload);
    this.waiting.add(reader);
    if (!this.timer) this.arm(reader.deadline);
    return reader;
  }

  /** @internal A reader is no longer waiting (its header came, or it was refused). */
  settled(reader: PendingProxyHeader): void {
    this.waiting.delete(reader);
  }

  /** @internal Counts a refusal and reports it to the caller of `expect`. */
  refused(meta: ConnectionMeta, err: ProxyProtocolError, refuse: (reason: string) => void): void {
    this.opts.onRefused?.(meta.listenerId, err.kind);
    refuse(`proxy protocol: ${err.message}`);
  }

  private arm(deadline: number): void {
    this.timer = setTimeout(this.expire, Math.max(0, deadline - performance.now()));
    // Waiting connections keep the process alive by themselves.
    this.timer.unref();
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    for (const reader of this.waiting) {
      if (reader.deadline > now) {
        this.arm(reader.deadline);
        return;
      }
      reader.timedOut(this.opts.timeoutMs);
    }
  };
}

/**
 * One connection's PROXY header, read from the bytes its reader gets: the accept step's own
 * reader, or on plain tcp listeners the protocol front's first read (ConnectionMeta.proxyHeader).
 * The gate's deadline and the socket's close refuse a connection whose header never completes.
 */
export class PendingProxyHeader implements ProxyHeaderReader {
  private buffered: Buffer | undefined;
  private state: 'reading' | 'done' | 'refused' = 'reading';

  constructor(
    private readonly gate: ProxyHeaderGate,
    private readonly socket: net.Socket,
    private readonly meta: ConnectionMeta,
    private readonly refuse: (reason: string) => void,
    /** When the header must be complete (`performance.now()` ms). */
    readonly deadline: number,
    private readonly maxV2Payload: number,
  ) {
    socket.on('close', this.onClose);
  }

  get refused(): boolean {
    return this.state === 'refused';
  }

  /**
   * Takes the next bytes read from the connection. Once the header is complete it is applied
   * to the meta and the bytes after it are returned (possibly none); until then, and after a
   * refusal, undefined.
   */
  take(chunk: Buffer): Buffer | undefined {
    if (this.state !== 'reading') return this.state === 'done' ? chunk : undefined;
    const buffered = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk]);
    let result: ParseResult;
    try {
      result = parseProxyHeader(buffered, this.maxV2Payload);
    } catch (err) {
      this.fail(err instanceof ProxyProtocolError ? err : new ProxyProtocolError('malformed', (err as Error).message));
      return undefined;
    }
    if (!result.complete) {
      this.buffered = buffered;
      return undefined;
    }
    this.finish('done');
    if (this.meta.proxyHeader === this) this.meta.proxyHeader = undefined;
    applyHeader(this.meta, result.header);
    return buffered.length === result.header.length ? EMPTY : buffered.subarray(result.header.length);
  }

  /** @internal The gate's deadline passed. */
  timedOut(timeoutMs: number): void {
    const got = this.buffered?.length ?? 0;
    this.fail(new ProxyProtocolError('timeout', `no complete Proxy Protocol header within ${timeoutMs} ms (got ${got} bytes)`));
  }

  private readonly onClose = (): void => {
    const got = this.buffered?.length ?? 0;
    this.fail(new ProxyProtocolError(got === 0 ? 'missing' : 'malformed', `connection closed after ${got} bytes, before a complete Proxy Protocol header`));
  };

  private fail(err: ProxyProtocolError): void {
    if (this.state !== 'reading') return;
    this.finish('refused');
    this.gate.refused(this.meta, err, this.refuse);
  }

  private finish(state: 'done' | 'refused'): void {
    this.state = state;
    this.buffered = undefined;
    this.gate.settled(this);
    this.socket.off('close', this.onClose);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The accept step (ssl, ws and wss listeners, and fronts that do not read the header
 * themselves): reads the PROXY header ahead of everything else, puts the addresses it
 * carries into the meta, and hands the socket on with every byte after the header still
 * unread. Any failure refuses the connection before a protocol byte is looked at.
 */
export function proxyProtocolStep(opts: ProxyProtocolOptions): AcceptStep {
  const gate = new ProxyHeaderGate(opts);
  return (socket, meta) =>
    new Promise((resolve, reject) => {
      const pending = gate.expect(socket, meta, (reason) => {
        socket.off('readable', onReadable);
        reject(new Error(reason));
      });
      if (!pending) return;
      function onReadable(): void {
        let chunk: Buffer | null;
        while ((chunk = socket.read() as Buffer | null) !== null) {
          const rest = pending!.take(chunk);
          if (pending!.refused) return;
          if (rest === undefined) continue;
          socket.off('readable', onReadable);
          // Whatever followed the header belongs to the next layer (TLS or the protocol front).
          if (rest.length > 0) socket.unshift(rest);
          resolve(socket);
          return;
        }
      }
      socket.on('readable', onReadable);
    });
}

export function applyHeader(meta: ConnectionMeta, header: ProxyHeader): void {
  if (header.command === 'proxy' && header.source && header.destination) {
    meta.proxy = { host: meta.peerhost, port: meta.peerport };
    meta.peerhost = header.source.host;
    meta.peerport = header.source.port;
    meta.sockhost = header.destination.host;
    meta.sockport = header.destination.port;
  }
  const cert = proxiedCertificate(header.ssl);
  if (cert) meta.cert = cert;
}
