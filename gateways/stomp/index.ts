import type { Duplex } from 'node:stream';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import { listenerSpec } from '../../src/transport/listener-spec.js';
import type { ConnectionHandler, ConnectionMeta, ListenerSpec } from '../../src/transport/types.js';
import type { AccessService } from '../../src/access/service.js';
import type { ClientinfoTemplates } from '../../src/access/types.js';
import type { MqttBroker } from '../../src/broker/broker.js';
import { parseDuration } from '../../src/config/hocon/units.js';
import { StompListeners, type StompGatewayConfig } from '../../src/config/schema.js';
import { StompChannel, type StompBus, type StompChannelSettings } from './channel.js';

/**
 * The STOMP gateway (reference §12): STOMP 1.0/1.1/1.2 clients on tcp, ssl and ws listeners,
 * sharing the MQTT broker's topics, admitted and authorized by the one access service MQTT
 * uses (the listener's or the gateway's chain is chosen there).
 */

/** EMQX's STOMP `clientinfo_override` defaults (§12.2): `login` and `passcode` headers, no client id (a random one). */
export const STOMP_CLIENTINFO_DEFAULTS: Readonly<ClientinfoTemplates> = Object.freeze({
  username: '${Packet.headers.login}',
  password: '${Packet.headers.passcode}',
  clientid: '',
});

export interface StompFrontDeps {
  logger: Logger;
  broker: MqttBroker;
  /** The one access path: admission, mountpoint, authorization, expiry. */
  access: AccessService;
  /** The current gateway settings, read once per new connection. */
  settings: () => StompGatewayConfig;
}

/** The connection handler for every `stomp` listener. */
export function createStompFront(deps: StompFrontDeps): ConnectionHandler {
  const bus = brokerBus(deps.broker);
  const front = (stream: Duplex, meta: ConnectionMeta): void => {
    const cfg = deps.settings();
    const settings: StompChannelSettings = {
      limits: {
        maxHeaders: cfg.frame.max_headers,
        maxHeadersLength: cfg.frame.max_headers_length,
        maxBodyLength: cfg.frame.max_body_length,
      },
      idleTimeoutMs: parseDuration(cfg.idle_timeout),
      // §12.1: a listener's own mountpoint overrides the gateway's.
      mountpoint: meta.mountpoint !== '' ? meta.mountpoint : cfg.mountpoint,
      clientinfo: {
        username: cfg.clientinfo_override.username ?? STOMP_CLIENTINFO_DEFAULTS.username,
        password: cfg.clientinfo_override.password ?? STOMP_CLIENTINFO_DEFAULTS.password,
        clientid: cfg.clientinfo_override.clientid ?? STOMP_CLIENTINFO_DEFAULTS.clientid,
      },
    };
    new StompChannel(stream, meta, settings, { logger: deps.logger, bus, access: deps.access }).start();
  };
  // On plain tcp listeners with proxy_protocol the channel's first reads take the header;
  // the listener's phases before the channel (WebSocket upgrade) get the CONNECT deadline.
  return Object.assign(front, { readsProxyHeader: true, connectTimeoutMs: () => parseDuration(deps.settings().idle_timeout) });
}

/** The broker's topic space as the channel uses it. */
function brokerBus(broker: MqttBroker): StompBus {
  return {
    publish: (packet) => broker.publish(packet),
    subscribe: (filter, deliver) => broker.subscribe(filter, deliver),
    unsubscribe: (filter, deliver) => broker.unsubscribe(filter, deliver),
  };
}

const STOMP_TRANSPORTS = ['tcp', 'ssl', 'ws'] as const;

type StompTcpListenerConfig = StompGatewayConfig['listeners']['tcp'][string];

/**
 * The gateway's listeners as specs, ids `stomp:<type>:<name>`. A gateway configured without any
 * listener gets `stomp:tcp:default` on 127.0.0.1:61613 (loopback, gatehouse-choices 12).
 */
export function stompListenerSpecs(cfg: StompGatewayConfig): ListenerSpec[] {
  const specs: ListenerSpec[] = [];
  for (const type of STOMP_TRANSPORTS) {
    for (const [name, block] of Object.entries(cfg.listeners[type])) {
      specs.push(listenerSpec(`stomp:${type}:${name}`, type, 'stomp', block));
    }
  }
  if (specs.length === 0) specs.push(listenerSpec('stomp:tcp:default', 'tcp', 'stomp', defaultTcpListener()));
  return specs;
}

function defaultTcpListener(): StompTcpListenerConfig {
  const itemSchema = Object.values(StompListeners.properties.tcp.patternProperties)[0];
  return Value.Default(itemSchema, {}) as StompTcpListenerConfig;
}
