import type { Duplex } from 'node:stream';
import type { BindAddress } from '../config/bind.js';
import type { SslOptions } from '../config/schema.js';
import type { AccessRules } from './access-rules.js';

/**
 * The transport contract (ARCHITECTURE.md): what a listener hands a protocol front. Owned by
 * the core; listeners/ and gateways/ implement it, src/ never imports them for it.
 */

/** The transports a listener can be. STOMP gateway listeners use the same ones. */
export type TransportType = 'tcp' | 'ssl' | 'ws' | 'wss';
/** The protocol spoken on a listener's connections, which picks the front that takes them. */
export type ProtocolName = 'mqtt' | 'stomp';
export type EnableAuthn = boolean | 'quick_deny_anonymous';

/** What the TLS handshake (or a TLS-terminating proxy) tells about the peer's certificate. */
export interface PeerCertificate {
  subject: string;
  commonName?: string;
  der?: Buffer;
  /** Base64 of the DER, no armour: EMQX's `${cert_pem}` form. */
  pemBody?: string;
  md5?: string;
  fingerprintSha256?: string;
  sanDns: string[];
  sanEmail: string[];
  sanUri: string[];
  /**
   * Fields whose bytes in the certificate are not valid UTF-8 (their string form above holds
   * U+FFFD replacements), so they cannot become an MQTT username or client id.
   */
  notUtf8?: readonly ('cn' | 'san_dns' | 'san_email' | 'san_uri')[];
}

/** Everything known about a connection before its protocol's first byte is read. */
export interface ConnectionMeta {
  /** `tcp:default`, or for gateways `stomp:tcp:default`. */
  listenerId: string;
  transport: TransportType;
  protocol: ProtocolName;
  /** Client address: from the Proxy Protocol header when there is one. */
  peerhost: string;
  peerport: number;
  sockhost: string;
  sockport: number;
  /** Listener settings the protocol front needs, read when the connection is accepted. */
  mountpoint: string;
  enableAuthn: EnableAuthn;
  /** The listener's `zone` (`zones.<name>`: its flapping policy); absent: `default`. */
  zone?: string;
  tls?: { protocol: string | null; cipher?: string; authorized: boolean; /** The handshake resumed an earlier session (RFC 5077, RFC 8446 §2.2). */ resumed?: boolean };
  cert?: PeerCertificate;
  pskIdentity?: string;
  /** The address of the proxy itself when the peer address came from a Proxy Protocol header. */
  proxy?: { host: string; port: number };
  /**
   * Set while a Proxy Protocol header is still to come at the start of the stream and the
   * front reads it (ConnectionHandler.readsProxyHeader, plain tcp listeners): the front gives
   * it its first bytes before looking at them itself.
   */
  proxyHeader?: ProxyHeaderReader | undefined;
}

/** A connection's Proxy Protocol header, fed with the first bytes read (`listeners/proxy-protocol.ts`). */
export interface ProxyHeaderReader {
  /**
   * The next bytes read. Undefined while the header is incomplete or after a refusal (the
   * listener is closing the connection); once the header is complete, the bytes after it
   * (possibly none) and the meta already carries the header's addresses.
   */
  take(chunk: Buffer): Buffer | undefined;
  readonly refused: boolean;
}

/** A protocol front: takes over a stream once the transport has done its part. */
export interface ConnectionHandler {
  (stream: Duplex, meta: ConnectionMeta): void;
  /**
   * The front reads a Proxy Protocol header itself, through `meta.proxyHeader`, on plain tcp
   * listeners: the listener then hands the socket over at once instead of reading ahead of it.
   */
  readonly readsProxyHeader?: boolean;
  /**
   * How long a connection may take to send its protocol's CONNECT (`mqtt.idle_timeout`,
   * `gateway.stomp.idle_timeout`). The listener gives no phase ahead of the front (Proxy
   * Protocol header, WebSocket upgrade) a longer deadline.
   */
  readonly connectTimeoutMs?: () => number;
}

/** What an accept plan needs to know of the front a listener hands its connections to. */
export interface FrontTraits {
  readsProxyHeader: boolean;
  /** The front's CONNECT deadline when the listener was made (`ConnectionHandler.connectTimeoutMs`). */
  connectTimeoutMs?: number;
}

/** A listener's `tcp_options` for outbound data, parsed (src/broker/outbound.ts applies them). */
export interface SendLimits {
  /** `high_watermark`: buffered outbound bytes past which the connection is a slow consumer. */
  readonly highWatermark: number;
  /** `send_timeout`: how long a connection over its mark may flush nothing. */
  readonly sendTimeoutMs: number;
  /** `send_timeout_close`: close a connection stuck past `send_timeout`. */
  readonly sendTimeoutClose: boolean;
}

export interface WebsocketSpec {
  path: string;
  subprotocols: string[];
  failIfNoSubprotocol: boolean;
  maxFrameSize?: number;
}

/** A listener's settings in the form the transports use (parsed from its config block: `listenerSpec`). */
export interface ListenerSpec {
  id: string;
  transport: TransportType;
  protocol: ProtocolName;
  enable: boolean;
  bind: BindAddress;
  maxConnections: number;
  mountpoint: string;
  enableAuthn: EnableAuthn;
  /** `zone`: which `zones.<name>` settings apply to its clients (`default`: the global ones). */
  zone: string;
  noDelay: boolean;
  backlog: number;
  /** `tcp_options.keepalive`: idle time before the first TCP keep-alive probe; absent: no keep-alive. */
  keepAliveIdleMs?: number;
  proxyProtocol?: { timeoutMs: number; trustedCidrs: string[] };
  /** `access_rules`, when they refuse anyone (absent for the default `["allow all"]`). */
  accessRules?: AccessRules;
  /** Bounds on each connection's outbound data (MQTT listeners' `tcp_options`). */
  send?: SendLimits;
  ssl?: SslOptions;
  websocket?: WebsocketSpec;
}

export interface ListenerStatus {
  id: string;
  type: TransportType;
  protocol: ProtocolName;
  running: boolean;
  bind: string;
  /** The address actually bound (port 0 resolved), while running. */
  address?: BindAddress;
  current_connections: number;
  max_connections: number | 'infinity';
}
