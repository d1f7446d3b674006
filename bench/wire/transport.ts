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
  /** Send a HAProxy PROXY header (text v1 or binary v2) before anything else, as a load balancer would. */
  proxyProtocol?: 1 | 2;
}

export type Socket = net.Socket;

let proxySequence = 0;

/** A PROXY header claiming a made-up client 203.0.113.x (TEST-NET-3) talking to the endpoint. */
export function proxyHeader(version: 1 | 2, endpoint: Endpoint): Buffer {
  const n = proxySequence++;
  const srcHost = `203.0.113.${(n % 254) + 1}`;
  const srcPort = 1024 + (n % 60000);
  const dstHost = endpoint.host === 'localhost' ? '127.0.0.1' : endpoint.host;
  if (version === 1) return Buffer.from(`PROXY TCP4 ${srcHost} ${dstHost} ${srcPort} ${endpoint.port}\r\n`, 'latin1');
  const out = Buffer.alloc(16 + 12);
  Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1').copy(out, 0);
  out[12] = 0x21; // version 2, PROXY
  out[13] = 0x11; // AF_INET, STREAM
  out.writeUInt16BE(12, 14);
  const ip = (host: string, at: number) => host.split('.').forEach((part, i) => (out[at + i] = Number(part)));
  ip(srcHost, 16);
  ip(dstHost, 20);
  out.writeUInt16BE(srcPort, 24);
  out.writeUInt16BE(endpoint.port, 26);
  return out;
}

/** Connects (TCP_NODELAY, as the brokers use), writes the PROXY header if any, wraps in TLS if asked. Writes before the handshake are queued. */
export function openSocket(endpoint: Endpoint): Socket {
  const raw = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
  if (endpoint.proxyProtocol) raw.write(proxyHeader(endpoint.proxyProtocol, endpoint));
  if (!endpoint.tls) return raw;
  return tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
}
