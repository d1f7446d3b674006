import type { ConfigCheck, ConfigProblem } from './config/load.js';
import { LISTENER_TYPES, type GatehouseConfig } from './config/schema.js';
import { chainProblems } from './authn/registry.js';
import { cidrProblem } from '../listeners/proxy-protocol.js';
import { accessRulesProblem } from '../listeners/access-rules.js';
import { unsupportedSettings } from './config/unsupported.js';
import { parseByteSize, parseDuration } from './config/hocon/units.js';
import { buildTlsSettings } from '../listeners/tls.js';
import type { SslOptions } from './config/schema.js';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import './authn/backends/index.js';
import { authorizationSources } from './authz/sources/index.js';
import type { SourceRegistry } from './authz/source.js';
import { TopicRule } from './authz/topic.js';

/** What the checks read of a listener block. */
interface ListenerBlock {
  authentication: Array<Record<string, unknown>>;
  proxy_protocol_trusted_cidrs?: string[];
  access_rules?: string[];
  ssl_options?: SslOptions;
}

/** Every listener block, MQTT and gateway, with its id (`tcp:default`, `stomp:tcp:default`) and config path. */
function configuredListeners(config: GatehouseConfig): Array<{ id: string; path: string; listener: ListenerBlock }> {
  const out: Array<{ id: string; path: string; listener: ListenerBlock }> = [];
  for (const type of LISTENER_TYPES) {
    for (const [name, l] of Object.entries(config.listeners[type])) out.push({ id: `${type}:${name}`, path: `listeners.${type}.${name}`, listener: l });
  }
  for (const [type, byName] of Object.entries(config.gateway.stomp?.listeners ?? {})) {
    for (const [name, l] of Object.entries(byName as Record<string, ListenerBlock>)) {
      out.push({ id: `stomp:${type}:${name}`, path: `gateway.stomp.listeners.${type}.${name}`, listener: l });
    }
  }
  return out;
}

/** Every authentication chain a config defines, by chain name, with its config path. */
export function configuredChains(config: GatehouseConfig): Array<{ name: string; path: string; authenticators: Array<Record<string, unknown>> }> {
  const chains: Array<{ name: string; path: string; authenticators: Array<Record<string, unknown>> }> = [];
  chains.push({ name: 'mqtt:global', path: 'authentication', authenticators: config.authentication });
  const stomp = config.gateway.stomp;
  if (stomp) {
    const list = Array.isArray(stomp.authentication) ? stomp.authentication : [stomp.authentication];
    chains.push({ name: 'stomp:global', path: 'gateway.stomp.authentication', authenticators: list });
  }
  for (const { id, path, listener } of configuredListeners(config)) {
    chains.push({ name: id, path: `${path}.authentication`, authenticators: listener.authentication });
  }
  return chains;
}

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
 * ssl_options that Gatehouse would otherwise accept and ignore, and CRL set-ups that would
 * refuse every client at run time: with enable_crl_check the listener's files are loaded here
 * as at start, so a CA of cacertfile without a CRL in crlfile is named (RFC 5280 §6.3.3).
 * Without crlfile, CRLs come from distribution points through `crl_cache`, whose durations
 * must be above 0. Paths resolve against the working directory, as `gatehouse start` does.
 */
function tlsProblems(config: GatehouseConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of ['refresh_interval', 'http_timeout'] as const) {
    if (parseDuration(config.crl_cache[key]) === 0) problems.push({ path: `crl_cache.${key}`, message: `got ${JSON.stringify(config.crl_cache[key])}, expected a duration above 0` });
  }
  for (const { id, path, listener } of configuredListeners(config)) {
    const ssl = listener.ssl_options;
    if (!ssl) continue;
    if (ssl.secure_renegotiate === false) {
      problems.push({ path: `${path}.ssl_options.secure_renegotiate`, message: 'not supported yet: OpenSSL always uses secure renegotiation (RFC 5746)' });
    }
    for (const key of ['dhfile', 'user_lookup_fun'] as const) {
      if (ssl[key] !== undefined) problems.push({ path: `${path}.ssl_options.${key}`, message: 'not supported yet' });
    }
    if (ssl.enable_crl_check) {
      try {
        buildTlsSettings(id, ssl, process.cwd());
      } catch (err) {
        problems.push({ path: `${path}.ssl_options`, message: (err as Error).message });
      }
    }
  }
  return problems;
}

/**
 * Warnings (not errors) about files others can read: an existing data directory (password
 * hashes, PSK secrets) or a file in it, and every listener's key file given as a path.
 */
export function filePermissionWarnings(config: GatehouseConfig, baseDir: string): string[] {
  const warnings: string[] = [];
  const open = (path: string): number | undefined => {
    try {
      const mode = statSync(path).mode & 0o777;
      return (mode & 0o077) === 0 ? undefined : mode;
    } catch {
      return undefined; // missing files are reported elsewhere, or created private at start
    }
  };
  const octal = (mode: number) => mode.toString(8).padStart(3, '0');
  const dataDir = resolve(baseDir, config.node.data_dir);
  const dirMode = open(dataDir);
  if (dirMode !== undefined) warnings.push(`node.data_dir ${dataDir} is open to other users (mode ${octal(dirMode)}); chmod 700 it`);
  let entries: string[] = [];
  try {
    entries = readdirSync(dataDir);
  } catch {
    entries = [];
  }
  for (const name of entries) {
    const mode = open(join(dataDir, name));
    if (mode !== undefined) warnings.push(`${join(dataDir, name)} is readable by other users (mode ${octal(mode)}); chmod 600 it`);
  }
  for (const { path, listener } of configuredListeners(config)) {
    const key = listener.ssl_options?.keyfile;
    if (key === undefined || key.includes('-----BEGIN')) continue;
    const mode = open(resolve(baseDir, key));
    if (mode !== undefined) warnings.push(`${path}.ssl_options.keyfile ${resolve(baseDir, key)} is readable by other users (mode ${octal(mode)}); chmod 600 it`);
  }
  return warnings;
}

/**
 * `authorization` (§8.3): each source block against its type's schema and checks (an acl.conf
 * that does not parse is named with its line and column), one source per type, and the
 * cache's excludes as topic filters. Paths resolve against the working directory, as at start.
 */
function authorizationProblems(config: GatehouseConfig, sources: SourceRegistry): ConfigProblem[] {
  const problems = sources.problems('authorization.sources', config.authorization.sources, { baseDir: process.cwd(), from: 'config' });
  config.authorization.cache.excludes.forEach((filter, i) => {
    try {
      TopicRule.compile(filter);
    } catch (err) {
      problems.push({ path: `authorization.cache.excludes.${i}`, message: (err as Error).message });
    }
  });
  return problems;
}

/** The checks config validation runs beyond the schema: authenticator blocks per chain, authorization sources, listener CIDRs, TLS. */
export function configChecks(sources: SourceRegistry = authorizationSources()): ConfigCheck[] {
  return [
    (config): ConfigProblem[] => configuredChains(config).flatMap((c) => chainProblems(c.path, c.authenticators)),
    (config): ConfigProblem[] => authorizationProblems(config, sources),
    trustedCidrProblems,
    accessRuleProblems,
    sendLimitProblems,
    unsupportedSettings,
    tlsProblems,
  ];
}
