import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { parseHocon, parseHoconFile, type HoconObject, type HoconValue } from './hocon/index.js';
import { GatehouseConfig, LISTENER_TYPES, type SslOptions } from './schema.js';
import { parseBind, BindError } from './bind.js';
import { fillDefaults } from './defaults.js';
import { parseDuration, parseByteSize } from './hocon/units.js';
import { mergeOverrides, overrideFilePath, readOverrides } from './overrides.js';
import { BUILT_IN_SECRETS, looksLikePrivateKey, type SecretFields } from '../secrets.js';

/** One thing wrong with a configuration, named by its dotted path. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[], readonly source = 'configuration') {
    super(`invalid ${source}:\n` + problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** A check that runs on a structurally valid config (backends add theirs). */
export type ConfigCheck = (config: GatehouseConfig) => ConfigProblem[];

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  checks?: ConfigCheck[];
  /**
   * Merge the management API's changes (`<node.data_dir>/cluster.hocon`) over the file
   * before the environment; a relative data_dir resolves against this directory.
   */
  overridesFrom?: string;
}

const ENV_PREFIX = 'GATEHOUSE_';
/** Environment variables with the prefix that are not configuration paths. */
const RESERVED_ENV = new Set(['GATEHOUSE_CONFIG']);

/** Reads a HOCON file, applies GATEHOUSE_* overrides, validates and fills defaults. */
export function loadConfigFile(file: string, opts: LoadOptions = {}): GatehouseConfig {
  const env = opts.env ?? process.env;
  let raw: HoconObject;
  try {
    raw = parseHoconFile(resolve(file), { env });
  } catch (err) {
    throw new ConfigError([{ path: '', message: (err as Error).message }], `configuration file ${file}`);
  }
  return validateConfig(applyEnvOverrides(withApiOverrides(raw, env, opts.overridesFrom), env), opts.checks ?? [], `configuration file ${file}`);
}

export function loadConfigText(text: string, opts: LoadOptions = {}): GatehouseConfig {
  const env = opts.env ?? {};
  let raw: HoconObject;
  try {
    raw = parseHocon(text, { env });
  } catch (err) {
    throw new ConfigError([{ path: '', message: (err as Error).message }]);
  }
  return validateConfig(applyEnvOverrides(withApiOverrides(raw, env, opts.overridesFrom), env), opts.checks ?? []);
}

/** The file's document with cluster.hocon merged over it (the data_dir itself comes from file + env). */
function withApiOverrides(raw: HoconObject, env: Record<string, string | undefined>, baseDir: string | undefined): HoconObject {
  if (baseDir === undefined) return raw;
  const node = applyEnvOverrides(raw, env)['node'];
  const dataDir = node !== null && typeof node === 'object' && !Array.isArray(node) && typeof node['data_dir'] === 'string' ? node['data_dir'] : 'data';
  const file = overrideFilePath(baseDir, dataDir);
  try {
    return mergeOverrides(raw, readOverrides(file)) as HoconObject;
  } catch (err) {
    throw new ConfigError([{ path: '', message: (err as Error).message }], `API changes file ${file}`);
  }
}

/**
 * `GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:11883` sets
 * `listeners.tcp.default.bind`. Values are read as HOCON values (numbers, booleans,
 * arrays, objects); anything that is not one is taken as a string.
 */
export function applyEnvOverrides(raw: HoconObject, env: Record<string, string | undefined>): HoconObject {
  const out = structuredClone(raw);
  const names = Object.keys(env).filter((k) => k.startsWith(ENV_PREFIX) && !RESERVED_ENV.has(k)).sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    if (path.some((seg) => seg === '')) continue;
    let node: HoconObject = out;
    for (const seg of path.slice(0, -1)) {
      const next = node[seg];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) node[seg] = {};
      node = node[seg] as HoconObject;
    }
    node[path[path.length - 1]!] = envValue(value);
  }
  return out;
}

function envValue(text: string): HoconValue {
  try {
    const parsed = parseHocon(`v = ${text}`, { env: {} });
    const v = parsed['v'];
    if (v !== undefined) return v;
  } catch {
    // not a HOCON value: a plain string
  }
  return text;
}

/** Validates a parsed document against the schema, filling defaults. Throws ConfigError. */
export function validateConfig(raw: unknown, checks: ConfigCheck[] = [], source?: string): GatehouseConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: 'expected an object at the top level' }], source);
  }
  const value = normalise(structuredClone(raw) as Record<string, unknown>);
  const withDefaults = fillDefaults(GatehouseConfig, value) as unknown;
  const problems = schemaProblems(GatehouseConfig, withDefaults);
  if (problems.length > 0) throw new ConfigError(problems, source);
  const config = withDefaults as GatehouseConfig;
  const more = [...semanticProblems(config), ...checks.flatMap((check) => check(config))];
  if (more.length > 0) throw new ConfigError(more, source);
  return config;
}

