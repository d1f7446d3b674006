import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { formatBind, isLoopback } from './config/bind.js';
import { parseByteSize, parseDuration } from './config/hocon/units.js';
import { LISTENER_TYPES, StompGateway, type GatehouseConfig, type StompGatewayConfig } from './config/schema.js';
import { fillDefaults } from './config/defaults.js';
import { validateConfig, type ConfigCheck } from './config/load.js';
import { unsupportedSettings } from './config/unsupported.js';
import { overrideFilePath } from './config/overrides.js';
import { createLogger } from './logging/index.js';
import { SecretFields } from './secrets.js';
import { MqttBroker } from './broker/broker.js';
import { AccessService } from './access/service.js';
import { transportCertificateFields } from './access/certificates.js';
import type { AdmissionCheck, MqttIdentitySettings } from './access/types.js';
import { AccessProtection } from './access/banned/protection.js';
import { protectionHandler } from './access/banned/changes.js';
import { zoneProblems } from './access/banned/settings.js';
import { bannedClientMatcher } from './access/banned/list.js';
import type { AuthenticationService } from './authn/types.js';
import { AuthnService } from './authn/service.js';
import { AuthenticatorRegistry } from './authn/registry.js';
import { chainsHandler } from './authn/changes.js';
import { builtInDatabase } from './authn/backends/built_in_database/index.js';
import { configureHashConcurrency } from './authn/password/index.js';
import { BuiltInStore } from './store/index.js';
import { chainChecks, configuredChains } from './authn/config-checks.js';
import { importPskInitFile } from './store/psk.js';
import { transportChecks } from './transport/config-checks.js';
import type { AuthorizationService } from './authz/types.js';
import { Authorizer } from './authz/authorizer.js';
import { authorizationSources } from './authz/sources/index.js';
import { authorizationChecks } from './authz/config-checks.js';
import { authorizationHandler } from './authz/changes.js';
import type { SourceRegistry } from './authz/source.js';
import { LiveConfig, type ChangeResult } from './node/changes.js';
import { listenersHandler, type ConfiguredListener } from './node/listener-changes.js';
import { settingsHandler } from './node/settings-changes.js';
import type { GatehouseNode, GatewaySettings } from './node/node.js';
import { listenerSpec } from './transport/listener-spec.js';
import type { ListenerSpec } from './transport/types.js';
import { startApi, type ApiServer } from './api/index.js';
import { ListenerManager } from '../listeners/manager.js';
import { TransportSecurity } from '../listeners/transport-security.js';
import { DEV_CERTIFICATES_DIR, devCertificatesNeeded } from '../listeners/default-tls.js';
import { tlsFileCheck } from '../listeners/config-checks.js';
import { CrlCache } from '../listeners/crl-cache.js';
import { createStompFront, stompListenerSpecs } from '../gateways/stomp/index.js';

export type { GatehouseNode, GatewaySettings };

/** The authenticator types of this build: one `register` line per backend. */
export function authenticatorRegistry(): AuthenticatorRegistry {
  return new AuthenticatorRegistry().register(builtInDatabase);
}

/**
 * Every check a configuration must pass beyond the root schema, from the subsystem that owns
 * it, with this build's registries: authenticator blocks per chain, listener settings, keys not
 * supported yet, and the listeners' TLS files. check-config, the start, the CLI commands and
 * every change (API, reload) use it.
 */
export function configChecks(authenticators: AuthenticatorRegistry = authenticatorRegistry(), sources: SourceRegistry = authorizationSources()): ConfigCheck[] {
  return [chainChecks(authenticators), authorizationChecks(sources), ...transportChecks, zoneProblems, unsupportedSettings, tlsFileCheck];
}

/** The running node as the composition root made it: the node's interface with its concrete parts. */
export interface RunningNode extends GatehouseNode {
  readonly listeners: ListenerManager;
  /** Listener TLS settings and Proxy Protocol refusal counts. */
  readonly transport: TransportSecurity;
  /** The management API (dashboard.listeners.http/https), when enabled. */
  api?: ApiServer;
}

