import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type Client, type ConnectPacket, type Subscription, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { AuthorizationService, AuthzAction, AuthzDecision, AuthzRequest, DenyAction } from '../authz/types.js';
import type { ClientSession } from './session.js';
import type { ConnectionHandler, ConnectionMeta } from '../transport/types.js';
import type { ConnectRequest, MqttFront } from './front.js';
import { GatehousePersistence } from './persistence.js';
import { Outbound, type DeliveringClient, type OutboundOptions } from './outbound.js';

/**
 * The one file that knows aedes's hook shapes. aedes owns sessions, QoS, retained
 * messages and wills; Gatehouse decides who gets in (the front) and what they may
 * do (authorization), and applies listener mountpoints.
 */

const SESSION = Symbol('gatehouse.session');
/** The connection's transport identity, set when the listener hands the stream over. */
const META = Symbol('gatehouse.meta');
/** Set once the front has refused the connection, so its close is not reported twice. */
const REFUSED = Symbol('gatehouse.refused');
/** The first bytes the front could not decide on yet (`more`), held back from the parser. */
const HELD = Symbol('gatehouse.held');

type ParseFn = (buf: Buffer) => unknown;
/** aedes's per-client MQTT parser (lib/client.js): `parse` is what its read loop calls. */
interface ClientParser {
  parse: ParseFn;
}
type GatehouseClient = Client & {
  [SESSION]?: ClientSession;
  [META]?: ConnectionMeta;
  [REFUSED]?: boolean;
  [HELD]?: Buffer | undefined;
  _parser?: ClientParser & { client?: GatehouseClient };
  closed?: boolean;
  /** Stops and restarts the client's read loop (lib/client.js). */
  pause(): void;
};

/** aedes's connectTimeout when `connectTimeoutMs` is not given. */
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

export interface MqttBrokerOptions {
  logger: Logger;
  /** Decides about each connection's first bytes and its CONNECT. */
  front: MqttFront;
  /** A connection that has not sent a whole CONNECT by then is closed (`mqtt.idle_timeout`). */
  connectTimeoutMs?: number;
  authz: () => AuthorizationService;
  /** `authorization.deny_action` (§8.2); `ignore` when absent. */
  denyAction?: () => DenyAction;
  maxPacketSize?: number;
  maxClientIdLength?: number;
  maxTopicLevels?: number;
  sessionExpiryLimitSeconds?: number;
  /** Bounds each subscriber's outbound data (`tcp_options.high_watermark`, `mqtt.max_mqueue_len`). */
  outbound?: OutboundOptions;
}

export class MqttBroker {
  private readonly expiryTimers = new Map<Client, NodeJS.Timeout>();
  /**
   * The request authorization is asked with, refilled for each publish and subscribe so the
   * synchronous path allocates none (the service copies it if it answers later).
   */
  private readonly request: AuthzRequest = { action: 'publish', topic: '', qos: 0, retain: false };
  private readonly protocolErrors = new Map<string, number>();

  /** The client parsers' `parse` for their first bytes (see firstParseWith). */
  private readonly firstParse: ParseFn;
  /** Slow consumers' bounds and counters (src/broker/outbound.ts). */
  readonly outbound: Outbound | undefined;

  private constructor(readonly aedes: Aedes, private readonly opts: MqttBrokerOptions) {
    this.firstParse = firstParseWith(opts.front);
    this.outbound = opts.outbound && new Outbound(opts.outbound);
  }

