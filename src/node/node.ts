import type { Logger } from 'pino';
import type { BindAddress } from '../config/bind.js';
import type { GatehouseConfig, StompGatewayConfig } from '../config/schema.js';
import type { MqttBroker } from '../broker/broker.js';
import type { AuthnService } from '../authn/service.js';
import type { AccessService } from '../access/service.js';
import type { AccessProtection } from '../access/banned/protection.js';
import type { Authorizer } from '../authz/authorizer.js';
import type { AuthenticatorRegistry } from '../authn/registry.js';
import type { BuiltInStore } from '../store/index.js';
import type { SecretFields } from '../secrets.js';
import type { ListenerControl, TransportSecurityControl } from '../transport/control.js';
import type { ChangeResult, ConfigChange } from './changes.js';

/** Live gateway settings: read per new connection, so a change applies to the next one. */
export interface GatewaySettings {
  stomp: StompGatewayConfig;
}

/**
 * A running node: what the management API, the CLI and tests hold on to. `src/main.ts`
 * (the composition root) implements it; nothing here imports the transports or the API.
 */
export interface GatehouseNode {
  /** The configuration now live; it changes only through `apply`. */
  readonly config: GatehouseConfig;
  readonly logger: Logger;
  readonly broker: MqttBroker;
  /** Every listener, MQTT and gateway (`listeners/manager.ts` implements it). */
  readonly listeners: ListenerControl;
  readonly store: BuiltInStore;
  readonly gateways: GatewaySettings;
  readonly authn: AuthnService;
  /** Authorization (§8): sources, cache, counters. */
  readonly authz: Authorizer;
  /** The one access path of every protocol: admission, refusals, authorization, expiry. */
  readonly access: AccessService;
  /** The banned list, flapping detection and failed-login bans (issue 15), checked by `access` before authentication. */
  readonly protection: AccessProtection;
  /** Listener TLS state and Proxy Protocol refusal counts (`listeners/transport-security.ts`). */
  readonly transport: TransportSecurityControl;
  /** The authenticator types this node knows (their schema fragments). */
  readonly authenticators: AuthenticatorRegistry;
  /** The node's one list of secret field names (built-in, and every registered type's). */
  readonly secrets: SecretFields;
  /**
   * Validates a change as a whole configuration, makes it live through each subsystem's
   * handler and persists it; a refused change changes nothing (`src/node/changes.ts`).
   */
  apply(change: ConfigChange): Promise<ChangeResult>;
  /**
   * Reads the configuration file, the environment and the override file again and applies
   * the difference (SIGHUP, `gatehouse reload`); refused when the node was started without a
   * file to read.
   */
  reload(): Promise<ChangeResult>;
  /** Where a running listener is bound (port resolved). */
  address(listenerId: string): BindAddress;
  /** Stops accepting, disconnects clients cleanly, closes stores. */
  stop(): Promise<void>;
}
