import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { formatBind, isLoopback, type BindAddress } from './config/bind.js';
import { parseByteSize, parseDuration } from './config/hocon/units.js';
import { LISTENER_TYPES, StompGateway, type GatehouseConfig, type StompGatewayConfig } from './config/schema.js';
import { fillDefaults } from './config/defaults.js';
import { createLogger } from './logging/index.js';
import { MqttBroker } from './broker/broker.js';
import { MqttFront, type MqttFrontSettings } from './broker/front.js';
import type { AuthenticationService } from './authn/types.js';
import { AuthnService } from './authn/service.js';
import { configureHashConcurrency } from './authn/password/index.js';
import { BuiltInStore } from './store/index.js';
import { configuredChains } from './checks.js';
import type { AuthorizationService } from './authz/types.js';
import { Authorizer } from './authz/authorizer.js';
import { authorizationSources } from './authz/sources/index.js';
import { ListenerManager } from '../listeners/manager.js';
import { listenerSpec } from '../listeners/spec.js';
import type { ListenerSpec } from '../listeners/types.js';
import { createStompFront, stompListenerSpecs } from '../gateways/stomp/index.js';
import { prepareTransportSecurity, type TransportSecurity } from '../listeners/steps.js';
import { CrlCache } from '../listeners/crl-cache.js';
import { startApi, type ApiServer } from './api/index.js';

export interface GatewaySettings {
  stomp: StompGatewayConfig;
}

/** A running node: what tests, the CLI and the API hold on to. */
export interface GatehouseNode {
  readonly config: GatehouseConfig;
  readonly logger: Logger;
  readonly broker: MqttBroker;
  readonly listeners: ListenerManager;
  readonly store: BuiltInStore;
  /** Live gateway settings: the API replaces them and new connections use them. */
  readonly gateways: GatewaySettings;
  readonly authn: AuthnService;
  /** Authorization (§8): sources, cache, counters. */
  readonly authz: Authorizer;
  /** Listener TLS settings and Proxy Protocol refusal counts. */
  readonly transport: TransportSecurity;
  /** The management API (dashboard.listeners.http/https), when enabled. */
  api?: ApiServer;
  /** Where each running listener is bound (ports resolved), by listener id. */
  address(listenerId: string): BindAddress;
  /** Stops accepting, disconnects clients cleanly, closes stores. */
  stop(): Promise<void>;
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
export async function startGatehouse(config: GatehouseConfig, opts: StartOptions = {}): Promise<GatehouseNode> {
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
  const authorizer = new Authorizer({ logger, registry: authorizationSources(), store, baseDir, dataDir });
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
    transport = await prepareTransportSecurity({
      logger,
      baseDir,
      specs: [...mqttListenerSpecs(config), ...(stompConf ? stompListenerSpecs(stompConf) : [])],
      psk: config.psk_authentication,
      pskStore: store.psk,
      ...(opts.devCertificates ? { devCertificates: true } : {}),
      crlCache,
    });
  } catch (err) {
    crlCache.close();
    await authorizer.destroy();
    store.close();
    throw err;
  }
  const authn: AuthenticationService = opts.authn ?? authnService;
  const authz: AuthorizationService = authorizer;
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
  const stompFront = createStompFront({ logger, broker, authn: () => authn, authz: () => authz, settings: () => gateways.stomp });
  const listeners = new ListenerManager({
    logger,
    handlers: { mqtt: broker.attach, stomp: stompFront },
    acceptFor: transport.acceptFor,
    onTlsChange: transport.onTlsChange,
    onRemoved: transport.onRemoved,
  });

  const node: GatehouseNode = {
    config,
    logger,
    broker,
    listeners,
    store,
    authn: authnService,
    authz: authorizer,
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
      await authorizer.destroy();
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
