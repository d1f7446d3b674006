import type { AccessRules } from './access-rules.js';
import type { BindAddress } from '../src/config/bind.js';
import type { SslOptions } from '../src/config/schema.js';
import type { EnableAuthn, SendLimits, TransportType, ProtocolName } from '../src/transport/types.js';

/** The transport contract lives in src/transport; re-exported for the listeners' own files. */
export type { TransportType, ProtocolName, EnableAuthn, PeerCertificate, ConnectionMeta, ProxyHeaderReader, ConnectionHandler, FrontTraits, SendLimits } from '../src/transport/types.js';

export interface WebsocketSpec {
  path: string;
  subprotocols: string[];
  failIfNoSubprotocol: boolean;
  maxFrameSize?: number;
}

/** A listener's settings in the form the transports use (parsed from its config block). */
export interface ListenerSpec {
  id: string;
  transport: TransportType;
  protocol: ProtocolName;
  enable: boolean;
  bind: BindAddress;
  maxConnections: number;
  mountpoint: string;
  enableAuthn: EnableAuthn;
  noDelay: boolean;
  backlog: number;
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
