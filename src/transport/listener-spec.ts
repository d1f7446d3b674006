// A listener's config block (MQTT `listeners.<type>.<name>`, gateway
// `gateway.<name>.listeners.<type>.<name>`) turned into the ListenerSpec transports use.

import { parseBind } from '../config/bind.js';
import { parseByteSize, parseDuration } from '../config/hocon/units.js';
import type { ListenerConfig, SslOptions } from '../config/schema.js';
import { AccessRules } from './access-rules.js';
import type { ListenerSpec, ProtocolName, SendLimits, TransportType, WebsocketSpec } from './types.js';

/** The settings a gateway listener's `websocket` block may carry (path instead of mqtt_path). */
export interface WebsocketBlock {
  mqtt_path?: string;
  path?: string;
  supported_subprotocols?: string;
  fail_if_no_subprotocol?: boolean;
  max_frame_size?: number | string;
}

export interface ListenerBlock extends Omit<ListenerConfig, 'websocket' | 'tcp_options'> {
  /** MQTT listeners have the send settings; STOMP gateway listeners refuse them (schema). */
  tcp_options: Omit<ListenerConfig['tcp_options'], keyof TcpSendOptions> & Partial<TcpSendOptions>;
  ssl_options?: SslOptions;
  websocket?: WebsocketBlock;
}

type TcpSendOptions = Pick<ListenerConfig['tcp_options'], 'high_watermark' | 'send_timeout' | 'send_timeout_close'>;

/** Turns a validated listener config block into the form the transports use. */
export function listenerSpec(id: string, transport: TransportType, protocol: ProtocolName, cfg: ListenerBlock): ListenerSpec {
  const spec: ListenerSpec = {
    id,
    transport,
    protocol,
    enable: cfg.enable,
    bind: parseBind(cfg.bind),
    maxConnections: cfg.max_connections === 'infinity' ? Infinity : cfg.max_connections,
    mountpoint: cfg.mountpoint,
    enableAuthn: cfg.enable_authn,
    zone: cfg.zone,
    noDelay: cfg.tcp_options.nodelay,
    backlog: cfg.tcp_options.backlog,
  };
  const keepAliveIdleMs = keepAliveIdle(cfg.tcp_options.keepalive);
  if (keepAliveIdleMs !== undefined) spec.keepAliveIdleMs = keepAliveIdleMs;
  if (cfg.proxy_protocol) {
    spec.proxyProtocol = {
      timeoutMs: parseDuration(cfg.proxy_protocol_timeout),
      trustedCidrs: cfg.proxy_protocol_trusted_cidrs,
    };
  }
  const accessRules = AccessRules.parse(cfg.access_rules);
  if (accessRules) spec.accessRules = accessRules;
  const send = sendLimits(cfg.tcp_options);
  if (send) spec.send = send;
  if ((transport === 'ssl' || transport === 'wss') && cfg.ssl_options) spec.ssl = cfg.ssl_options;
  if ((transport === 'ws' || transport === 'wss') && cfg.websocket) spec.websocket = websocketSpec(cfg.websocket, protocol);
  return spec;
}

/**
 * `tcp_options.keepalive` (EMQX: `"none"` or `"Idle,Interval,Probes"` in seconds). Node sets
 * only the idle time (socket.setKeepAlive), so Gatehouse takes `"none"` or `"Idle"`; the
 * interval and the probe count are the operating system's. Other forms are refused by
 * `keepaliveProblem` before a spec is made.
 */
export function keepAliveIdle(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === 'none') return undefined;
  const seconds = Number(value.trim());
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/** Why a `tcp_options.keepalive` value cannot be used, or undefined when it can. */
export function keepaliveProblem(value: string | undefined): string | undefined {
  if (value === undefined || keepAliveIdle(value) !== undefined || value.trim() === 'none') return undefined;
  if (/^\s*\d+\s*,\s*\d+\s*,\s*\d+\s*$/.test(value)) {
    const idle = value.split(',')[0]!.trim();
    return `not supported yet (${JSON.stringify(value)}: node sets only the idle time, the probe interval and count are the operating system's; write "${idle}" for probes after ${idle} s of silence, or "none")`;
  }
  return `got ${JSON.stringify(value)}, expected "none" or the idle seconds before the first keep-alive probe, such as "240"`;
}

/** `tcp_options.high_watermark`, `send_timeout`, `send_timeout_close`, when the block has them (MQTT listeners). */
function sendLimits(tcp: ListenerBlock['tcp_options']): SendLimits | undefined {
  if (tcp.high_watermark === undefined || tcp.send_timeout === undefined) return undefined;
  return Object.freeze({
    highWatermark: parseByteSize(tcp.high_watermark),
    sendTimeoutMs: parseDuration(tcp.send_timeout),
    sendTimeoutClose: tcp.send_timeout_close ?? true,
  });
}

function websocketSpec(ws: WebsocketBlock, protocol: ProtocolName): WebsocketSpec {
  const defaults = protocol === 'mqtt' ? 'mqtt, mqtt-v3, mqtt-v3.1.1, mqtt-v5, mqttv3.1' : 'v12.stomp, v11.stomp, v10.stomp';
  const spec: WebsocketSpec = {
    path: ws.mqtt_path ?? ws.path ?? (protocol === 'mqtt' ? '/mqtt' : '/stomp'),
    subprotocols: (ws.supported_subprotocols ?? defaults)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    failIfNoSubprotocol: ws.fail_if_no_subprotocol ?? protocol === 'mqtt',
  };
  if (typeof ws.max_frame_size === 'number') spec.maxFrameSize = ws.max_frame_size;
  return spec;
}
