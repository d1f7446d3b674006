// A running node as the management API, the CLI and tests see it. Every part is typed by its
// contract in src/, so this file (and whoever holds a GatehouseNode) imports nothing from
// listeners/ or gateways/; src/main.ts builds the node from the implementations.

import type { Logger } from 'pino';
import type { BindAddress } from './config/bind.js';
import type { ConfigCheck } from './config/load.js';
import type { GatehouseConfig, StompGatewayConfig } from './config/schema.js';
import type { MqttBroker } from './broker/broker.js';
import type { AuthnService } from './authn/service.js';
import type { BuiltInStore } from './store/index.js';
import type { ListenerControl, TransportSecurityControl } from './transport/control.js';

export interface GatewaySettings {
  stomp: StompGatewayConfig;
}

export interface GatehouseNode {
  readonly config: GatehouseConfig;
  readonly logger: Logger;
  readonly broker: MqttBroker;
  readonly listeners: ListenerControl;
  readonly store: BuiltInStore;
  /** Live gateway settings: the API replaces them and new connections use them. */
  readonly gateways: GatewaySettings;
  readonly authn: AuthnService;
  /** Listener TLS settings and Proxy Protocol refusal counts. */
  readonly transport: TransportSecurityControl;
  /** The checks a configuration must pass beyond the schema (a change through the API too). */
  readonly configChecks: readonly ConfigCheck[];
  /** Where each running listener is bound (ports resolved), by listener id. */
  address(listenerId: string): BindAddress;
  /** Stops accepting, disconnects clients cleanly, closes stores. */
  stop(): Promise<void>;
}
