// The listeners' transport security as the node runs it: each listener's accept plan, its
// TLS settings (swapped in place when certificates are reloaded) and the Proxy Protocol
// refusal counts the metrics read.

import type { Logger } from 'pino';
import { acceptPlan, type AcceptPlan, type AcceptStepDeps } from './accept-plan.js';
import { defaultSsl } from './default-tls.js';
import { buildTlsSettings, TlsSettingsHolder } from './tls.js';
import type { FrontTraits, ListenerSpec } from '../src/transport/types.js';
import type { ProxyRefusalKind, TransportSecurityControl } from '../src/transport/control.js';

/**
 * The ListenerManager's hooks for transports: steps per listener, and certificate reloads
 * that swap a listener's TLS settings in place so connected clients stay.
 */
export class TransportSecurity implements TransportSecurityControl {
  private readonly holders = new Map<string, TlsSettingsHolder>();
  private readonly proxyRefusals = new Map<string, Map<ProxyRefusalKind, number>>();

  constructor(private readonly deps: Omit<AcceptStepDeps, 'tls'> & { logger: Logger }) {}

  /** For ListenerManagerDeps.acceptFor. */
  acceptFor = (spec: ListenerSpec, front: FrontTraits): AcceptPlan => {
    let holder: TlsSettingsHolder | undefined;
    if (spec.transport === 'ssl' || spec.transport === 'wss') {
      holder = TlsSettingsHolder.build(spec.id, spec.ssl ?? defaultSsl(), this.baseDir);
      this.holders.get(spec.id)?.close();
      this.holders.set(spec.id, holder);
    }
    return acceptPlan(
      spec,
      {
        ...this.deps,
        onProxyRefused: (id, kind) => this.countProxyRefusal(id, kind),
        ...(holder ? { tls: holder } : {}),
      },
      front,
    );
  };

  /**
   * For ListenerManagerDeps.onTlsChange: loads the new certificates and uses them for the
   * next handshakes. On a load error the old settings stay and the error is thrown.
   */
  onTlsChange = (spec: ListenerSpec): void => {
    const holder = this.holders.get(spec.id);
    if (holder) holder.replace(buildTlsSettings(spec.id, spec.ssl ?? defaultSsl(), this.baseDir, holder.ticketKeys));
    else this.holders.set(spec.id, TlsSettingsHolder.build(spec.id, spec.ssl ?? defaultSsl(), this.baseDir));
    this.deps.logger.info({ listener: spec.id }, 'listener TLS settings reloaded');
  };

  /**
   * For ListenerManagerDeps.onRemoved: forgets a removed listener's TLS settings. Its
   * refusal counts stay, as Prometheus counters must not go backwards while the node runs.
   */
  onRemoved = (id: string): void => {
    this.holders.get(id)?.close();
    this.holders.delete(id);
  };

  /** Replaces a listener's session ticket keys now (the timer does it every TICKET_KEY_ROTATION_MS). */
  rotateTicketKeys(listenerId: string): void {
    this.holders.get(listenerId)?.rotateTicketKeys();
  }

  /** Proxy Protocol refusals of a listener, by kind (`missing`, `timeout`, ...). */
  proxyProtocolRefusals(listenerId: string): Record<string, number> {
    return Object.fromEntries(this.proxyRefusals.get(listenerId) ?? []);
  }

  /** Every listener's Proxy Protocol refusals, for metrics. */
  *allProxyProtocolRefusals(): Generator<{ listener: string; kind: ProxyRefusalKind; count: number }> {
    for (const [listener, kinds] of this.proxyRefusals) for (const [kind, count] of kinds) yield { listener, kind, count };
  }

  private countProxyRefusal(listenerId: string, kind: ProxyRefusalKind): void {
    let kinds = this.proxyRefusals.get(listenerId);
    if (!kinds) this.proxyRefusals.set(listenerId, (kinds = new Map()));
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    this.deps.onProxyRefused?.(listenerId, kind);
  }

  private get baseDir(): string {
    return this.deps.baseDir ?? process.cwd();
  }
}
