// Listener settings a configuration must get right beyond the schema: CIDRs, access rules,
// send limits, and TLS settings that are refused rather than ignored. Loading a listener's
// TLS files is the listeners' own check (listeners/config-checks.ts), added by src/main.ts.

import type { ConfigCheck, ConfigProblem } from '../config/load.js';
import { LISTENER_TYPES, type GatehouseConfig } from '../config/schema.js';
import { configuredListeners } from '../config/listeners.js';
import { parseByteSize, parseDuration } from '../config/hocon/units.js';
import { cidrProblem } from './cidr.js';
import { accessRulesProblem } from './access-rules.js';
import { keepaliveProblem } from './listener-spec.js';

/** proxy_protocol_trusted_cidrs entries that are not CIDRs, named by their full path. */
function trustedCidrProblems(config: GatehouseConfig): ConfigProblem[] {
  return configuredListeners(config).flatMap(({ path, listener }) =>
    (listener.proxy_protocol_trusted_cidrs ?? []).flatMap((entry, i) => {
      const message = cidrProblem(entry);
      return message ? [{ path: `${path}.proxy_protocol_trusted_cidrs[${i}]`, message }] : [];
    }),
  );
}

/** access_rules that cannot be read, named by their listener's path. */
function accessRuleProblems(config: GatehouseConfig): ConfigProblem[] {
  return configuredListeners(config).flatMap(({ path, listener }) => {
    const message = accessRulesProblem(listener.access_rules ?? []);
    return message ? [{ path: `${path}.access_rules`, message }] : [];
  });
}

/** tcp_options.keepalive values node cannot honour (every listener, MQTT and gateway). */
function keepaliveProblems(config: GatehouseConfig): ConfigProblem[] {
  return configuredListeners(config).flatMap(({ path, listener }) => {
    const message = keepaliveProblem(listener.tcp_options?.keepalive);
    return message ? [{ path: `${path}.tcp_options.keepalive`, message }] : [];
  });
}

/**
 * MQTT listeners' send settings that the schema's patterns let through but that bound
 * nothing: a high_watermark or send_timeout of 0 would make every subscriber a slow consumer.
 */
function sendLimitProblems(config: GatehouseConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const type of LISTENER_TYPES) {
    for (const [name, l] of Object.entries(config.listeners[type])) {
      const path = `listeners.${type}.${name}.tcp_options`;
      const { high_watermark: mark, send_timeout: timeout } = l.tcp_options;
      if (parseByteSize(mark) === 0) problems.push({ path: `${path}.high_watermark`, message: `got ${JSON.stringify(mark)}, expected a size above 0 such as "1MB"` });
      if (parseDuration(timeout) === 0) problems.push({ path: `${path}.send_timeout`, message: `got ${JSON.stringify(timeout)}, expected a duration above 0 such as "15s"` });
    }
  }
  return problems;
}

/**
 * ssl_options that Gatehouse would otherwise accept and ignore, and `crl_cache` durations
 * (CRLs from distribution points, for enable_crl_check without crlfile) that must be above 0.
 */
function tlsProblems(config: GatehouseConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of ['refresh_interval', 'http_timeout'] as const) {
    if (parseDuration(config.crl_cache[key]) === 0) problems.push({ path: `crl_cache.${key}`, message: `got ${JSON.stringify(config.crl_cache[key])}, expected a duration above 0` });
  }
  for (const { path, listener } of configuredListeners(config)) {
    const ssl = listener.ssl_options;
    if (!ssl) continue;
    if (ssl.secure_renegotiate === false) {
      problems.push({ path: `${path}.ssl_options.secure_renegotiate`, message: 'not supported yet: OpenSSL always uses secure renegotiation (RFC 5746)' });
    }
    for (const key of ['dhfile', 'user_lookup_fun'] as const) {
      if (ssl[key] !== undefined) problems.push({ path: `${path}.ssl_options.${key}`, message: 'not supported yet' });
    }
  }
  return problems;
}

/** The listener checks, in the order their problems are reported. */
export const transportChecks: readonly ConfigCheck[] = [trustedCidrProblems, accessRuleProblems, keepaliveProblems, sendLimitProblems, tlsProblems];
