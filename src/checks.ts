import type { ConfigCheck, ConfigProblem } from './config/load.js';
import { LISTENER_TYPES, type GatehouseConfig } from './config/schema.js';
import { chainProblems } from './authn/registry.js';
import { cidrProblem } from '../listeners/proxy-protocol.js';
import { accessRulesProblem } from '../listeners/access-rules.js';
import { unsupportedSettings } from './config/unsupported.js';
import { parseByteSize, parseDuration } from './config/hocon/units.js';
import './authn/backends/index.js';

/** What the checks read of a listener block. */
interface ListenerBlock {
  authentication: Array<Record<string, unknown>>;
  proxy_protocol_trusted_cidrs?: string[];
  access_rules?: string[];
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

/** The checks config validation runs beyond the schema: authenticator blocks per chain, listener CIDRs. */
export function configChecks(): ConfigCheck[] {
  return [
    (config): ConfigProblem[] => configuredChains(config).flatMap((c) => chainProblems(c.path, c.authenticators)),
    trustedCidrProblems,
    accessRuleProblems,
    sendLimitProblems,
    unsupportedSettings,
  ];
}