  static async create(opts: MqttBrokerOptions): Promise<MqttBroker> {
    let self: MqttBroker | undefined;
    const options: AedesOptions = {
      connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxClientsIdLength: opts.maxClientIdLength ?? 65535,
      maxTopicLevels: opts.maxTopicLevels ?? 100,
      maximumPacketSize: opts.maxPacketSize ?? 0,
      sessionExpiryIntervalLimit: opts.sessionExpiryLimitSeconds ?? 0,
      persistence: new GatehousePersistence(), // retained messages indexed by topic (persistence.ts)
      // Stuck subscribers are closed by the listener's send_timeout (outbound.ts), not by aedes's drain timer.
      ...(opts.outbound ? { drainTimeout: 2 ** 31 - 1 } : {}),
      preConnect: (client, packet, done) => self!.onPreConnect(client as GatehouseClient, packet, done),
      authenticate: (client, _u, _p, done) => self!.onAuthenticate(client as GatehouseClient, done),
      authorizePublish: (client, packet, done) => self!.onPublish(client as GatehouseClient | null, packet, done),
      authorizeSubscribe: (client, sub, done) => self!.onSubscribe(client as GatehouseClient, sub, done),
      authorizeForward: (client, packet) => {
        const mp = (client as GatehouseClient)[SESSION]?.mountpoint;
        if (!mp) return packet;
        if (!packet.topic.startsWith(mp)) return null;
        return Object.assign(Object.create(Object.getPrototypeOf(packet) as object) as typeof packet, packet, {
          topic: packet.topic.slice(mp.length),
        });
      },
    };
    const aedes = await Aedes.createBroker(options);
    self = new MqttBroker(aedes, opts);
    aedes.on('clientReady', (client) => self!.onReady(client as GatehouseClient));
    aedes.on('clientDisconnect', (client) => self!.clearExpiry(client));
    aedes.on('connectionError', (client, err) => self!.onConnectionError(client as GatehouseClient, err));
    aedes.on('clientError', (client, err) => self!.onClientError(client as GatehouseClient, err));
    return self;
  }

  /**
   * The MQTT listeners' connection handler: aedes's reader takes the stream at once
   * (one read loop, no hand-over). The front sees the first bytes before the parser
   * does, through a one-time wrapper of the client's `parse`; aedes is pinned
   * (2.0.0-beta.1), and should that internal ever be missing the parser's own errors
   * still refuse malformed input. On plain tcp listeners with `proxy_protocol` the same
   * first read hands the Proxy Protocol header to `meta.proxyHeader` (`readsProxyHeader`),
   * so the listener does not read ahead of aedes.
   */
  attach: ConnectionHandler = Object.assign(
    (stream: Duplex, meta: ConnectionMeta): void => {
      const client = this.aedes.handle(stream) as unknown as GatehouseClient;
      client[META] = meta;
      const parser = client._parser;
      if (parser && typeof parser.parse === 'function' && parser.client === client) parser.parse = this.firstParse;
      // Without the parser hook nothing would read a pending Proxy Protocol header.
      else if (meta.proxyHeader) stream.destroy();
    },
    { readsProxyHeader: true, connectTimeoutMs: () => this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS },
  );

