// What a listener does between accepting a socket and handing it to its protocol front:
// the Proxy Protocol header first (a load balancer sends it in clear), then TLS.

import type { Logger } from 'pino';
import type { AcceptStep } from './accept-step.js';
import { ProxyHeaderGate, proxyProtocolStep, type ProxyProtocolOptions } from './proxy-protocol.js';
import type { ProxyRefusalKind } from '../src/transport/control.js';
import { tlsStep, TlsSettingsHolder, type PskLookup } from './tls.js';
import { defaultSsl } from './default-tls.js';
import type { CrlCache } from './crl-cache.js';
import type { FrontTraits, ListenerSpec } from '../src/transport/types.js';

/** What a listener does with each accepted socket before its front takes it. */
export interface AcceptPlan {
  /** Steps run in order on every accepted socket (empty for plain tcp/ws). */
  steps: AcceptStep[];
  /**
   * Set when the front reads the Proxy Protocol header itself (a plain tcp listener whose
   * front `readsProxyHeader`): the listener starts the wait for it, puts the reader in
   * `meta.proxyHeader` and hands the socket over at once.
   */
  proxyHeader?: ProxyHeaderGate;
}

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
