import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type Client, type ConnectPacket, type Subscription, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { ConnectionHandler, ConnectionMeta } from '../transport/types.js';
import type { AccessService, TopicVerdict } from '../access/service.js';
import type { DenyAction } from '../authz/types.js';
import { ClientSession } from '../access/session.js';
import type { AccessConnection, DisconnectReason, HeldSubscription, Refusal, Revocation } from '../access/connection.js';
import { mountFilter, unmountFilter } from '../access/mountpoint.js';
import type { ConnectRequest } from '../access/types.js';
import { MqttFront } from './front.js';
import { GatehousePersistence } from './persistence.js';
import { Outbound, type Deliver, type OutboundOptions, type Subscriber, type SubscriberBound } from './outbound.js';

/**
 * The aedes adapter: the one file that touches aedes's internals and hook shapes (README.md in
 * this folder lists each one). aedes owns sessions, QoS, retained messages and wills; the
 * access service (src/access) decides who gets in and what they may do; the front (front.ts)
 * answers in MQTT's own terms. Every aedes internal used is named here:
 *
 * - `client._parser.parse`, wrapped once per connection to show the front the first bytes;
 * - `client.pause()` (lib/client.js), to stop the read loop while a CONNECT is decided or refused;
 * - `client.conn.client`, which aedes sets, to find the client from its stream's 'close';
 * - `client.deliver0` / `client.deliverQoS`, replaced on a client's first SUBSCRIBE to bound
 *   its outbound data (outbound.ts decides, this file installs), and `client.close` (documented)
 *   wrapped then so that the writes the bound holds back for one turn leave before the close;
 * - `client._disconnected`, set before a ban disconnects the client, so its will is not published;
 * - `client.subscriptions` (lib/client.js: filter → `{ qos }`), read to re-check a client's
 *   subscriptions after a rule change; `client.unsubscribe` (documented) removes a revoked one;
 * - `aedes.clients`, the map of connected clients by id;
 * - the hooks `preConnect`, `authenticate`, `authorizePublish`, `authorizeSubscribe`,
 *   `authorizeForward` and the events `clientReady`, `connectionError`, `clientError`.
 */

/** The connection's Gatehouse state, set when the listener hands the stream over. */
const CONNECTION = Symbol('gatehouse.connection');
/** The client's outbound bound once its first SUBSCRIBE was seen: null when its listener sets none. */
const BOUND = Symbol('gatehouse.outbound');

type ParseFn = (buf: Buffer) => unknown;
/** aedes's per-client MQTT parser (lib/client.js): `parse` is what its read loop calls. */
interface ClientParser {
  parse: ParseFn;
}
type GatehouseClient = Client & {
  [CONNECTION]?: MqttConnection;
  [BOUND]?: SubscriberBound | null;
  _parser?: ClientParser & { client?: GatehouseClient };
  /** Stops and restarts the client's read loop (lib/client.js). */
  pause(): void;
  /** The delivery functions aedes calls for each message to this client (lib/client.js). */
  deliver0: Deliver;
  deliverQoS: Deliver;
  /** Set by a DISCONNECT from the client: the will is deleted, not published, on close (lib/client.js). */
  _disconnected: boolean;
  /** The client's subscriptions by (mounted) filter, as aedes keeps them (lib/client.js, handlers/subscribe.js). */
  subscriptions: Record<string, { qos: number } | undefined>;
};

/** What an `MqttConnection` needs from its broker to remove a revoked subscription. */
interface RevocationDeps {
  denyAction(): DenyAction;
  persistence: GatehousePersistence;
  logger: Logger;
}

/**
 * One MQTT connection as Gatehouse knows it: the transport's meta, what the front held back,
 * the CONNECT's protocol level, and once admitted the session. It is the access service's
 * handle on the connection (refuse, disconnect).
 */