  /** What authentication left on a connected client's session (superuser flag, ACL, attributes). */
  session(clientId: string): ClientSession | undefined {
    const client = (this.aedes as unknown as { clients: Record<string, GatehouseClient | undefined> }).clients[clientId];
    return client?.[SESSION];
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Publishes from inside the node (STOMP gateway, API): already authorized and mounted. */
  publish(packet: PublishPacket): Promise<void> {
    return new Promise((resolve, reject) => this.aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  /** Disconnects every client cleanly (MQTT 5: DISCONNECT 0x8B) and stops aedes. */
  close(): Promise<void> {
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    this.expiryTimers.clear();
    return new Promise((resolve) => this.aedes.close(() => resolve()));
  }

  /**
   * aedes's preConnect hook, called with the CONNECT its reader parsed: the front
   * decides. Reading stops while a chain runs, so nothing the client sends after its
   * CONNECT is handled before the decision; aedes resumes it after the CONNACK.
   */
  private onPreConnect(client: GatehouseClient, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void {
    const meta = client[META];
    if (!meta) {
      // Only Gatehouse's listeners hand connections over; anything else is refused.
      done(new Error('connection did not come through a listener'), false);
      return;
    }
    let decided = false;
    const request: ConnectRequest = {
      protocolVersion: packet.protocolVersion ?? 4,
      clientId: packet.clientId,
      username: packet.username,
      password: packet.password,
    };
    const props = packet.properties;
    if (props) {
      request.authenticationMethod = props.authenticationMethod;
      request.authenticationData = props.authenticationData;
    }
    if (packet.will) {
      request.willTopic = packet.will.topic;
      const responseTopic = packet.will.properties?.responseTopic;
      if (responseTopic !== undefined) request.willResponseTopic = responseTopic;
    }
    this.opts.front.connect(client.conn as Duplex, meta, request, (outcome) => {
      decided = true;
      if (!outcome) {
        // Refused: the front has answered with a CONNACK and closes the connection.
        client[REFUSED] = true;
        client.pause();
        return;
      }
      if (client.closed) return;
      if (outcome.username !== undefined) packet.username = outcome.username;
      if (outcome.clientId !== undefined) packet.clientId = outcome.clientId;
      client[SESSION] = outcome.session;
      done(null, true);
    });
    // A chain still running: nothing the client sent after its CONNECT is read until it decides.
    if (!decided) client.pause();
  }

  private onAuthenticate(client: GatehouseClient, done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void): void {
    const session = client[SESSION];
    if (!session) {
      done(Object.assign(new Error('not authorized'), { returnCode: 5 }), false);
      return;
    }
    session.authz.clientid = client.id;
    done(null, true);
  }

  /** aedes gave up on a connection before it was accepted: a parse error, a timeout, a socket error. */
  private onConnectionError(client: GatehouseClient, err: Error & { code?: string }): void {
    const meta = client[META];
    if (!meta || client[REFUSED] || client[SESSION]) {
      this.opts.logger.debug({ clientid: client.id, err: err.message }, 'connection error');
      return;
    }
    client[REFUSED] = true;
    if (meta.proxyHeader) {
      // Still waiting for the Proxy Protocol header (idle_timeout shorter than
      // proxy_protocol_timeout): its reader logs and counts the refusal when the socket closes.
      this.opts.logger.debug({ listener: meta.listenerId, err: err.message }, 'connection closed before its Proxy Protocol header');
      return;
    }
    if (err.code !== undefined) {
      // The socket failed (a reset, a timeout of the transport): nothing to refuse.
      this.opts.logger.debug({ listener: meta.listenerId, err: err.message }, 'connection closed before CONNECT');
      return;
    }
    this.opts.front.failed(meta, connectFailure(err.message));
  }

  /**
   * aedes closed an accepted client on an error. A packet that broke the protocol (the
   * parser's Malformed Packet / Protocol Error, a bad topic, a queue overflow) is logged once
   * and counted per listener; a failing socket is only worth a debug line.
   */
  private onClientError(client: GatehouseClient, err: Error & { code?: string; reasonCode?: number }): void {
    const meta = client[META];
    if (!meta || typeof err.code === 'string') {
      this.opts.logger.debug({ clientid: client.id, err: err.message }, 'client connection error');
      return;
    }
    this.protocolErrors.set(meta.listenerId, (this.protocolErrors.get(meta.listenerId) ?? 0) + 1);
    this.opts.logger.info(
      {
        listener: meta.listenerId,
        peer: `${meta.peerhost}:${meta.peerport}`,
        clientid: client.id,
        reason: err.message,
        ...(err.reasonCode !== undefined && client.version === 5 ? { reason_code: err.reasonCode } : {}),
      },
      'client disconnected: protocol error',
    );
  }

  /** Clients closed for breaking the protocol after CONNACK, per listener. */
  *protocolErrorCounts(): Generator<{ listener: string; count: number }> {
    for (const [listener, count] of this.protocolErrors) yield { listener, count };
  }

  private onReady(client: GatehouseClient): void {
    const expireAt = client[SESSION]?.decision.expireAt;
    if (expireAt === undefined) return;
    const delay = Math.max(0, expireAt - Date.now());
    const timer = setTimeout(() => {
      this.expiryTimers.delete(client);
      this.opts.logger.info({ clientid: client.id }, 'authentication expired: disconnecting');
      client.close();
    }, Math.min(delay, 2 ** 31 - 1));
    timer.unref();
    this.expiryTimers.set(client, timer);
  }

  private clearExpiry(client: Client): void {
    const t = this.expiryTimers.get(client);
    if (t) {
      clearTimeout(t);
      this.expiryTimers.delete(client);
    }
  }

  private onPublish(client: GatehouseClient | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const session = client?.[SESSION];
    if (!client || !session) {
      // Wills restored from persistence after a restart have no live session.
      if (packet.topic.startsWith('$SYS/')) done(new Error('$SYS/ topics are reserved'));
      else done(null);
      return;
    }
    const request = this.request;
    request.action = 'publish';
    request.topic = packet.topic;
    request.qos = packet.qos;
    request.retain = packet.retain;
    const decision = this.opts.authz().authorize(session.authz, request);
    if (decision instanceof Promise) {
      decision.then(
        (d) => this.published(client, session, packet, d, done),
        () => this.published(client, session, packet, AUTHZ_FAILED, done),
      );
    } else {
      this.published(client, session, packet, decision, done);
    }
  }

  private published(client: GatehouseClient, session: ClientSession, packet: PublishPacket, decision: AuthzDecision, done: (err?: Error | null) => void): void {
    if (decision.result === 'allow') {
      if (session.mountpoint) packet.topic = session.mountpoint + packet.topic;
      done(null);
      return;
    }
    this.logDenied(session, 'publish', packet.topic, decision);
    const err = notAuthorized(`not authorized to publish to ${packet.topic}`);
    // A will (its client is gone) or a publish of a closing client: simply not published.
    if (client.closed) {
      done(err);
      return;
    }
    const flagged = packet as PublishPacket & { _notAuthorized?: boolean };
    if (this.denyAction() === 'disconnect') {
      // §8.2: MQTT 5 gets DISCONNECT 0x87; MQTT 3.1.1 has none, aedes closes on the error.
      if (client.version !== 5) {
        done(err);
        return;
      }
      flagged._notAuthorized = true;
      client.disconnect({ reasonCode: NOT_AUTHORIZED }, noop);
      done(null);
      return;
    }
    if (client.version === 5) {
      // aedes answers QoS 1/2 with PUBACK/PUBREC 0x87 and drops QoS 0 (lib/handlers/publish.js).
      done(err);
    } else {
      // MQTT 3.1.1 acks carry no reason code: the publish is acknowledged as usual and dropped
      // (the aedes patch's enqueuePublish hunk).
      flagged._notAuthorized = true;
      done(null);
    }
  }

  private onSubscribe(client: GatehouseClient, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const session = client[SESSION];
    if (!session) {
      done(new Error('no session'));
      return;
    }
    // Before aedes takes the client's delivery functions for this subscription.
    this.outbound?.watch(client as unknown as DeliveringClient, session.meta.listenerId);
    const request = this.request;
    request.action = 'subscribe';
    request.topic = sub.topic;
    request.qos = sub.qos;
    request.retain = false;
    const decision = this.opts.authz().authorize(session.authz, request);
    if (decision instanceof Promise) {
      decision.then(
        (d) => this.subscribed(client, session, sub, d, done),
        () => this.subscribed(client, session, sub, AUTHZ_FAILED, done),
      );
    } else {
      this.subscribed(client, session, sub, decision, done);
    }
  }

  private subscribed(
    client: GatehouseClient,
    session: ClientSession,
    sub: Subscription,
    decision: AuthzDecision,
    done: (err: Error | null, sub?: Subscription | null) => void,
  ): void {
    if (decision.result === 'allow') {
      if (session.mountpoint) sub.topic = mountFilter(session.mountpoint, sub.topic);
      done(null, sub);
      return;
    }
    this.logDenied(session, 'subscribe', sub.topic, decision);
    if (this.denyAction() === 'disconnect' && !client.closed) {
      // §8.2: MQTT 5 gets DISCONNECT 0x87; MQTT 3.1.1 is closed (aedes closes on the error).
      if (client.version !== 5) {
        done(notAuthorized(`not authorized to subscribe to ${sub.topic}`));
        return;
      }
      client.disconnect({ reasonCode: NOT_AUTHORIZED }, noop);
    }
    // SUBACK 0x87 (MQTT 5) / 0x80 (3.1.1) for this filter; the others go on (aedes subscribe.js).
    done(null, null);
  }

  private denyAction(): DenyAction {
    return this.opts.denyAction?.() ?? 'ignore';
  }

  private logDenied(session: ClientSession, action: AuthzAction, topic: string, decision: AuthzDecision): void {
    this.opts.logger.info(
      {
        listener: session.meta.listenerId,
        clientid: session.authz.clientid,
        username: session.authz.username,
        action,
        topic,
        from: decision.from,
        rule: decision.rule,
        reason: decision.reason,
      },
      'authorization denied',
    );
  }
}

/** MQTT 5 reason code 0x87 Not authorized. */
const NOT_AUTHORIZED = 0x87;

/** What a service that failed (a rejected promise) amounts to: a denial (fail closed). */
const AUTHZ_FAILED: AuthzDecision = Object.freeze({ result: 'deny', from: 'error', reason: 'authorization failed' });

function noop(): void {}

/**
 * An authorization refusal handed to aedes: its string `code` keeps it out of the protocol
 * error count (onClientError), the denial is logged once by logDenied.
 */
function notAuthorized(message: string): Error {
  return Object.assign(new Error(message), { code: 'NOT_AUTHORIZED' });
}

/** Words aedes's reasons for dropping a connection before its CONNECT as the front's refusals. */
function connectFailure(message: string): string {
  if (message === 'connect did not arrive in time') return 'no CONNECT within idle_timeout';
  if (message === 'Invalid protocol') return 'first packet is not CONNECT';
  return `malformed CONNECT: ${message}`;
}

/**
 * Runs as the client parser's `parse` on the first bytes read, until the front has
 * decided: puts the parser's own `parse` (its prototype's) back, shows the front the
 * bytes, and parses them once it passes them (at once for a CONNECT read whole).
 */
function firstParseWith(front: MqttFront): ParseFn {
  return function firstParse(this: ClientParser & { client?: GatehouseClient }, bytes: Buffer): unknown {
    const parse = (Object.getPrototypeOf(this) as ClientParser).parse;
    this.parse = parse;
    const client = this.client!;
    const meta = client[META]!;
    let buf = bytes;
    const header = meta.proxyHeader;
    if (header) {
      // A Proxy Protocol header comes first; the CONNECT checks start after it.
      const rest = header.take(bytes);
      if (header.refused) {
        client[REFUSED] = true;
        client.pause();
        return undefined;
      }
      if (rest === undefined || rest.length === 0) {
        this.parse = firstParse;
        return undefined;
      }
      buf = rest;
    }
    const held = client[HELD];
    if (held) {
      buf = Buffer.concat([held, buf]);
      client[HELD] = undefined;
    }
    const verdict = front.firstBytes(client.conn as Duplex, meta, buf);
    if (verdict === 'pass') return parse.call(this, buf);
    if (verdict === 'more') {
      // Too few bytes to tell (a CONNECT cut before its protocol level, say): the parser sees
      // none of them until the front has decided, so every cut gets the same answer.
      client[HELD] = buf;
      this.parse = firstParse;
      return undefined;
    }
    client[REFUSED] = true;
    client.pause();
    return undefined;
  };
}

/** A mountpoint goes after a shared-subscription prefix: `$share/g/t` → `$share/g/<mp>t`. */
export function mountFilter(mountpoint: string, filter: string): string {
  if (filter.startsWith('$share/')) {
    const slash = filter.indexOf('/', 7);
    if (slash > 0) return filter.slice(0, slash + 1) + mountpoint + filter.slice(slash + 1);
  }
  if (filter.startsWith('$queue/')) return '$queue/' + mountpoint + filter.slice(7);
  return mountpoint + filter;
}
