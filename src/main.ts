import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { formatBind, isLoopback } from './config/bind.js';
import { parseByteSize, parseDuration } from './config/hocon/units.js';
import { LISTENER_TYPES, StompGateway, type GatehouseConfig, type StompGatewayConfig } from './config/schema.js';
import type { ConfigCheck } from './config/load.js';
import { unsupportedSettings } from './config/unsupported.js';
import { fillDefaults } from './config/defaults.js';
import { createLogger } from './logging/index.js';
import { MqttBroker } from './broker/broker.js';
import { MqttFront, type MqttFrontSettings } from './broker/front.js';
import type { AuthenticationService } from './authn/types.js';
import { AuthnService } from './authn/service.js';
import { configureHashConcurrency } from './authn/password/index.js';
import { chainChecks, configuredChains } from './authn/config-checks.js';
import { BuiltInStore } from './store/index.js';
import { importPskInitFile } from './store/psk.js';
import { allowAllButSys, type AuthorizationService } from './authz/types.js';
import { listenerSpec } from './transport/listener-spec.js';
import type { ListenerSpec } from './transport/types.js';
import { transportChecks } from './transport/config-checks.js';
import type { GatehouseNode, GatewaySettings } from './node.js';
import { startApi, type ApiServer } from './api/index.js';
import { ListenerManager } from '../listeners/manager.js';
import { TransportSecurity } from '../listeners/transport-security.js';
import { DEV_CERTIFICATES_DIR, devCertificatesNeeded } from '../listeners/default-tls.js';
import { tlsFileCheck } from '../listeners/config-checks.js';
import { CrlCache } from '../listeners/crl-cache.js';
import { createStompFront, stompListenerSpecs } from '../gateways/stomp/index.js';

/** A node started by startGatehouse: the GatehouseNode the API sees, and the API once it runs. */
export interface RunningNode extends GatehouseNode {
  /** The management API (dashboard.listeners.http/https), when enabled. */
  api?: ApiServer;
}

/**
 * Every check a configuration must pass beyond the schema, from the subsystem that owns it:
 * authenticator blocks per chain, listener settings, keys not supported yet, and the
 * listeners' TLS files. check-config, the start, the CLI commands and API changes use it.
 */
export function configChecks(): ConfigCheck[] {
  return [chainChecks, ...transportChecks, unsupportedSettings, tlsFileCheck];
}

export interface StartOptions {
  logger?: Logger;
  /** Directory relative paths in the config resolve against (the config file's). */
  baseDir?: string;
  /** Replaces the authentication service (tests that record what authentication sees). */
  authn?: AuthenticationService;
  /** Generate the TEST-ONLY development certificates into `<baseDir>/certs` when absent (`npm start`). */
  devCertificates?: boolean;
}

/** The composition root: config → services → broker → listeners. */
export async function startGatehouse(config: GatehouseConfig, opts: StartOptions = {}): Promise<RunningNode> {
  const logger = opts.logger ?? createLogger(config.log.console);
  const baseDir = opts.baseDir ?? process.cwd();
  const dataDir = resolve(baseDir, config.node.data_dir);
  // Private: the data directory holds password hashes, PSK secrets and API changes.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const hashConcurrency = config.authentication_settings.hash_concurrency;
  if (hashConcurrency !== undefined) configureHashConcurrency(hashConcurrency);
  const store = BuiltInStore.open(dataDir);
  const authnService = new AuthnService({
    logger,
    store,
    baseDir,
    timeoutMs: parseDuration(config.authentication_settings.timeout),
  });
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
    store.close();
    throw err;
  }
  const authn: AuthenticationService = opts.authn ?? authnService;
  const authz: AuthorizationService = allowAllButSys;
  const maxPacketSize = parseByteSize(config.mqtt.max_packet_size);
  const frontSettings: MqttFrontSettings = {
    maxPacketSize,
    peerCertAsUsername: config.mqtt.peer_cert_as_username,
    peerCertAsClientid: config.mqtt.peer_cert_as_clientid,
    useUsernameAsClientid: config.mqtt.use_username_as_clientid,
    maxClientidLen: config.mqtt.max_clientid_len,
  };
  const front = new MqttFront({ logger, authn: () => authn, settings: () => frontSettings });
  const broker = await MqttBroker.create({
    logger,
    front,
    connectTimeoutMs: parseDuration(config.mqtt.idle_timeout),
    authz: () => authz,
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
  const stompFront = createStompFront({ logger, broker, authn: () => authn, authz: () => authz, settings: () => gateways.stomp });
  const listeners = new ListenerManager({
    logger,
    handlers: { mqtt: broker.attach, stomp: stompFront },
    acceptFor: transport.acceptFor,
    onTlsChange: transport.onTlsChange,
    onRemoved: transport.onRemoved,
  });

  const node: RunningNode = {
    config,
    configChecks: configChecks(),
    logger,
    broker,
    listeners,
    store,
    authn: authnService,
    gateways,
    transport,
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
      crlCache.close();
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
  const specs: ListenerSpec[] = [];
  for (const type of LISTENER_TYPES) {
    for (const [name, block] of Object.entries(config.listeners[type])) {
      specs.push(listenerSpec(`${type}:${name}`, type, 'mqtt', block));
    }
  }
  return specs;
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