class MqttConnection implements AccessConnection {
  session: ClientSession | undefined = undefined;
  /** Set once refused (by the front or the access service), so the close is not reported twice. */
  refused = false;
  /** The first bytes the front could not decide on yet (`more`), held back from the parser. */
  held: Buffer | undefined = undefined;
  /** The CONNECT's protocol level, once parsed (refusals answer in it). */
  version = 4;

  constructor(
    readonly client: GatehouseClient,
    readonly meta: ConnectionMeta,
    private readonly front: MqttFront,
    private readonly revocation: RevocationDeps,
  ) {}

  get closed(): boolean {
    return this.client.closed || this.client.conn.destroyed;
  }

  /** Refused: the front answers with its own CONNACK and closes; nothing more is read. */
  refuse(refusal: Refusal): number {
    this.refused = true;
    this.client.pause();
    return this.front.refuseConnect(this.client.conn as Duplex, this.version, refusal);
  }

  /**
   * MQTT 5: DISCONNECT with the reason's code, then close; 3.1/3.1.1: close [MQTT-3.14.0-1].
   * A banned client's will is not published (emqx5-auth.md §13.4): aedes then deletes it as
   * after a normal DISCONNECT (`_disconnected`, an internal).
   */
  disconnect(reason: DisconnectReason): void {
    if (reason === 'banned') this.client._disconnected = true;
    this.client.disconnect({ reasonCode: this.front.disconnectCode(reason) });
  }

  /** The client's subscriptions as it sent them: aedes's, with the mountpoint taken off. */
  subscriptions(): HeldSubscription[] {
    const mountpoint = this.session?.mountpoint ?? '';
    const held: HeldSubscription[] = [];
    for (const [mounted, sub] of Object.entries(this.client.subscriptions)) {
      const filter = unmountFilter(mountpoint, mounted);
      if (sub === undefined || filter === undefined) continue;
      held.push({ filter, qos: Math.min(2, Math.max(0, sub.qos)) as 0 | 1 | 2 });
    }
    return held;
  }

  /**
   * A subscription the rules no longer allow, answered as a SUBSCRIBE denied now:
   * `deny_action = disconnect` ends the connection (5.0 DISCONNECT 0x87, 3.1.1 a close, as for
   * a denied SUBSCRIBE); otherwise aedes removes it without a packet to the client, since MQTT
   * has no server-sent UNSUBSCRIBE (5.0 §3.10, §3.14): messages simply stop arriving. A
   * persistent session loses it from the persistence too, so it is not restored on reconnect.
   */
  revoke(filter: string): Revocation {
    const client = this.client;
    if (this.revocation.denyAction() === 'disconnect') {
      client.disconnect({ reasonCode: NOT_AUTHORIZED }, noop);
      return 'disconnected';
    }
    const mounted = mountFilter(this.session?.mountpoint ?? '', filter);
    // No messageId: aedes sends no UNSUBACK, and leaves the persistence to us.
    client.unsubscribe({ unsubscriptions: [mounted] } as unknown as Parameters<Client['unsubscribe']>[0], noop);
    if (!client.clean) {
      this.revocation.persistence.removeSubscriptions(client, [mounted]).catch((err: unknown) => {
        this.revocation.logger.warn({ clientid: client.id, filter, err: err instanceof Error ? err.message : String(err) }, 'revoked subscription not removed from the session store');
      });
    }
    return 'unsubscribed';
  }
}

/** aedes's connectTimeout when `connectTimeoutMs` is not given. */
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** EMQX's `mqtt.max_packet_size` default (1 MB): the front's bound when none is given. */
const DEFAULT_MAX_PACKET_SIZE = 1024 * 1024;