export interface StartOptions {
  logger?: Logger;
  /** Directory relative paths in the config resolve against (the config file's). */
  baseDir?: string;
  /** Replaces the authentication service (tests that record what authentication sees). */
  authn?: AuthenticationService;
  /** Admission checks run before authentication (tests add their own). */
  admissionChecks?: readonly AdmissionCheck[];
  /** The authenticator types (default: this build's, `authenticatorRegistry()`). */
  authenticators?: AuthenticatorRegistry;
  /**
   * Reads the configuration again (file, environment, override file) for `reload()`:
   * `gatehouse start` passes its file; without it a reload is refused.
   */
  load?: () => GatehouseConfig;
  /** Generate the TEST-ONLY development certificates into `<baseDir>/certs` when absent (`npm start`). */
  devCertificates?: boolean;
}

/** The composition root: config → services → broker → listeners, and the handlers that keep them in line with changes. */
export async function startGatehouse(config: GatehouseConfig, opts: StartOptions = {}): Promise<RunningNode> {
  const authenticators = opts.authenticators ?? authenticatorRegistry();
  const secrets = new SecretFields(authenticators.secretFields());
  const logger = opts.logger ?? createLogger(config.log.console, undefined, secrets);
  const baseDir = opts.baseDir ?? process.cwd();
  const dataDir = resolve(baseDir, config.node.data_dir);
  // Private: the data directory holds password hashes, PSK secrets and API changes.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const { hash_concurrency: hashConcurrency, hash_queue: hashQueue } = config.authentication_settings;
  configureHashConcurrency(hashConcurrency, { maxQueue: hashQueue.total, maxQueuePerSource: hashQueue.per_address });
  const store = BuiltInStore.open(dataDir);
  const authnService = new AuthnService({
    logger,
    store,
    baseDir,
    timeoutMs: parseDuration(config.authentication_settings.timeout),
    authenticators,
  });
  const sources = authorizationSources();
  const authorizer = new Authorizer({ logger, registry: sources, store, baseDir, dataDir });
  let transport: TransportSecurity;
  // One per node: CRLs from the certificates' distribution points (EMQX's crl_cache).
  const crlCache = new CrlCache({
    logger,
    refreshIntervalMs: parseDuration(config.crl_cache.refresh_interval),
    httpTimeoutMs: parseDuration(config.crl_cache.http_timeout),
    capacity: config.crl_cache.capacity,
  });
  try {
    for (const chain of configuredChains(config)) await authnService.setChain(chain.name, chain.authenticators, true);
    await authorizer.configure(config.authorization);
    const stompConf = config.gateway.stomp?.enable ? config.gateway.stomp : undefined;
    const specs = [...mqttListenerSpecs(config), ...(stompConf ? stompListenerSpecs(stompConf) : [])];
    if (devCertificatesNeeded(specs, baseDir, opts.devCertificates)) await generateDevCertificates(logger, resolve(baseDir, DEV_CERTIFICATES_DIR));
    const psk = config.psk_authentication;
    if (psk.init_file) {
      const file = resolve(baseDir, psk.init_file);
      const { imported } = importPskInitFile(store.psk, file, psk.separator, psk.chunk_size);
      logger.info({ file, imported }, 'PSK identities imported');
    }
    transport = new TransportSecurity({
      logger,
      baseDir,
      ...(psk.enable ? { pskLookup: (identity: string) => store.psk.get(identity) } : {}),
      crlCache,
    });
  } catch (err) {
    crlCache.close();
    await authorizer.destroy();
    store.close();
    throw err;
  }
  // ── Banned clients, flapping detection, failed-login bans (issue 15; src/access/banned).
  // The list is durable in the store; its timers (expiry, the 1 s poll for the CLI's changes)
  // stop with the node.
  const protection = new AccessProtection({ records: store.banned, config, logger });
  protection.start();
  // ── end of banned clients
  const authn: AuthenticationService = opts.authn ?? authnService;
  const authz: AuthorizationService = authorizer;
  const maxPacketSize = parseByteSize(config.mqtt.max_packet_size);
  const identity: MqttIdentitySettings = {
    peerCertAsUsername: config.mqtt.peer_cert_as_username,
    peerCertAsClientid: config.mqtt.peer_cert_as_clientid,
    useUsernameAsClientid: config.mqtt.use_username_as_clientid,
    maxClientidLen: config.mqtt.max_clientid_len,
  };
  // ── Admission checks, before authentication, for every protocol (emqx5-auth.md §1.1 steps
  // 4–5): the banned list, then flapping detection (it counts each CONNECT that passed the
  // banned check), then a test's own. Failed logins feed the login-failure tracker; a new
  // banned entry (API, CLI, detectors) disconnects the connected clients it matches (MQTT 5
  // DISCONNECT 0x98, 3.1.1 a close, STOMP ERROR; their wills are not published).
  const checks: readonly AdmissionCheck[] = [...protection.checks, ...(opts.admissionChecks ?? [])];
  const access = new AccessService({ logger, authn: () => authn, authz: () => authz, certificates: transportCertificateFields, mqtt: () => identity, checks });
  // Revocation (issue 16 point 7): a rule change re-checks the connected clients' subscriptions.
  authorizer.onRulesChanged((scope) => void access.recheckSubscriptions(scope));
  access.observe(protection.observer);
  protection.banned.onAdded((entry) => {
    access.disconnectWhere(bannedClientMatcher(entry), 'banned');
  });
  // ── end of admission checks
  const broker = await MqttBroker.create({
    logger,
    access,
    connectTimeoutMs: parseDuration(config.mqtt.idle_timeout),
    denyAction: () => authorizer.denyAction,
    maxPacketSize,
    maxClientIdLength: config.mqtt.max_clientid_len,
    maxTopicLevels: config.mqtt.max_topic_levels,
    outbound: {
      logger,
      maxMqueueLen: config.mqtt.max_mqueue_len === 'infinity' ? 0 : config.mqtt.max_mqueue_len,
      // The listener's current spec, so an API change applies to the next subscriber.
      limits: (listenerId) => listeners.get(listenerId)?.spec.send,
    },
  });
  const stomp = config.gateway.stomp?.enable ? config.gateway.stomp : undefined;
  // Gateway settings are read per new connection, so an API change applies at once.
  const gateways: GatewaySettings = { stomp: config.gateway.stomp ?? fillDefaults(StompGateway, {} as StompGatewayConfig) };
  const stompFront = createStompFront({ logger, broker, access, settings: () => gateways.stomp });
  const listeners = new ListenerManager({
    logger,
    handlers: { mqtt: broker.attach, stomp: stompFront },
    acceptFor: transport.acceptFor,
    onTlsChange: transport.onTlsChange,
    onRemoved: transport.onRemoved,
  });

  // ── Configuration changes: one handler per subsystem, applied in this order (an earlier
  // one is undone when a later one fails). Chains first, so a new listener's own chain is in
  // place before it accepts; authorization next, so a new listener opens under its rules.
  const live = new LiveConfig({
    initial: config,
    overrideFile: overrideFilePath(baseDir, config.node.data_dir),
    validate: (doc) => validateConfig(doc, configChecks(authenticators, sources), 'change'),
    logger,
  });
  live
    .register(chainsHandler({ authn: authnService, chains: configuredChains }))
    .register(authorizationHandler(authorizer))
    .register(protectionHandler(protection))
    .register(listenersHandler({ name: 'listeners', owns: (path) => path[0] === 'listeners', listeners: mqttListeners, control: listeners, logger }))
    .register(listenersHandler({ name: 'gateway.stomp.listeners', owns: (path) => path[0] === 'gateway', listeners: stompListeners, control: listeners, logger }))
    .register(
      settingsHandler({
        name: 'gateway.stomp',
        owns: (path) => path[0] === 'gateway',
        select: (c) => c.gateway.stomp,
        set: (stomp) => {
          if (stomp) gateways.stomp = stomp;
        },
      }),
    );
  // ── end of the configuration change handlers

  const node: RunningNode = {
    get config() {
      return live.config;
    },
    logger,
    broker,
    listeners,
    store,
    authn: authnService,
    access,
    protection,
    authz: authorizer,
    authenticators,
    secrets,
    gateways,
    transport,
    apply: (change) => live.apply(change),
    async reload(): Promise<ChangeResult> {
      const load = opts.load;
      if (!load) throw new Error('this node was started without a configuration file to reload');
      return live.apply({ kind: 'reload', load });
    },
    address(id) {
      const addr = listeners.get(id)?.address();
      if (!addr) throw new Error(`listener ${id} is not running`);
      return addr;
    },
    async stop() {
      await node.api?.close();
      await listeners.stopAccepting();
      await broker.close();
      await listeners.stopAll();
      await authnService.destroy();
      await authorizer.destroy();
      crlCache.close();
      protection.stop();
      store.close();
    },
  };

  try {
    for (const spec of mqttListenerSpecs(config)) {
      if (!spec.enable) continue;
      await listeners.add(spec);
      warnIfOpen(logger, spec, authnService);
    }
    for (const spec of stomp ? stompListenerSpecs(stomp) : []) {
      if (!spec.enable) continue;
      await listeners.add(spec);
      warnIfOpen(logger, spec, authnService);
    }
  } catch (err) {
    await node.stop().catch(() => undefined);
    throw err;
  }
  if (config.dashboard.listeners.http.enable || config.dashboard.listeners.https.enable) {
    try {
      node.api = await startApi(node, { baseDir });
    } catch (err) {
      await node.stop().catch(() => undefined);
      throw err;
    }
  }
  const open = listeners.list().filter((l) => !isLoopback(l.address?.host ?? l.bind));
  if (open.length === 0) {
    logger.info('all listeners are bound to loopback; set listeners.<type>.<name>.bind (or GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND) to open up');
  }
  return node;
}

