// Every listener block of a configuration, MQTT (`listeners.<type>.<name>`) and gateway
// (`gateway.stomp.listeners.<type>.<name>`), for the checks and settings that look at them all.

import { LISTENER_TYPES, type GatehouseConfig, type SslOptions } from './schema.js';

/** What the checks read of a listener block. */
export interface ListenerBlockView {
  authentication: Array<Record<string, unknown>>;
  proxy_protocol_trusted_cidrs?: string[];
  access_rules?: string[];
  ssl_options?: SslOptions;
  tcp_options?: { keepalive?: string };
  zone?: string;
}

export interface ConfiguredListener {
  /** `tcp:default`, `stomp:tcp:default`. */
  id: string;
  /** The block's config path: `listeners.tcp.default`, `gateway.stomp.listeners.tcp.default`. */
  path: string;
  listener: ListenerBlockView;
}

/** Every listener block, MQTT and gateway, with its id and config path. */
export function configuredListeners(config: GatehouseConfig): ConfiguredListener[] {
  const out: ConfiguredListener[] = [];
  for (const type of LISTENER_TYPES) {
    for (const [name, l] of Object.entries(config.listeners[type])) out.push({ id: `${type}:${name}`, path: `listeners.${type}.${name}`, listener: l });
  }
  for (const [type, byName] of Object.entries(config.gateway.stomp?.listeners ?? {})) {
    for (const [name, l] of Object.entries(byName as Record<string, ListenerBlockView>)) {
      out.push({ id: `stomp:${type}:${name}`, path: `gateway.stomp.listeners.${type}.${name}`, listener: l });
    }
  }
  return out;
}
