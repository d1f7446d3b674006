import net from 'node:net';
import tls from 'node:tls';

/** Where a load generator connects, and how: plain TCP, TLS, and/or a PROXY protocol header first. */
export interface Endpoint {
  host: string;
  port: number;
  /**
   * TLS with a full handshake on every connection (no session is ever offered back) and no
   * certificate check: the bench's certificates are throw-away, and checking them would only
   * add load-generator CPU.
   */
  tls?: boolean;
  /**
   * With `tls`: offer the session of an earlier connection of this load process (the latest
   * ticket received, RFC 5077 / RFC 8446 §4.6.1), so handshakes after the first are resumed.
   */
  tlsResume?: boolean;
  /** Send a HAProxy PROXY header (text v1 or binary v2) before anything else, as a load balancer would. */
  proxyProtocol?: 1 | 2;
  /** Connect from this local address (127.0.0.2, 127.0.0.3 …: different sources to the broker). */
  localAddress?: string;
}

export type Socket = net.Socket;

let proxySequence = 0;
/** The session the next resuming TLS connection offers (`Endpoint.tlsResume`). */
let lastSession: Buffer | undefined;
/** Handshakes of this process that resumed a session (`Endpoint.tlsResume`). */
export const tlsResumption = { resumed: 0 };
/** The v2 header with everything but the client's address and port filled in, per endpoint port. */
const v2Templates = new Map<string, Buffer>();

/**
 * A PROXY header claiming a made-up client 203.0.113.x (TEST-NET-3) talking to the endpoint.
 * v2 headers are copied from a template with only the client bytes patched in, so the load
 * generator spends next to nothing on them (it shares two cores with the broker).
 */
export function proxyHeader(version: 1 | 2, endpoint: Endpoint): Buffer {
  const n = proxySequence++;
  const srcOctet = (n % 254) + 1;
  const srcPort = 1024 + (n % 60000);
  const dstHost = endpoint.host === 'localhost' ? '127.0.0.1' : endpoint.host;
  if (version === 1) return Buffer.from(`PROXY TCP4 203.0.113.${srcOctet} ${dstHost} ${srcPort} ${endpoint.port}\r\n`, 'latin1');
  const key = `${dstHost}:${endpoint.port}`;
  let template = v2Templates.get(key);
  if (!template) {
    template = Buffer.alloc(16 + 12);
    Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1').copy(template, 0);
    template[12] = 0x21; // version 2, PROXY
    template[13] = 0x11; // AF_INET, STREAM
    template.writeUInt16BE(12, 14);
    template.set([203, 0, 113, 0], 16);
    template.set(dstHost.split('.').map(Number), 20);
    template.writeUInt16BE(endpoint.port, 26);
    v2Templates.set(key, template);
  }
  const out = Buffer.from(template);
  out[19] = srcOctet;
  out.writeUInt16BE(srcPort, 24);
  return out;
}

/**
 * Connects (TCP_NODELAY, as the brokers use), writes the PROXY header if any, wraps in TLS if
 * asked. Writes before the handshake are queued. On plain TCP the header is held back (corked)
 * until `writeFirst` adds the client's first packet, so both leave in one segment.
 */
export function openSocket(endpoint: Endpoint): Socket {
  const raw = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true, ...(endpoint.localAddress ? { localAddress: endpoint.localAddress } : {}) });
  if (endpoint.proxyProtocol) {
    if (!endpoint.tls) raw.cork();
    raw.write(proxyHeader(endpoint.proxyProtocol, endpoint));
  }
  if (!endpoint.tls) return raw;
  if (!endpoint.tlsResume) return tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
  const secure = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost', ...(lastSession ? { session: lastSession } : {}) });
  secure.on('session', (session: Buffer) => (lastSession = session));
  secure.once('secureConnect', () => {
    if (secure.isSessionReused()) tlsResumption.resumed++;
  });
  return secure;
}

/**
 * Writes a connection's first packet. Behind a held-back PROXY header both go out in one
 * writev, as a proxy that already has the client's first bytes sends them: the broker then
 * reads header and packet together on either setup, and the load makes one write per client.
 */
export function writeFirst(socket: Socket, bytes: Buffer): void {
  socket.write(bytes);
  if (socket.writableCorked > 0) socket.uncork();
}