export interface MqttBrokerOptions {
  logger: Logger;
  /** The one access path: admission, authentication, mountpoints, authorization, expiry. */
  access: AccessService;
  /** A connection that has not sent a whole CONNECT by then is closed (`mqtt.idle_timeout`). */
  connectTimeoutMs?: number;
  maxPacketSize?: number;
  maxClientIdLength?: number;
  maxTopicLevels?: number;
  sessionExpiryLimitSeconds?: number;
  /** Bounds each subscriber's outbound data (`tcp_options.high_watermark`, `mqtt.max_mqueue_len`). */
  outbound?: OutboundOptions;
  /** `authorization.deny_action` (§8.2), read per denial; `ignore` when absent. */
  denyAction?: () => DenyAction;
}

export class MqttBroker {
  private readonly protocolErrors = new Map<string, number>();

  /** The MQTT front: first bytes, will topics, CONNACK and DISCONNECT codes. */
  private readonly front: MqttFront;
  /** The client parsers' `parse` for their first bytes (see firstParseWith). */
  private readonly firstParse: ParseFn;
  /** Slow consumers' bounds and counters (src/broker/outbound.ts). */
  readonly outbound: Outbound | undefined;
  /** A connected client's stream closed: the access service forgets it (one function for every stream). */
  private readonly onStreamClose: (this: Duplex & { client?: GatehouseClient }) => void;

  /** What each connection needs to remove a revoked subscription. */
  private readonly revocation: RevocationDeps;

  private constructor(
    readonly aedes: Aedes,
    private readonly opts: MqttBrokerOptions,
    persistence: GatehousePersistence,
  ) {
    this.revocation = { denyAction: () => this.denyAction(), persistence, logger: opts.logger };
    this.front = new MqttFront({ access: opts.access, maxPacketSize: opts.maxPacketSize || DEFAULT_MAX_PACKET_SIZE });
    this.firstParse = firstParseWith(this.front);
    this.outbound = opts.outbound && new Outbound(opts.outbound);
    const access = opts.access;
    this.onStreamClose = function onStreamClose() {
      const session = this.client?.[CONNECTION]?.session;
      if (session) access.disconnected(session);
    };
  }

