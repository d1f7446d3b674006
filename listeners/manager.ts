import type { Logger } from 'pino';
import { Listener } from './listener.js';
import type { AcceptPlan } from './accept-plan.js';
import type { ConnectionHandler, FrontTraits, ListenerSpec, ListenerStatus, ProtocolName } from '../src/transport/types.js';
import type { ListenerControl } from '../src/transport/control.js';

export class ListenerNotFoundError extends Error {
  constructor(readonly listenerId: string) {
    super(`listener ${listenerId} not found`);
    this.name = 'ListenerNotFoundError';
  }
}

export class ListenerExistsError extends Error {
  constructor(readonly listenerId: string) {
    super(`listener ${listenerId} already exists`);
    this.name = 'ListenerExistsError';
  }
}

export interface ListenerManagerDeps {
  logger: Logger;
  /** The front for each protocol: MQTT's broker front, the STOMP gateway. */
  handlers: Partial<Record<ProtocolName, ConnectionHandler>>;
  /**
   * What a listener does before its front (Proxy Protocol, TLS), from its spec and whether
   * the front reads a Proxy Protocol header itself.
   */
  acceptFor?: (spec: ListenerSpec, front: FrontTraits) => AcceptPlan;
  onRefused?: (listenerId: string, reason: string) => void;
  /**
   * Called when an ssl/wss listener's TLS settings change without a restart, before the
   * listener takes the new spec; a throw (files that cannot be loaded) leaves it unchanged.
   */
  onTlsChange?: (spec: ListenerSpec) => void;
  /** Called once a listener has been removed, to drop what was kept for it. */
  onRemoved?: (id: string) => void;
}

/**
 * Owns every listener of the node, MQTT and gateway alike, by id. Listeners are
 * added, changed, stopped and started one at a time; the others keep their clients.
 */
export class ListenerManager implements ListenerControl {
  private readonly listeners = new Map<string, Listener>();

  constructor(private readonly deps: ListenerManagerDeps) {}

  has(id: string): boolean {
    return this.listeners.has(id);
  }

  get(id: string): Listener | undefined {
    return this.listeners.get(id);
  }

  list(): ListenerStatus[] {
    return [...this.listeners.values()].map((l) => l.status());
  }

  /** Adds a listener and starts it when enabled. Throws ListenerStartError when it cannot bind. */
  async add(spec: ListenerSpec): Promise<void> {
    if (this.listeners.has(spec.id)) throw new ListenerExistsError(spec.id);
    const listener = this.create(spec);
    this.listeners.set(spec.id, listener);
    if (spec.enable) {
      try {
        await this.startListener(listener);
      } catch (err) {
        this.listeners.delete(spec.id);
        throw err;
      }
    }
  }

  /** Applies new settings: in place when possible, else by restarting this listener only. */
  async update(spec: ListenerSpec): Promise<void> {
    const current = this.listeners.get(spec.id);
    if (!current) throw new ListenerNotFoundError(spec.id);
    let before = current.spec;
    const bound = current.address();
    // Asking for the address the listener already has (its port-0 bind resolved) is no change.
    if (bound && spec.bind.port === bound.port && (spec.bind.host === bound.host || spec.bind.host === before.bind.host)) {
      before = { ...before, bind: spec.bind };
    }
    if (!spec.enable) {
      current.replaceSpec(spec);
      await current.stop();
      return;
    }
    if (!current.running) {
      current.replaceSpec(spec);
      await this.startListener(current);
      return;
    }
    if (needsRestart(before, spec)) {
      // Bind the new socket first when the address changes, so a failure keeps the old one.
      const replacement = this.create(spec);
      if (before.bind.port !== spec.bind.port || before.bind.host !== spec.bind.host) {
        await this.startListener(replacement);
        await current.stop();
      } else {
        await current.stop();
        await this.startListener(replacement);
      }
      this.listeners.set(spec.id, replacement);
      return;
    }
    // New certificates first: when they cannot be loaded the listener keeps its old settings.
    // Files are re-read on every update of a TLS listener, changed settings or not, so an
    // operator can reload a rewritten crlfile or renewed certificate through the API.
    if (spec.ssl !== undefined || before.ssl !== undefined) this.deps.onTlsChange?.(spec);
    current.replaceSpec(spec);
  }

  async remove(id: string): Promise<void> {
    const listener = this.listeners.get(id);
    if (!listener) throw new ListenerNotFoundError(id);
    this.listeners.delete(id);
    await listener.stop();
    this.deps.onRemoved?.(id);
  }

  async start(id: string): Promise<void> {
    const listener = this.require(id);
    if (!listener.running) await this.startListener(listener);
  }

  async stop(id: string): Promise<void> {
    await this.require(id).stop();
    this.deps.logger.info({ listener: id }, 'listener stopped');
  }

  async restart(id: string): Promise<void> {
    const listener = this.require(id);
    await listener.stop();
    await this.startListener(listener);
  }

  /** Stops accepting everywhere; connections are left to their protocol fronts to close. */
  async stopAccepting(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.stop(false)));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.stop(true)));
    for (const l of this.listeners.values()) l.dropConnections();
  }

  private require(id: string): Listener {
    const listener = this.listeners.get(id);
    if (!listener) throw new ListenerNotFoundError(id);
    return listener;
  }

  private create(spec: ListenerSpec): Listener {
    const handler = this.deps.handlers[spec.protocol];
    if (!handler) throw new Error(`no front for protocol ${spec.protocol} (listener ${spec.id})`);
    const front: FrontTraits = { readsProxyHeader: handler.readsProxyHeader === true };
    if (handler.connectTimeoutMs) front.connectTimeoutMs = handler.connectTimeoutMs();
    const plan = this.deps.acceptFor?.(spec, front) ?? { steps: [] };
    return new Listener(spec, {
      handler,
      logger: this.deps.logger,
      ...plan,
      ...(this.deps.onRefused ? { onRefused: this.deps.onRefused } : {}),
    });
  }

  private async startListener(listener: Listener): Promise<void> {
    const addr = await listener.start();
    const spec = listener.spec;
    this.deps.logger.info(
      {
        listener: spec.id,
        address: addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`,
        protocol: spec.protocol,
        transport: spec.transport,
      },
      'listener started',
    );
  }
}

/** Fields whose change needs the listener's socket to be opened again. */
function needsRestart(before: ListenerSpec, after: ListenerSpec): boolean {
  return (
    before.transport !== after.transport ||
    before.bind.host !== after.bind.host ||
    before.bind.port !== after.bind.port ||
    before.backlog !== after.backlog ||
    before.noDelay !== after.noDelay ||
    before.keepAliveIdleMs !== after.keepAliveIdleMs ||
    JSON.stringify(before.websocket) !== JSON.stringify(after.websocket) ||
    JSON.stringify(before.proxyProtocol) !== JSON.stringify(after.proxyProtocol)
  );
}