/** Shapes EMQX accepts in two forms become one before validation. */
function normalise(doc: Record<string, unknown>): Record<string, unknown> {
  if (isObject(doc['authentication'])) doc['authentication'] = [doc['authentication']];
  const listeners = isObject(doc['listeners']) ? doc['listeners'] : (doc['listeners'] = {});
  // tcp:default and ws:default always exist (EMQX §11.1) unless disabled with enable = false.
  for (const type of ['tcp', 'ws']) {
    const byName = isObject(listeners[type]) ? listeners[type] : (listeners[type] = {});
    if (!('default' in byName)) byName['default'] = {};
  }
  for (const type of LISTENER_TYPES) {
    const byName = listeners[type];
    if (!isObject(byName)) continue;
    for (const l of Object.values(byName)) {
      if (isObject(l)) {
        if (isObject(l['authentication'])) l['authentication'] = [l['authentication']];
        if ('enabled' in l && !('enable' in l)) {
          l['enable'] = l['enabled'];
          delete l['enabled'];
        }
      }
    }
  }
  const gateway = doc['gateway'];
  if (isObject(gateway) && isObject(gateway['stomp'])) {
    const stomp = gateway['stomp'];
    if (isObject(stomp['authentication'])) stomp['authentication'] = [stomp['authentication']];
    if (isObject(stomp['listeners'])) {
      for (const byName of Object.values(stomp['listeners'])) {
        if (!isObject(byName)) continue;
        for (const l of Object.values(byName)) {
          if (isObject(l) && isObject(l['authentication'])) l['authentication'] = [l['authentication']];
        }
      }
    }
  }
  return doc;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Schema errors as one line per problem: path, what was found, what was expected. A value
 * under one of `secrets` is never repeated, only its kind.
 */
export function schemaProblems(schema: TSchema, value: unknown, basePath = '', secrets: SecretFields = BUILT_IN_SECRETS): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const path = joinPath(basePath, pointerToPath(error.path));
    // A union reports itself and each member; the union's own line says it best.
    if ([...seen].some((p) => path.startsWith(p + '.') || path === p)) continue;
    seen.add(path);
    const expected = (error.schema as { expected?: string }).expected;
    let message: string;
    if (error.message === 'Unexpected property' || /unexpected property/i.test(error.message)) {
      message = 'unknown key';
    } else if (error.value === undefined) {
      message = `is required${expected ? ` (expected ${expected})` : ''}`;
    } else if (secrets.isSecretPath(path) || looksLikePrivateKey(error.value)) {
      // A secret's value is never repeated, only its kind (issue 12: errors never echo secrets).
      message = `got ${kindOf(error.value)} (not shown), expected ${expected ?? describe(error.schema, error.message)}`;
    } else {
      message = `got ${show(error.value, secrets)}, expected ${expected ?? describe(error.schema, error.message)}`;
    }
    problems.push({ path, message });
  }
  return problems;
}

function describe(schema: TSchema, fallback: string): string {
  const s = schema as Record<string, unknown>;
  if ('const' in s) return JSON.stringify(s['const']);
  const bits: string[] = [];
  if (typeof s['type'] === 'string') bits.push(String(s['type']));
  if (typeof s['minimum'] === 'number') bits.push(`>= ${s['minimum']}`);
  if (typeof s['maximum'] === 'number') bits.push(`<= ${s['maximum']}`);
  if (typeof s['pattern'] === 'string') bits.push(`matching ${s['pattern']}`);
  if (typeof s['minLength'] === 'number' && s['minLength'] > 0) bits.push('non-empty');
  return bits.length > 0 ? bits.join(' ') : fallback.toLowerCase();
}

/** The JSON kind of a value: `a string`, `an array`, `null`... */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const type = typeof v;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** A value as a message shows it: JSON, secrets inside it masked, at most 80 characters. */
function show(v: unknown, secrets: SecretFields): string {
  const text = JSON.stringify(secrets.redact(v));
  if (text === undefined) return String(v);
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .filter((s) => s !== '')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function joinPath(base: string, rest: string): string {
  if (!base) return rest;
  return rest ? `${base}.${rest}` : base;
}

/** Rules the schema cannot say: cross-field constraints and value parsing. */
function semanticProblems(config: GatehouseConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const checkBind = (path: string, bind: string | number) => {
    try {
      parseBind(bind);
    } catch (err) {
      if (err instanceof BindError) problems.push({ path, message: err.message });
      else throw err;
    }
  };
  const checkDuration = (path: string, v: string | number) => {
    try {
      parseDuration(v);
    } catch (err) {
      problems.push({ path, message: (err as Error).message });
    }
  };
  for (const type of LISTENER_TYPES) {
    for (const [name, l] of Object.entries(config.listeners[type])) {
      const base = `listeners.${type}.${name}`;
      checkBind(`${base}.bind`, l.bind);
      checkDuration(`${base}.proxy_protocol_timeout`, l.proxy_protocol_timeout);
      const ssl = (l as { ssl_options?: SslOptions }).ssl_options;
      if (ssl && ssl.fail_if_no_peer_cert && ssl.verify !== 'verify_peer') {
        problems.push({
          path: `${base}.ssl_options.fail_if_no_peer_cert`,
          message: 'true requires ssl_options.verify = verify_peer',
        });
      }
      if (ssl && ssl.enable_crl_check && ssl.verify !== 'verify_peer') {
        problems.push({ path: `${base}.ssl_options.enable_crl_check`, message: 'true requires ssl_options.verify = verify_peer' });
      }
      if (ssl && ssl.versions.includes('tlsv1.3') && !ssl.versions.includes('tlsv1.2') && ssl.versions.length > 1) {
        problems.push({ path: `${base}.ssl_options.versions`, message: 'tlsv1.3 without tlsv1.2 is not a valid list' });
      }
    }
  }
  checkDuration('mqtt.idle_timeout', config.mqtt.idle_timeout);
  try {
    parseByteSize(config.mqtt.max_packet_size);
  } catch (err) {
    problems.push({ path: 'mqtt.max_packet_size', message: (err as Error).message });
  }
  checkBind('dashboard.listeners.http.bind', config.dashboard.listeners.http.bind);
  return problems;
}

/** Reads a file that may hold inline PEM instead of a path (EMQX accepts both). */
export function readPemOrPath(value: string, baseDir = process.cwd()): Buffer {
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  return readFileSync(resolve(baseDir, value));
}