  static async create(opts: MqttBrokerOptions): Promise<MqttBroker> {
    let self: MqttBroker | undefined;
    const persistence = new GatehousePersistence();
    const options: AedesOptions = {
      connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxClientsIdLength: opts.maxClientIdLength ?? 65535,
      maxTopicLevels: opts.maxTopicLevels ?? 100,
      maximumPacketSize: opts.maxPacketSize ?? 0,
      sessionExpiryIntervalLimit: opts.sessionExpiryLimitSeconds ?? 0,
      persistence, // retained messages indexed by topic (persistence.ts)
      // Stuck subscribers are closed by the listener's send_timeout (outbound.ts), not by aedes's drain timer.
      ...(opts.outbound ? { drainTimeout: 2 ** 31 - 1 } : {}),
      preConnect: (client, packet, done) => self!.onPreConnect(client as GatehouseClient, packet, done),
      authenticate: (client, _u, _p, done) => self!.onAuthenticate(client as GatehouseClient, done),
      authorizePublish: (client, packet, done) => self!.onPublish(client as GatehouseClient | null, packet, done),
      authorizeSubscribe: (client, sub, done) => self!.onSubscribe(client as GatehouseClient, sub, done),
      authorizeForward: (client, packet) => {
        const mp = (client as GatehouseClient)[CONNECTION]?.session?.mountpoint;
        if (!mp) return packet;
        if (!packet.topic.startsWith(mp)) return null;
        return Object.assign(Object.create(Object.getPrototypeOf(packet) as object) as typeof packet, packet, {
          topic: packet.topic.slice(mp.length),
        });
      },
    };
    const aedes = await Aedes.createBroker(options);
    self = new MqttBroker(aedes, opts, persistence);
    aedes.on('clientReady', (client) => self!.onReady(client as GatehouseClient));
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
      client[CONNECTION] = new MqttConnection(client, meta, this.front, this.revocation);
      const parser = client._parser;
      if (parser && typeof parser.parse === 'function' && parser.client === client) parser.parse = this.firstParse;
      // Without the parser hook nothing would read a pending Proxy Protocol header.
      else if (meta.proxyHeader) stream.destroy();
    },
    { readsProxyHeader: true, connectTimeoutMs: () => this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS },
  );

  /** What the access service decided about a connected client (superuser flag, ACL, attributes). */
  session(clientId: string): ClientSession | undefined {
    const client = (this.aedes as unknown as { clients: Record<string, GatehouseClient | undefined> }).clients[clientId];
    return client?.[CONNECTION]?.session;
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Publishes from inside the node (STOMP gateway, API): already authorized and mounted. */
  publish(packet: PublishPacket): Promise<void> {
    return new Promise((resolve, reject) => this.aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  /** Subscribes a delivery function inside the node (STOMP gateway) to an already authorized, mounted filter. */
  subscribe(filter: string, deliver: (packet: PublishPacket, done: () => void) => void): Promise<void> {
    return new Promise((resolve, reject) => this.aedes.subscribe(filter, deliver, (err?: unknown) => (err ? reject(toError(err)) : resolve())));
  }

  /** Removes what `subscribe` added; `deliver` must be the same function. */
  unsubscribe(filter: string, deliver: (packet: PublishPacket, done: () => void) => void): Promise<void> {
    return new Promise((resolve, reject) => this.aedes.unsubscribe(filter, deliver, (err?: unknown) => (err ? reject(toError(err)) : resolve())));
  }

  /** Disconnects every client cleanly (MQTT 5: DISCONNECT 0x8B) and stops aedes. */
  close(): Promise<void> {
    return new Promise((resolve) => this.aedes.close(() => resolve()));
  }

  /**
   * aedes's preConnect hook, called with the CONNECT its reader parsed: the front checks the
   * will, the access service decides. Reading stops while a chain runs, so nothing the client
   * sent after its CONNECT is handled before the decision; aedes resumes it after the CONNACK.
   * A refusal never calls `done`: the front has answered with its own CONNACK and closes.
   */
  private onPreConnect(client: GatehouseClient, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void {
    const connection = client[CONNECTION];
    if (!connection) {
      // Only Gatehouse's listeners hand connections over; anything else is refused.
      done(new Error('connection did not come through a listener'), false);
      return;
    }
    const version = packet.protocolVersion ?? 4;
    connection.version = version;
    const meta = connection.meta;
    const will = packet.will;
    if (will) {
      const topics = { topic: will.topic, responseTopic: will.properties?.responseTopic };
      if (this.front.refuseWill(client.conn as Duplex, meta, version, packet.clientId, packet.username, topics)) {
        connection.refused = true;
        client.pause();
        return;
      }
    }
    const request: ConnectRequest = { clientid: packet.clientId, username: packet.username, password: packet.password };
    const props = packet.properties;
    if (props) {
      request.authMethod = props.authenticationMethod;
      request.authData = props.authenticationData;
    }
    const admission = this.opts.access.admit(connection, meta, request);
    if (admission instanceof Promise) {
      // A chain still running: nothing the client sent after its CONNECT is read until it decides.
      client.pause();
      void admission.then((outcome) => admitted(client, packet, outcome, done));
    } else {
      admitted(client, packet, admission, done);
    }
  }

  private onAuthenticate(client: GatehouseClient, done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void): void {
    const session = client[CONNECTION]?.session;
    if (!session) {
      done(Object.assign(new Error('not authorized'), { returnCode: 5 }), false);
      return;
    }
    // aedes has assigned an id to an empty client id by now [MQTT-3.1.3-6].
    session.authz.clientid = client.id;
    done(null, true);
  }

  /** aedes gave up on a connection before it was accepted: a parse error, a timeout, a socket error. */
  private onConnectionError(client: GatehouseClient, err: Error & { code?: string }): void {
    const connection = client[CONNECTION];
    if (!connection || connection.refused || connection.session) {
      this.opts.logger.debug({ clientid: client.id, err: err.message }, 'connection error');
      return;
    }
    connection.refused = true;
    const meta = connection.meta;
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
    this.front.failed(meta, connectFailure(err.message));
  }

  /**
   * aedes closed an accepted client on an error. A packet that broke the protocol (the
   * parser's Malformed Packet / Protocol Error, a bad topic, a queue overflow) is logged once
   * and counted per listener; a failing socket is only worth a debug line.
   */
  private onClientError(client: GatehouseClient, err: Error & { code?: string; reasonCode?: number }): void {
    const meta = client[CONNECTION]?.meta;
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

  /**
   * CONNACK sent: the access service arms the client's expiry and may disconnect it from now
   * on; the stream's close tells it the client is gone (aedes's 'clientDisconnect' is not
   * emitted for a client a takeover unregistered while it was closing).
   */
  private onReady(client: GatehouseClient): void {
    const session = client[CONNECTION]?.session;
    if (!session || client.closed || client.conn.destroyed) return;
    this.opts.access.connected(session);
    // `on`, not `once`: a stream closes once, and `once` would wrap the listener per connection.
    client.conn.on('close', this.onStreamClose);
  }

  private onPublish(client: GatehouseClient | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const session = client?.[CONNECTION]?.session;
    if (!session) {
      // Wills restored from persistence after a restart have no live session.
      if (packet.topic.startsWith('$SYS/')) done(new Error('$SYS/ topics are reserved'));
      else done(null);
      return;
    }
    const verdict = this.opts.access.authorize(session, 'publish', packet.topic, packet.qos, packet.retain);
    if (verdict instanceof Promise) void verdict.then((v) => this.published(client!, packet, v, done));
    else this.published(client!, packet, verdict, done);
  }

  /**
   * §8.2 on a publish: allowed, the topic gets the mountpoint. Denied (the access service has
   * logged it): MQTT 5 QoS 1/2 get PUBACK/PUBREC 0x87 and QoS 0 is dropped (aedes's publish
   * handler on an error); 3.1.1 acks carry no reason code, so the publish is acknowledged as
   * usual and dropped (the aedes patch's enqueuePublish hunk); `deny_action = disconnect` ends
   * the connection (DISCONNECT 0x87 on 5.0, a close on 3.1.1). A will (its client is gone) is
   * simply not published.
   */
  private published(client: GatehouseClient, packet: PublishPacket, verdict: TopicVerdict, done: (err?: Error | null) => void): void {
    if (typeof verdict === 'string') {
      packet.topic = verdict;
      done(null);
      return;
    }
    const err = notAuthorized(`not authorized to publish to ${packet.topic}`);
    if (client.closed) {
      done(err);
      return;
    }
    const flagged = packet as PublishPacket & { _notAuthorized?: boolean };
    if (this.denyAction() === 'disconnect') {
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
      done(err);
    } else {
      flagged._notAuthorized = true;
      done(null);
    }
  }

  private onSubscribe(client: GatehouseClient, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const session = client[CONNECTION]?.session;
    if (!session) {
      done(new Error('no session'));
      return;
    }
    // Before aedes takes the client's delivery functions for this subscription.
    if (this.outbound && client[BOUND] === undefined) this.bound(client, session.meta.listenerId, this.outbound);
    const verdict = this.opts.access.authorize(session, 'subscribe', sub.topic, sub.qos, false);
    if (verdict instanceof Promise) void verdict.then((v) => this.subscribed(client, sub, v, done));
    else this.subscribed(client, sub, verdict, done);
  }

  /**
   * §8.2 on a subscription: allowed, the filter gets the mountpoint. Denied: SUBACK 0x87 (5.0) /
   * 0x80 (3.1.1) for this filter while the others go on (aedes's subscribe handler on a null
   * subscription); `deny_action = disconnect` ends the connection (DISCONNECT 0x87 on 5.0, a
   * close on 3.1.1).
   */
  private subscribed(client: GatehouseClient, sub: Subscription, verdict: TopicVerdict, done: (err: Error | null, sub?: Subscription | null) => void): void {
    if (typeof verdict === 'string') {
      sub.topic = verdict;
      done(null, sub);
      return;
    }
    if (this.denyAction() === 'disconnect' && !client.closed) {
      if (client.version !== 5) {
        done(notAuthorized(`not authorized to subscribe to ${sub.topic}`));
        return;
      }
      client.disconnect({ reasonCode: NOT_AUTHORIZED }, noop);
    }
    done(null, null);
  }

  private denyAction(): DenyAction {
    return this.opts.denyAction?.() ?? 'ignore';
  }

  /**
   * Bounds a client's outbound data from its first SUBSCRIBE on (outbound.ts): its delivery
   * functions go through the bound, which calls the originals.
   */
  private bound(client: GatehouseClient, listenerId: string, outbound: Outbound): void {
    const bound = outbound.bound(client as Subscriber, listenerId, client.deliver0, client.deliverQoS);
    client[BOUND] = bound;
    if (!bound) return;
    client.deliver0 = (packet, cb) => bound.deliver0(packet, cb);
    client.deliverQoS = (packet, cb) => bound.deliverQoS(packet, cb);
    // Every way aedes ends a connection (a DISCONNECT it sends, an error, the peer's close)
    // goes through close() before the stream is destroyed: what the bound holds back goes first.
    const close = client.close;
    client.close = function closeFlushed(this: GatehouseClient, done?: () => void): void {
      bound.flush();
      close.call(this, done);
    };
  }
}

/** The access service's answer to a CONNECT, back in aedes's terms. */
function admitted(client: GatehouseClient, packet: ConnectPacket, outcome: ClientSession | Refusal | undefined, done: (err: Error | null, ok: boolean) => void): void {
  // Refused (answered by the front) or gone while authentication ran: aedes hears nothing more.
  if (!(outcome instanceof ClientSession) || client.closed) return;
  // A certificate field, the username (use_username_as_clientid) may have replaced the ids.
  packet.clientId = outcome.authz.clientid;
  if (outcome.authz.username !== undefined) packet.username = outcome.authz.username;
  client[CONNECTION]!.session = outcome;
  done(null, true);
}

/** MQTT 5 reason code 0x87 Not authorized. */
const NOT_AUTHORIZED = 0x87;

function noop(): void {}

/**
 * An authorization refusal handed to aedes: its string `code` keeps it out of the protocol
 * error count (onClientError); the access service logged the denial once.
 */
function notAuthorized(message: string): Error {
  return Object.assign(new Error(message), { code: 'NOT_AUTHORIZED' });
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
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
    const connection = client[CONNECTION]!;
    const meta = connection.meta;
    let buf = bytes;
    const header = meta.proxyHeader;
    if (header) {
      // A Proxy Protocol header comes first; the CONNECT checks start after it.
      const rest = header.take(bytes);
      if (header.refused) {
        connection.refused = true;
        client.pause();
        return undefined;
      }
      if (rest === undefined || rest.length === 0) {
        this.parse = firstParse;
        return undefined;
      }
      buf = rest;
    }
    const held = connection.held;
    if (held) {
      buf = Buffer.concat([held, buf]);
      connection.held = undefined;
    }
    const verdict = front.firstBytes(client.conn as Duplex, meta, buf);
    if (verdict === 'pass') return parse.call(this, buf);
    if (verdict === 'more') {
      // Too few bytes to tell (a CONNECT cut before its protocol level, say): the parser sees
      // none of them until the front has decided, so every cut gets the same answer.
      connection.held = buf;
      this.parse = firstParse;
      return undefined;
    }
    connection.refused = true;
    client.pause();
    return undefined;
  };
}
