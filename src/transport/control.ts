// What the rest of the node (the API, metrics, tests) may do with its listeners at run time.
// listeners/ implements these (ListenerManager, Listener, TransportSecurity); src/ sees only
// these interfaces, so it never imports listeners/.

import type { BindAddress } from '../config/bind.js';
import type { ListenerSpec, ListenerStatus } from './types.js';

/** One listener of the node. */
export interface ListenerHandle {
  readonly id: string;
  readonly spec: ListenerSpec;
  readonly running: boolean;
  /** The address bound (port 0 resolved), while running. */
  address(): BindAddress | undefined;
  status(): ListenerStatus;
}

/**
 * Every listener of the node, MQTT and gateway alike, by id: added, changed, stopped and
 * started one at a time while the others keep their clients. `add`, `update`, `start` and
 * `restart` throw ListenerStartError (src/transport/errors.ts) when a socket cannot bind,
 * and TlsSettingsError when TLS files cannot be loaded.
 */
export interface ListenerControl {
  has(id: string): boolean;
  get(id: string): ListenerHandle | undefined;
  list(): ListenerStatus[];
  add(spec: ListenerSpec): Promise<void>;
  /** New settings: in place when possible, else by restarting this listener only. */
  update(spec: ListenerSpec): Promise<void>;
  remove(id: string): Promise<void>;
  start(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  restart(id: string): Promise<void>;
}

/** Why a connection was refused before its first protocol byte (its Proxy Protocol header). */
export type ProxyRefusalKind = 'missing' | 'malformed' | 'oversized' | 'timeout' | 'untrusted';

/** The listeners' TLS state and Proxy Protocol refusal counts. */
export interface TransportSecurityControl {
  /** Proxy Protocol refusals of a listener, by kind. */
  proxyProtocolRefusals(listenerId: string): Record<string, number>;
  /** Every listener's Proxy Protocol refusals, for metrics. */
  allProxyProtocolRefusals(): Iterable<{ listener: string; kind: ProxyRefusalKind; count: number }>;
  /** Replaces a listener's TLS session ticket keys now (a timer does it periodically). */
  rotateTicketKeys(listenerId: string): void;
}
