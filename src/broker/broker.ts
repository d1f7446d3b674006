import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type Client, type Subscription, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { allowAllButSys, type AuthorizationService, type AuthzDecision, type AuthzRequest } from '../authz/types.js';
import type { ClientSession } from './session.js';

/**
 * The one file that knows aedes's hook shapes. aedes owns sessions, QoS, retained
 * messages and wills; Gatehouse decides who gets in (the front) and what they may
 * do (authorization), and applies listener mountpoints.
 */

const SESSION = Symbol('gatehouse.session');

/** The two fields of aedes's client read loop (lib/client.js nextBatch) the hand-over feeds. */
interface ClientReadLoop {
  _parsingBatch: number;
  _parser: { parse(buf: Buffer): void };
}
type ClientWithSession = Client & { [SESSION]?: ClientSession };

export interface MqttBrokerOptions {
  logger: Logger;
  authz: () => AuthorizationService;
  maxPacketSize?: number;
  maxClientIdLength?: number;
  maxTopicLevels?: number;
  sessionExpiryLimitSeconds?: number;
}

export class MqttBroker {
  /** Connections whose CONNECT the front accepted, waiting for aedes's authenticate hook. */
  private readonly pending = new WeakMap<Duplex, ClientSession>();
  private readonly expiryTimers = new Map<Client, NodeJS.Timeout>();

  private constructor(readonly aedes: Aedes, private readonly opts: MqttBrokerOptions) {}

  static async create(opts: MqttBrokerOptions): Promise<MqttBroker> {
    let self: MqttBroker | undefined;
    const options: AedesOptions = {
      connectTimeout: 30_000,
      maxClientsIdLength: opts.maxClientIdLength ?? 65535,
      maxTopicLevels: opts.maxTopicLevels ?? 100,
      maximumPacketSize: opts.maxPacketSize ?? 0,
      sessionExpiryIntervalLimit: opts.sessionExpiryLimitSeconds ?? 0,
      authenticate: (client, _u, _p, done) => self!.onAuthenticate(client as ClientWithSession, done),
      authorizePublish: (client, packet, done) => self!.onPublish(client as ClientWithSession | null, packet, done),
      authorizeSubscribe: (client, sub, done) => self!.onSubscribe(client as ClientWithSession, sub, done),
      authorizeForward: (client, packet) => {
        const mp = (client as ClientWithSession)[SESSION]?.mountpoint;
        if (!mp) return packet;
        if (!packet.topic.startsWith(mp)) return null;
        return Object.assign(Object.create(Object.getPrototypeOf(packet) as object) as typeof packet, packet, {
          topic: packet.topic.slice(mp.length),
        });
      },
    };
    const aedes = await Aedes.createBroker(options);
    self = new MqttBroker(aedes, opts);
    aedes.on('clientReady', (client) => self!.onReady(client as ClientWithSession));
    aedes.on('clientDisconnect', (client) => self!.clearExpiry(client));
    aedes.on('connectionError', (client, err) => {
      opts.logger.debug({ clientid: client?.id, err: err.message }, 'connection error');
    });
    return self;
  }

  /**
   * Called by the front with the bytes it has read (the CONNECT, and whatever followed).
   * They go straight to the new client's parser, exactly as aedes's own read loop would
   * pass its first read (batch counter at zero, one parse call), which saves putting them
   * back into the stream and a second 'readable' round. aedes is pinned (2.0.0-beta.1);
   * should those internals ever be missing, the bytes are put back into the stream instead.
   */
  handOver = (stream: Duplex, session: ClientSession, firstBytes: Buffer): void => {
    this.pending.set(stream, session);
    const client = this.aedes.handle(stream) as unknown as Partial<ClientReadLoop>;
    if (typeof client._parsingBatch === 'number' && typeof client._parser?.parse === 'function') {
      client._parsingBatch = 0;
      client._parser.parse(firstBytes);
    } else {
      stream.unshift(firstBytes);
    }
  };

  /** What authentication left on a connected client's session (superuser flag, ACL, attributes). */
  session(clientId: string): ClientSession | undefined {
    const client = (this.aedes as unknown as { clients: Record<string, ClientWithSession | undefined> }).clients[clientId];
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

  private onAuthenticate(client: ClientWithSession, done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void): void {
    const session = this.pending.get(client.conn as Duplex);
    if (!session) {
      // Only the front hands connections over; anything else is refused.
      done(Object.assign(new Error('not authorized'), { returnCode: 5 }), false);
      return;
    }
    this.pending.delete(client.conn as Duplex);
    client[SESSION] = session;
    session.authz.clientid = client.id;
    done(null, true);
  }

  private onReady(client: ClientWithSession): void {
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

  private onPublish(client: ClientWithSession | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const session = client?.[SESSION];
    if (!session) {
      // Wills restored from persistence after a restart have no live session.
      if (packet.topic.startsWith('$SYS/')) done(new Error('$SYS/ topics are reserved'));
      else done(null);
      return;
    }
    const authz = this.opts.authz();
    // Hot path while no authorization source is configured: aedes's own $SYS/ rule, no allocation.
    if (authz === allowAllButSys && !packet.topic.startsWith('$SYS/')) {
      if (session.mountpoint) packet.topic = session.mountpoint + packet.topic;
      done(null);
      return;
    }
    const request: AuthzRequest = { action: 'publish', topic: packet.topic, qos: packet.qos, retain: packet.retain };
    settle(authz.authorize(session.authz, request), (decision) => {
      if (decision.result === 'deny') {
        this.logDenied(session, request, decision);
        done(new Error(`not authorized to publish to ${request.topic}`));
        return;
      }
      if (session.mountpoint) packet.topic = session.mountpoint + packet.topic;
      done(null);
    });
  }

  private onSubscribe(client: ClientWithSession, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const session = client[SESSION];
    if (!session) {
      done(new Error('no session'));
      return;
    }
    const authz = this.opts.authz();
    if (authz === allowAllButSys) {
      if (session.mountpoint) sub.topic = mountFilter(session.mountpoint, sub.topic);
      done(null, sub);
      return;
    }
    const request: AuthzRequest = { action: 'subscribe', topic: sub.topic, qos: sub.qos, retain: false };
    settle(authz.authorize(session.authz, request), (decision) => {
      if (decision.result === 'deny') {
        this.logDenied(session, request, decision);
        done(null, null);
        return;
      }
      if (session.mountpoint) sub.topic = mountFilter(session.mountpoint, sub.topic);
      done(null, sub);
    });
  }

  private logDenied(session: ClientSession, request: AuthzRequest, decision: AuthzDecision): void {
    this.opts.logger.info(
      {
        listener: session.meta.listenerId,
        clientid: session.authz.clientid,
        username: session.authz.username,
        action: request.action,
        topic: request.topic,
        from: decision.from,
        reason: decision.reason,
      },
      'authorization denied',
    );
  }
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

/** Runs `then` synchronously for a plain value, so the usual allow path makes no promise. */
function settle(value: AuthzDecision | Promise<AuthzDecision>, then: (d: AuthzDecision) => void): void {
  if (value instanceof Promise) {
    value.then(then, () => then({ result: 'deny', from: 'error', reason: 'authorization failed' }));
  } else {
    then(value);
  }
}
