import type { ConfigProblem } from './load.js';
import { LISTENER_TYPES, type GatehouseConfig } from './schema.js';

/**
 * Settings Gatehouse takes under EMQX's names but does not implement yet. A key is either
 * honoured or refused, never accepted and ignored: each is accepted only at the value that
 * describes what Gatehouse does (EMQX's default where that is the case), and any other value
 * is refused with "not supported yet". Remove a line when its setting is built.
 */
interface Unsupported {
  /** The setting's path below its block. */
  key: string;
  /** The one value Gatehouse's behaviour matches; undefined: the key must be absent. */
  accepted: unknown;
  /** What Gatehouse does instead, for the message. */
  instead: string;
}

const WEBSOCKET: readonly Unsupported[] = [
  { key: 'mqtt_piggyback', accepted: 'multiple', instead: 'several MQTT packets per frame are read' },
  { key: 'compress', accepted: false, instead: 'frames are not compressed' },
  { key: 'deflate_opts', accepted: undefined, instead: 'frames are not compressed' },
  { key: 'idle_timeout', accepted: '7200s', instead: 'the MQTT keepalive and mqtt.idle_timeout close idle connections' },
  { key: 'check_origin_enable', accepted: false, instead: 'Origin is not checked' },
  { key: 'allow_origin_absence', accepted: true, instead: 'Origin is not checked' },
  { key: 'check_origins', accepted: 'http://localhost:18083, http://127.0.0.1:18083', instead: 'Origin is not checked' },
  { key: 'proxy_address_header', accepted: 'x-forwarded-for', instead: 'the peer address is the socket\'s (or the Proxy Protocol header\'s); forwarding headers are not trusted' },
  { key: 'proxy_port_header', accepted: 'x-forwarded-port', instead: 'the peer port is the socket\'s (or the Proxy Protocol header\'s)' },
  { key: 'validate_utf8', accepted: true, instead: 'text frames are always checked for UTF-8' },
];

/** keepalive is built (src/transport/listener-spec.ts); node cannot set the socket buffers or Erlang's active_n. */
const TCP_OPTIONS: readonly Unsupported[] = [
  ...['active_n', 'recbuf', 'sndbuf', 'buffer'].map((key) => ({ key, accepted: undefined, instead: "node reads as data arrives, with the operating system's socket buffers" })),
  { key: 'reuseaddr', accepted: true, instead: 'node always sets SO_REUSEADDR on a listening socket' },
];

/** Listener keys of EMQX's that Gatehouse has no counterpart for, on MQTT and gateway listeners. */
const LISTENER: readonly Unsupported[] = [
  { key: 'acceptors', accepted: 16, instead: "node accepts every listener's connections on its one event loop" },
];

const NODE: readonly Unsupported[] = [{ key: 'cookie', accepted: undefined, instead: 'there is no clustering yet' }];

const STOMP_GATEWAY: readonly Unsupported[] = [
  { key: 'enable_stats', accepted: false, instead: 'no per-client statistics are kept (the API counts connections per gateway)' },
];

/** The management API's HTTPS server (src/api) takes its certificate and key; nothing else of ssl_options yet. */
const DASHBOARD_SSL_OPTIONS: readonly Unsupported[] = [
  'cacertfile', 'password', 'verify', 'fail_if_no_peer_cert', 'depth', 'versions', 'ciphers', 'handshake_timeout',
  'enable_crl_check', 'crlfile', 'secure_renegotiate', 'reuse_sessions', 'honor_cipher_order', 'client_renegotiation',
  'dhfile', 'log_level', 'hibernate_after', 'gc_after_handshake', 'user_lookup_fun',
].map((key) => ({ key, accepted: undefined, instead: "the API's HTTPS uses certfile and keyfile with node's TLS defaults" }));

/** Erlang runtime settings of EMQX's ssl_options: no node counterpart, so only EMQX's defaults load. */
const SSL_OPTIONS: readonly Unsupported[] = [
  { key: 'log_level', accepted: 'notice', instead: "OpenSSL's handshake errors are logged by the listener" },
  { key: 'hibernate_after', accepted: '5s', instead: 'node has no process hibernation' },
  { key: 'gc_after_handshake', accepted: false, instead: "node's garbage collector runs on its own" },
];

const MQTT: readonly Unsupported[] = [
  { key: 'session_expiry_interval', accepted: '2h', instead: 'MQTT 3.1/3.1.1 persistent sessions are kept until the client cleans them; MQTT 5 clients set their own Session Expiry Interval' },
];

function read(block: unknown, key: string): unknown {
  let value: unknown = block;
  for (const part of key.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

function problems(block: unknown, path: string, table: readonly Unsupported[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const { key, accepted, instead } of table) {
    const value = read(block, key);
    if (value === undefined || JSON.stringify(value) === JSON.stringify(accepted)) continue;
    const only = accepted === undefined ? 'leave it out' : `only ${JSON.stringify(accepted)} is accepted`;
    out.push({ path: `${path}.${key}`, message: `not supported yet (${only}; ${instead})` });
  }
  return out;
}

/** Every setting of `config` that Gatehouse would otherwise accept and ignore. */
export function unsupportedSettings(config: GatehouseConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [
    ...problems(config.node, 'node', NODE),
    ...problems(config.mqtt, 'mqtt', MQTT),
    ...problems(config.dashboard.listeners.https.ssl_options, 'dashboard.listeners.https.ssl_options', DASHBOARD_SSL_OPTIONS),
  ];
  if (config.gateway.stomp) out.push(...problems(config.gateway.stomp, 'gateway.stomp', STOMP_GATEWAY));
  for (const type of LISTENER_TYPES) {
    for (const [name, listener] of Object.entries(config.listeners[type])) {
      const path = `listeners.${type}.${name}`;
      out.push(...problems(listener, path, LISTENER));
      out.push(...problems(listener.tcp_options, `${path}.tcp_options`, TCP_OPTIONS));
      if ('ssl_options' in listener) out.push(...problems(listener.ssl_options, `${path}.ssl_options`, SSL_OPTIONS));
      if ('websocket' in listener) out.push(...problems(listener.websocket, `${path}.websocket`, WEBSOCKET));
    }
  }
  for (const [type, byName] of Object.entries(config.gateway.stomp?.listeners ?? {})) {
    for (const [name, listener] of Object.entries(byName as Record<string, { tcp_options?: unknown; ssl_options?: unknown }>)) {
      const path = `gateway.stomp.listeners.${type}.${name}`;
      out.push(...problems(listener, path, LISTENER));
      out.push(...problems(listener.tcp_options, `${path}.tcp_options`, TCP_OPTIONS));
      out.push(...problems(listener.ssl_options, `${path}.ssl_options`, SSL_OPTIONS));
    }
  }
  return out;
}
