// What a listener does between accepting a socket and handing it to its protocol front:
// the Proxy Protocol header first (a load balancer sends it in clear), then TLS.

import { existsSync, readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { AcceptPlan } from './listener.js';
import { ProxyHeaderGate, proxyProtocolStep, type ProxyProtocolOptions, type ProxyRefusalKind } from './proxy-protocol.js';
import { buildTlsSettings, DEFAULT_TLS_FILES, tlsStep, TlsSettingsHolder, type PskLookup } from './tls.js';
import type { CrlCache } from './crl-cache.js';
import type { FrontTraits, ListenerSpec } from './types.js';

export interface AcceptStepDeps {
  /** Relative ssl_options paths resolve here (default: the working directory). */
  baseDir?: string;
  /** The identity → secret lookup, when psk_authentication is enabled. */
  pskLookup?: PskLookup;
  /** Counts Proxy Protocol refusals by kind. */
  onProxyRefused?: (listenerId: string, kind: ProxyRefusalKind) => void;
  /** The TLS settings holder to read on each accept (made from the spec when absent). */
  tls?: TlsSettingsHolder;
  /** Logs TLS errors on established connections. */
  logger?: Logger;
  /** The node's CRLs from distribution points (`enable_crl_check` without `crlfile`). */
  crlCache?: CrlCache;
}

/**
 * What a listener spec needs done before its front: the Proxy Protocol header, then TLS for
 * ssl/wss. On a plain tcp listener whose front reads the header itself the header is left to
 * the front (the plan's `proxyHeader`), which spares every connection a read of its own.
 * Throws TlsSettingsError when the TLS files cannot be loaded.
 */
export function acceptPlan(spec: ListenerSpec, deps: AcceptStepDeps = {}, front: FrontTraits = { readsProxyHeader: false }): AcceptPlan {
  const plan: AcceptPlan = { steps: [] };
  if (spec.proxyProtocol) {
    const opts: ProxyProtocolOptions = {
      // No phase before the CONNECT waits longer than the protocol's idle_timeout (issue 12).
      timeoutMs: Math.min(spec.proxyProtocol.timeoutMs, front.connectTimeoutMs ?? Infinity),
      trustedCidrs: spec.proxyProtocol.trustedCidrs,
      ...(deps.onProxyRefused ? { onRefused: deps.onProxyRefused } : {}),
    };
    if (spec.transport === 'tcp' && front.readsProxyHeader) plan.proxyHeader = new ProxyHeaderGate(opts);
    else plan.steps.push(proxyProtocolStep(opts));
  }
  if (spec.transport === 'ssl' || spec.transport === 'wss') {
    const holder = deps.tls ?? TlsSettingsHolder.build(spec.id, spec.ssl ?? defaultSsl(), deps.baseDir ?? process.cwd());
    plan.steps.push(
      tlsStep({
        holder,
        ...(deps.pskLookup ? { pskLookup: deps.pskLookup } : {}),
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.crlCache ? { crlCache: deps.crlCache } : {}),
      }),
    );
  }
  return plan;
}

/**
 * The ListenerManager's hooks for transports: steps per listener, and certificate reloads
 * that swap a listener's TLS settings in place so connected clients stay.
 */
export class TransportSecurity {
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

function defaultSsl(): NonNullable<ListenerSpec['ssl']> {
  return {
    verify: 'verify_none',
    fail_if_no_peer_cert: false,
    depth: 10,
    versions: ['tlsv1.3', 'tlsv1.2'],
    ciphers: [],
    handshake_timeout: '15s',
    enable_crl_check: false,
  };
}

/**
 * The directory development certificates should be generated into, when an enabled
 * ssl/wss listener needs a file there (by default or by name) that does not exist yet.
 */
export function devCertificatesNeeded(specs: readonly ListenerSpec[], baseDir: string): boolean {
  const dir = resolve(baseDir, 'certs') + sep;
  for (const spec of specs) {
    if (!spec.enable || (spec.transport !== 'ssl' && spec.transport !== 'wss')) continue;
    const ssl = spec.ssl ?? defaultSsl();
    for (const field of ['certfile', 'keyfile', 'cacertfile'] as const) {
      const value = ssl[field] ?? DEFAULT_TLS_FILES[field];
      if (value.includes('-----BEGIN')) continue;
      const path = resolve(baseDir, value);
      if (path.startsWith(dir) && !existsSync(path)) return true;
    }
  }
  return false;
}

/** The PSK part of the built-in store (src/store PskTable). */
export interface PskStore {
  get(identity: string): Buffer | undefined;
  importPskFile(content: string | Buffer, separator?: string, chunkSize?: number): { imported: number };
}

export interface TransportSetup {
  logger: Logger;
  baseDir: string;
  /** Every listener the node will start (MQTT and gateways). */
  specs: readonly ListenerSpec[];
  psk: { enable: boolean; init_file?: string; separator: string; chunk_size: number };
  pskStore: PskStore;
  /** Generate the development certificates into `<baseDir>/certs` when absent, needed or not. */
  devCertificates?: boolean;
  /** The node's CRL cache (`crl_cache`), for listeners that take CRLs from distribution points. */
  crlCache?: CrlCache;
}

/**
 * Startup work for transports: generates TEST-ONLY development certificates when a TLS
 * listener needs them (or when asked), imports `psk_authentication.init_file` into the store
 * (EMQX imports it whenever it is set, even with enable = false), and returns the hooks.
 */
export async function prepareTransportSecurity(setup: TransportSetup): Promise<TransportSecurity> {
  const { logger, baseDir } = setup;
  const certDir = resolve(baseDir, 'certs');
  if (devCertificatesNeeded(setup.specs, baseDir) || (setup.devCertificates && !existsSync(resolve(baseDir, DEFAULT_TLS_FILES.certfile)))) {
    const { generateDevCertificates } = await import('../certs/generate.js');
    const result = await generateDevCertificates(certDir);
    if (result.written.length > 0) {
      logger.warn({ dir: result.dir, files: result.written.length }, 'generated TEST-ONLY development certificates (never use them in production)');
    }
  }
  const psk = setup.psk;
  if (psk.init_file) {
    const path = resolve(baseDir, psk.init_file);
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch (err) {
      throw new Error(`psk_authentication.init_file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    // PskImportError names the line, never the secret.
    const { imported } = setup.pskStore.importPskFile(content, psk.separator, psk.chunk_size);
    logger.info({ file: path, imported }, 'PSK identities imported');
  }
  const store = setup.pskStore;
  return new TransportSecurity({
    logger,
    baseDir,
    ...(psk.enable ? { pskLookup: (identity: string) => store.get(identity) } : {}),
    ...(setup.crlCache ? { crlCache: setup.crlCache } : {}),
  });
}