/** Writes the TEST-ONLY development certificates (certs/generate.ts) that are missing. */
async function generateDevCertificates(logger: Logger, dir: string): Promise<void> {
  const { generateDevCertificates: generate } = await import('../certs/generate.js');
  const result = await generate(dir);
  if (result.written.length > 0) {
    logger.warn({ dir: result.dir, files: result.written.length }, 'generated TEST-ONLY development certificates (never use them in production)');
  }
}

/** Every MQTT listener of the config, as specs, in a stable order. */
export function mqttListenerSpecs(config: GatehouseConfig): ListenerSpec[] {
  return mqttListeners(config).map((l) => l.spec);
}

/** Every MQTT listener of the config with where it is configured. */
function mqttListeners(config: GatehouseConfig): ConfiguredListener<ListenerSpec>[] {
  const out: ConfiguredListener<ListenerSpec>[] = [];
  for (const type of LISTENER_TYPES) {
    for (const [name, block] of Object.entries(config.listeners[type])) {
      out.push({ path: ['listeners', type, name], spec: listenerSpec(`${type}:${name}`, type, 'mqtt', block) });
    }
  }
  return out;
}

/** Every STOMP listener of the config (the implicit `stomp:tcp:default` included), disabled with the gateway. */
function stompListeners(config: GatehouseConfig): ConfiguredListener<ListenerSpec>[] {
  const stomp = config.gateway.stomp;
  if (!stomp) return [];
  return stompListenerSpecs(stomp).map((spec) => {
    const [, type, name] = spec.id.split(':');
    return { path: ['gateway', 'stomp', 'listeners', type!, name!], spec: stomp.enable ? spec : { ...spec, enable: false } };
  });
}

/** gatehouse-choices 12: an anonymous listener on a non-loopback address is worth a warning at every start. */
function warnIfOpen(logger: Logger, spec: ListenerSpec, authn: AuthnService): void {
  if (isLoopback(spec.bind.host)) return;
  const chain = authn.selectChain({ listener: spec.id, protocol: spec.protocol });
  const guarded = chain?.entries.some((e) => e.enable) ?? false;
  if (spec.enableAuthn === false || !guarded) {
    logger.warn(
      { listener: spec.id, address: formatBind(spec.bind), chain: chain?.name ?? null },
      'listener accepts anonymous clients on a non-loopback address',
    );
  }
}
