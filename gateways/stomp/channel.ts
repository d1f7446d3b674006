import type { Duplex } from 'node:stream';
import type { PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { ConnectionMeta } from '../../src/transport/types.js';
import type { AccessService } from '../../src/access/service.js';
import { ClientSession } from '../../src/access/session.js';
import type { AccessConnection, DisconnectReason, HeldSubscription, Refusal, Revocation } from '../../src/access/connection.js';
import type { ClientinfoTemplates } from '../../src/access/types.js';
import type { AuthzAction } from '../../src/authz/types.js';
import { hidesDollarTopics, topicFilterProblem, topicNameProblem } from './destination.js';
import {
  StompDecoder,
  StompFrameError,
  encodeFrame,
  header,
  isHeartbeat,
  negotiateVersion,
  type StompFrame,
  type StompFrameLimits,
  type StompItem,
  type StompVersion,
} from './frame.js';

/**
 * One STOMP connection (reference §12): CONNECT, then SEND / SUBSCRIBE / UNSUBSCRIBE / ACK /
 * NACK / BEGIN / COMMIT / ABORT / DISCONNECT against the broker's topics. Frames are handled
 * strictly in arrival order, one at a time, even when a step waits (admission, authorization,
 * the broker). Who gets in, the mountpoint, authorization and expiry are the access service's
 * (src/access); the channel keeps STOMP's own: frames, versions, heart-beats, ERROR answers.
 */

/** Called by the broker for each message matching a subscription; `done` lets it go on. */
export type StompDelivery = (packet: PublishPacket, done: () => void) => void;

/** What the channel needs from the broker: the MQTT topic space. */
export interface StompBus {
  /** Publishes an already authorized, mounted message. */
  publish(packet: PublishPacket): Promise<void>;
  subscribe(mountedFilter: string, deliver: StompDelivery): Promise<void>;
  /** Must be given the same `deliver` function that subscribed. */
  unsubscribe(mountedFilter: string, deliver: StompDelivery): Promise<void>;
}

export interface StompChannelSettings {
  limits: StompFrameLimits;
  /** A connection without a successful CONNECT by then is closed. */
  idleTimeoutMs: number;
  /** Mountpoint template: the listener's when set, else the gateway's. */
  mountpoint: string;
  /** `clientinfo_override` with the gateway's defaults filled in (§12.2). */
  clientinfo: ClientinfoTemplates;
}

export interface StompChannelDeps {
  logger: Logger;
  bus: StompBus;
  access: AccessService;
}

export type AckMode = 'auto' | 'client' | 'client-individual';
const ACK_MODES: ReadonlySet<string> = new Set(['auto', 'client', 'client-individual']);

interface Subscription {
  id: string;
  /** As the client sent it. */
  filter: string;
  mounted: string;
  ack: AckMode;
  deliver: StompDelivery;
}

/** A frame's effect, run at COMMIT; false when it closed the connection. */
type Action = () => Promise<boolean>;

interface Transaction {
  actions: Action[];
  bytes: number;
}

/** The decoder failed: the frames before the failure are handled first, then this. */
interface FrameFailure {
  failure: Error;
}

type QueueItem = StompItem | FrameFailure;

/** SEND headers that are not carried with the message (§12.4). */
const NOT_CARRIED: ReadonlySet<string> = new Set(['destination', 'content-length', 'transaction', 'receipt', 'content-type']);
/** MESSAGE headers the gateway sets; a carried header never replaces them (unlike EMQX). */
const PROTECTED: ReadonlySet<string> = new Set(['subscription', 'message-id', 'destination', 'content-type', 'content-length', 'ack']);

/** Bounds on what a connection may hold in open transactions. */
export const TRANSACTION_LIMITS = Object.freeze({ open: 64, frames: 1024, bytes: 8 * 1024 * 1024 });
/** Queued outgoing bytes above which QoS 0 deliveries to a slow reader are dropped. */
const OUTGOING_HIGH_WATER = 8 * 1024 * 1024;
/** Frames decoded but not yet handled above which reading pauses. */
const QUEUE_HIGH_WATER = 64;
const MAX_TIMER_MS = 2 ** 31 - 1;

type State = 'idle' | 'connecting' | 'connected' | 'closed';

export class StompChannel implements AccessConnection {
  private state: State = 'idle';
  private readonly decoder: StompDecoder;
  private version: StompVersion = '1.0';
  private readonly queue: QueueItem[] = [];
  private pumping = false;
  private paused = false;
  /** The access service's session, once admitted. */
  private session: ClientSession | undefined;
  private mountpoint = '';
  private readonly subscribed = new Map<string, Subscription>();
  private readonly transactions = new Map<string, Transaction>();
  private messageSeq = 0;
  private ackSeq = 0;
  private dropped = 0;
  private receivedSinceCheck = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private incomingTimer: NodeJS.Timeout | undefined;
  private outgoingTimer: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () => this.cleanUp();

  constructor(
    private readonly stream: Duplex,
    private readonly meta: ConnectionMeta,
    private readonly settings: StompChannelSettings,
    private readonly deps: StompChannelDeps,
  ) {
    this.decoder = new StompDecoder(settings.limits);
  }

  /** A getter, so checks after an await are not narrowed away by the compiler. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** The client id once admitted, for log lines. */
  private get clientid(): string | undefined {
    return this.session?.authz.clientid;
  }

  start(): void {
    this.stream.on('error', (err: Error) => this.deps.logger.debug({ listener: this.meta.listenerId, err: err.message }, 'stomp stream error'));
    this.stream.on('data', this.onData);
    this.stream.once('close', this.onClose);
    this.idleTimer = setTimeout(() => {
      if (this.state !== 'idle' && this.state !== 'connecting') return;
      // Logged and counted as every other refusal is (one line, `connection refused`).
      this.deps.access.refusedByFront(this.meta, 'no CONNECT within idle_timeout');
      this.close(undefined);
    }, Math.min(this.settings.idleTimeoutMs, MAX_TIMER_MS));
  }

  // ---- input ----------------------------------------------------------------------------

  private receive(bytes: Buffer): void {
    if (this.state === 'closed') return;
    let chunk = bytes;
    const proxyHeader = this.meta.proxyHeader;
    if (proxyHeader) {
      // The Proxy Protocol header comes first (plain tcp listener); frames start after it.
      const rest = proxyHeader.take(bytes);
      if (rest === undefined || rest.length === 0) return;
      chunk = rest;
    }
    this.receivedSinceCheck = true;
    try {
      this.queue.push(...this.decoder.push(chunk));
    } catch (err) {
      const failure = err instanceof Error ? err : new Error(String(err));
      if (err instanceof StompFrameError) this.queue.push(...err.precedingItems);
      this.queue.push({ failure });
      this.stream.off('data', this.onData);
    }
    if (this.queue.length > QUEUE_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.state !== 'closed') {
        const item = this.queue.shift() as QueueItem;
        if ('failure' in item) {
          this.frameFailure(item.failure);
        } else if (!isHeartbeat(item)) {
          await this.handle(item);
        }
      }
    } catch (err) {
      this.deps.logger.error({ listener: this.meta.listenerId, clientid: this.clientid, err: (err as Error).message }, 'stomp channel failed');
      this.fail('Internal error');
    } finally {
      this.pumping = false;
    }
    if (this.paused && this.state !== 'closed') {
      this.paused = false;
      this.stream.resume();
    }
  }

  private frameFailure(failure: Error): void {
    if (failure instanceof StompFrameError) {
      this.fail(`Frame error: ${failure.message}`);
    } else {
      this.deps.logger.error({ listener: this.meta.listenerId, err: failure.message }, 'stomp decoder failed');
      this.fail('Internal error');
    }
  }

  private async handle(frame: StompFrame): Promise<void> {
    if (this.state !== 'connected') {
      if (frame.command === 'CONNECT' || frame.command === 'STOMP') {
        await this.onConnect(frame);
      } else {
        this.fail(`Not connected: ${frame.command} before CONNECT`, header(frame, 'receipt'));
      }
      return;
    }
    switch (frame.command) {
      case 'CONNECT':
      case 'STOMP':
        this.fail('Unexpected CONNECT: already connected');
        return;
      case 'SEND':
        await this.onSend(frame);
        return;
      case 'SUBSCRIBE':
        await this.onSubscribe(frame);
        return;
      case 'UNSUBSCRIBE':
        await this.onUnsubscribe(frame);
        return;
      case 'ACK':
      case 'NACK':
        this.onAck(frame);
        return;
      case 'BEGIN':
        this.onBegin(frame);
        return;
      case 'COMMIT':
        await this.onCommit(frame);
        return;
      case 'ABORT':
        this.onAbort(frame);
        return;
      case 'DISCONNECT':
        this.onDisconnect(frame);
        return;
      default:
        // The decoder only yields client commands; anything else is a bug upstream.
        this.fail(`Unexpected frame ${frame.command}`);
    }
  }

  // ---- CONNECT --------------------------------------------------------------------------

  private async onConnect(frame: StompFrame): Promise<void> {
    this.state = 'connecting';
    const version = negotiateVersion(header(frame, 'accept-version'));
    if (version === undefined) {
      this.refuseLogin('Supported protocol versions < 1.2', 'unsupported protocol version');
      return;
    }
    // Frames sent before CONNECTED (a login ERROR) stay unescaped: the client does not know the version yet.
    this.decoder.setVersion(version);
    const beats = parseHeartBeat(header(frame, 'heart-beat'));
    if (beats === undefined) {
      this.refuseLogin('malformed heart-beat header', 'malformed heart-beat header');
      return;
    }
    // The username, password and client id come from the clientinfo_override templates over
    // the frame's headers (`${Packet.headers.<name>}`); a refusal comes back through `refuse`.
    const admission = await this.deps.access.admit(this, this.meta, {
      clientid: '',
      mountpoint: this.settings.mountpoint,
      clientinfo: { templates: this.settings.clientinfo, packet: (path) => (path.startsWith(HEADERS) ? header(frame, path.slice(HEADERS.length)) : undefined) },
    });
    if (!(admission instanceof ClientSession) || this.closed) return;
    this.session = admission;
    this.mountpoint = admission.mountpoint;
    this.state = 'connected';
    this.version = version;
    clearTimeout(this.idleTimer);
    const [cx, cy] = beats;
    this.send({ command: 'CONNECTED', headers: [['version', version], ['heart-beat', `${cy},${cx}`]], body: Buffer.alloc(0) });
    this.startHeartbeats(cx, cy);
    this.deps.access.connected(admission);
    this.deps.logger.debug({ listener: this.meta.listenerId, clientid: admission.authz.clientid, username: admission.authz.username, version }, 'stomp client connected');
  }

  /** A STOMP-level refusal before admission (version, heart-beat): ERROR, close, one log line. */
  private refuseLogin(message: string, logReason: string): void {
    this.deps.access.refusedByFront(this.meta, logReason);
    this.sendError(`Login Failed: ${message}`);
    this.close(undefined);
  }

  /** The access service refused the login: ERROR "Login Failed: <reason>", then close. */
  refuse(refusal: Refusal): undefined {
    this.sendError(`Login Failed: ${refusal.reason}`);
    this.close(undefined);
    return undefined;
  }

  /** The node ends the connection: an expired login closes (§1.1 step 7); a ban or an operator sends ERROR first. */
  disconnect(reason: DisconnectReason): void {
    if (reason === 'authentication_expired') {
      this.close('authentication expired');
      return;
    }
    this.sendError(`Disconnected: ${reason}`);
    this.close(reason);
  }

  /** The subscriptions held now, as the client sent them (STOMP delivers at QoS 0). */
  subscriptions(): HeldSubscription[] {
    const held: HeldSubscription[] = [];
    for (const sub of this.subscribed.values()) held.push({ filter: sub.filter, qos: 0 });
    return held;
  }

  /**
   * A subscription the rules no longer allow (beyond EMQX; §12.3 has no equivalent). STOMP has
   * no frame that ends one subscription from the server, and a silently dead subscription
   * would look to the client like a quiet topic; so, as for a SUBSCRIBE denied now, the client
   * gets `ERROR Insufficient permissions for <filter>` (with the `subscription` id) and the
   * connection closes, whatever `deny_action` says. Its other subscriptions end with it.
   */
  revoke(filter: string): Revocation {
    let id: string | undefined;
    for (const sub of this.subscribed.values()) if (sub.filter === filter) id = sub.id;
    this.sendError(`Insufficient permissions for ${filter}`, undefined, id);
    this.close(undefined);
    return 'disconnected';
  }

  /**
   * §12.5: incoming activity is checked every `cx` ms (one silent interval tolerated, two close),
   * and a bare EOL goes out every `cy` ms.
   */
  private startHeartbeats(cx: number, cy: number): void {
    if (cx > 0) {
      this.receivedSinceCheck = false;
      let silent = 0;
      this.incomingTimer = setInterval(() => {
        if (this.receivedSinceCheck) {
          silent = 0;
          this.receivedSinceCheck = false;
        } else if (++silent >= 2) {
          this.close('heartbeat_timeout');
        }
      }, Math.min(cx, MAX_TIMER_MS));
    }
    if (cy > 0) {
      this.outgoingTimer = setInterval(() => this.write(EOL), Math.min(cy, MAX_TIMER_MS));
    }
  }

  // ---- SEND -----------------------------------------------------------------------------

  private async onSend(frame: StompFrame): Promise<void> {
    const receipt = header(frame, 'receipt');
    const destination = this.required(frame, 'destination', receipt);
    if (destination === undefined) return;
    const problem = topicNameProblem(destination);
    if (problem) {
      this.fail(`Invalid destination ${destination}: ${problem}`, receipt);
      return;
    }
    const txName = header(frame, 'transaction');
    const tx = txName === undefined ? undefined : this.transaction(txName, receipt);
    if (tx === null) return;
    const topic = await this.authorize('publish', destination, receipt);
    if (topic === undefined) return;
    const packet = this.publishPacket(frame, topic);
    if (tx) {
      if (!this.enqueue(tx, txName as string, frame.body.length, () => this.publish(packet, receipt), receipt)) return;
    } else if (!(await this.publish(packet, receipt))) {
      return;
    }
    this.receipt(receipt);
  }

  /** `topic` is the destination with the mountpoint applied. */
  private publishPacket(frame: StompFrame, topic: string): PublishPacket {
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: frame.body,
      qos: 0,
      retain: false,
      dup: false,
    };
    const userProperties: Record<string, string> = {};
    let carried = false;
    for (const [name, value] of frame.headers) {
      if (NOT_CARRIED.has(name) || name in userProperties) continue;
      userProperties[name] = value;
      carried = true;
    }
    const contentType = header(frame, 'content-type');
    if (contentType !== undefined || carried) {
      packet.properties = {};
      if (contentType !== undefined) packet.properties.contentType = contentType;
      if (carried) packet.properties.userProperties = userProperties;
    }
    return packet;
  }

  /** Publishes; false (and the connection closed) when the broker refuses. */
  private async publish(packet: PublishPacket, receipt: string | undefined): Promise<boolean> {
    try {
      await this.deps.bus.publish(packet);
      return true;
    } catch (err) {
      this.fail(`Publish failed: ${(err as Error).message}`, receipt);
      return false;
    }
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE ----------------------------------------------------------

  private async onSubscribe(frame: StompFrame): Promise<void> {
    const receipt = header(frame, 'receipt');
    const filter = this.required(frame, 'destination', receipt);
    if (filter === undefined) return;
    // STOMP 1.0 makes `id` optional: the destination names the subscription then.
    const id = this.version === '1.0' ? (header(frame, 'id') ?? filter) : this.required(frame, 'id', receipt);
    if (id === undefined) return;
    const ack = header(frame, 'ack') ?? 'auto';
    if (!ACK_MODES.has(ack)) {
      this.fail(`Invalid ack mode ${ack}: expected auto, client or client-individual`, receipt);
      return;
    }
    const problem = topicFilterProblem(filter);
    if (problem) {
      this.fail(`Invalid destination ${filter}: ${problem}`, receipt);
      return;
    }
    if (this.subscribed.has(id)) {
      this.fail(`Subscription id ${id} is in used`, receipt);
      return;
    }
    for (const sub of this.subscribed.values()) {
      if (sub.filter === filter) {
        this.fail(`Topic ${filter} already in subscribed`, receipt);
        return;
      }
    }
    const mounted = await this.authorize('subscribe', filter, receipt);
    if (mounted === undefined) return;
    const sub: Subscription = {
      id,
      filter,
      mounted,
      ack: ack as AckMode,
      deliver: (packet, done) => {
        try {
          this.deliver(sub, packet);
        } catch (err) {
          // Runs inside the broker's dispatch: a failure here must stay with this connection.
          this.deps.logger.error({ listener: this.meta.listenerId, clientid: this.clientid, err: (err as Error).message }, 'stomp delivery failed');
        }
        done();
      },
    };
    this.subscribed.set(id, sub);
    try {
      await this.deps.bus.subscribe(sub.mounted, sub.deliver);
    } catch (err) {
      this.subscribed.delete(id);
      this.fail(`Subscribe failed: ${(err as Error).message}`, receipt);
      return;
    }
    if (this.state === 'closed') {
      // Closed while the broker was subscribing: the clean-up ran before this subscription existed.
      void this.deps.bus.unsubscribe(sub.mounted, sub.deliver).catch(noop);
      return;
    }
    this.receipt(receipt);
  }

  private async onUnsubscribe(frame: StompFrame): Promise<void> {
    const receipt = header(frame, 'receipt');
    let sub: Subscription | undefined;
    const id = header(frame, 'id');
    if (id !== undefined) {
      sub = this.subscribed.get(id);
    } else if (this.version === '1.0' && header(frame, 'destination') !== undefined) {
      const destination = header(frame, 'destination');
      sub = [...this.subscribed.values()].find((s) => s.filter === destination);
    } else {
      this.fail('Missing id header in UNSUBSCRIBE', receipt);
      return;
    }
    if (sub) {
      this.subscribed.delete(sub.id);
      await this.deps.bus.unsubscribe(sub.mounted, sub.deliver).catch((err: Error) => {
        this.deps.logger.warn({ listener: this.meta.listenerId, clientid: this.clientid, err: err.message }, 'stomp unsubscribe failed');
      });
    }
    this.receipt(receipt);
  }

  private deliver(sub: Subscription, packet: PublishPacket): void {
    if (this.state !== 'connected' || this.subscribed.get(sub.id) !== sub) return;
    const mp = this.mountpoint;
    if (mp && !packet.topic.startsWith(mp)) return;
    const topic = packet.topic.slice(mp.length);
    if (topic.startsWith('$') && hidesDollarTopics(sub.filter)) return;
    if (this.stream.writableLength > OUTGOING_HIGH_WATER) {
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 1000 === 0) {
        this.deps.logger.warn({ listener: this.meta.listenerId, clientid: this.clientid, dropped: this.dropped }, 'stomp client reads too slowly: dropping messages');
      }
      return;
    }
    this.messageSeq += 1;
    const headers: Array<[string, string]> = [
      ['subscription', sub.id],
      ['message-id', String(this.messageSeq)],
      ['destination', topic],
      ['content-type', packet.properties?.contentType ?? 'text/plain'],
    ];
    if (sub.ack !== 'auto') {
      this.ackSeq += 1;
      headers.push(['ack', String(this.ackSeq)]);
    }
    const carried: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(packet.properties?.userProperties ?? {})) {
      if (PROTECTED.has(name)) continue;
      for (const v of Array.isArray(value) ? value : [value]) carried.push([name, String(v)]);
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    this.send({ command: 'MESSAGE', headers: [...headers, ...carried], body: payload });
  }

  // ---- ACK / NACK / transactions --------------------------------------------------------

  private onAck(frame: StompFrame): void {
    // Accepted and otherwise ignored: QoS 0 has nothing to redeliver (§12.4).
    const receipt = header(frame, 'receipt');
    const txName = header(frame, 'transaction');
    if (txName !== undefined) {
      const tx = this.transaction(txName, receipt);
      if (tx === null) return;
      if (!this.enqueue(tx, txName, 0, async () => true, receipt)) return;
    }
    this.receipt(receipt);
  }

  private onBegin(frame: StompFrame): void {
    const receipt = header(frame, 'receipt');
    const name = this.required(frame, 'transaction', receipt);
    if (name === undefined) return;
    if (this.transactions.has(name)) {
      this.sendError(`Transaction ${name} already started`, receipt);
      return;
    }
    if (this.transactions.size >= TRANSACTION_LIMITS.open) {
      this.fail(`Too many open transactions (limit ${TRANSACTION_LIMITS.open})`, receipt);
      return;
    }
    this.transactions.set(name, { actions: [], bytes: 0 });
    this.receipt(receipt);
  }

  private async onCommit(frame: StompFrame): Promise<void> {
    const receipt = header(frame, 'receipt');
    const name = this.required(frame, 'transaction', receipt);
    if (name === undefined) return;
    const tx = this.transaction(name, receipt);
    if (tx === null) return;
    this.transactions.delete(name);
    for (const action of tx.actions) {
      if (this.state === 'closed') return;
      if (!(await action())) return;
    }
    this.receipt(receipt);
  }

  private onAbort(frame: StompFrame): void {
    const receipt = header(frame, 'receipt');
    const name = this.required(frame, 'transaction', receipt);
    if (name === undefined) return;
    if (this.transaction(name, receipt) === null) return;
    this.transactions.delete(name);
    this.receipt(receipt);
  }

  /** The open transaction, or null after telling the client it does not exist (connection kept, §12.4). */
  private transaction(name: string, receipt: string | undefined): Transaction | null {
    const tx = this.transactions.get(name);
    if (tx) return tx;
    this.sendError(`Transaction ${name} not found`, receipt);
    return null;
  }

  private enqueue(tx: Transaction, name: string, bytes: number, action: Action, receipt: string | undefined): boolean {
    if (tx.actions.length >= TRANSACTION_LIMITS.frames || tx.bytes + bytes > TRANSACTION_LIMITS.bytes) {
      this.fail(`Transaction ${name} is too large (limits: ${TRANSACTION_LIMITS.frames} frames, ${TRANSACTION_LIMITS.bytes} bytes)`, receipt);
      return false;
    }
    tx.actions.push(action);
    tx.bytes += bytes;
    return true;
  }

  private onDisconnect(frame: StompFrame): void {
    this.receipt(header(frame, 'receipt'));
    this.close(undefined);
  }

  // ---- authorization --------------------------------------------------------------------

  /**
   * §12.3: asks the access service (which logs and counts a denial); a denial is an ERROR
   * naming the destination, then the connection closes. The topic with the mountpoint applied
   * when allowed.
   */
  private async authorize(action: AuthzAction, topic: string, receipt: string | undefined): Promise<string | undefined> {
    const verdict = await this.deps.access.authorize(this.session!, action, topic, 0, false);
    if (this.state === 'closed') return undefined;
    if (typeof verdict === 'string') return verdict;
    this.fail(`Insufficient permissions for ${topic}`, receipt, false);
    return undefined;
  }

  // ---- output and closing ---------------------------------------------------------------

  private required(frame: StompFrame, name: string, receipt: string | undefined): string | undefined {
    const value = header(frame, name);
    if (value === undefined) this.fail(`Missing ${name} header in ${frame.command}`, receipt);
    return value;
  }

  private receipt(receipt: string | undefined): void {
    if (receipt !== undefined) this.send({ command: 'RECEIPT', headers: [['receipt-id', receipt]], body: Buffer.alloc(0) });
  }

  /** ERROR with the message, and the `receipt-id` / `subscription` it concerns when given. */
  private sendError(message: string, receipt?: string, subscription?: string): void {
    const headers: Array<[string, string]> = [
      ['message', message.replace(/[\r\n\0]+/g, ' ')],
      ['content-type', 'text/plain'],
    ];
    if (receipt !== undefined) headers.push(['receipt-id', receipt]);
    if (subscription !== undefined) headers.push(['subscription', subscription]);
    this.send({ command: 'ERROR', headers, body: Buffer.from(message, 'utf8') });
  }

  /**
   * Encodes for the negotiated version. A header this version cannot carry (say a newline in a
   * STOMP 1.0 value) is left out, never the whole frame.
   */
  private send(frame: StompFrame): void {
    let bytes: Buffer;
    try {
      bytes = encodeFrame(frame, this.version);
    } catch (err) {
      if (!(err instanceof StompFrameError)) throw err;
      const headers = frame.headers.filter(([name, value]) => encodable(name, value, this.version, frame.command));
      this.deps.logger.debug({ listener: this.meta.listenerId, command: frame.command }, 'stomp header left out: not representable in this version');
      bytes = encodeFrame({ ...frame, headers }, this.version);
    }
    this.write(bytes);
  }

  private write(bytes: Buffer): void {
    if (this.state === 'closed' || !this.stream.writable) return;
    this.stream.write(bytes);
  }

  /** Sends an ERROR and closes (§12.4: protocol violations end the connection). */
  private fail(message: string, receipt?: string, log = true): void {
    if (this.state === 'closed') return;
    if (log) {
      this.deps.logger.info(
        { listener: this.meta.listenerId, peer: `${this.meta.peerhost}:${this.meta.peerport}`, clientid: this.clientid, reason: message },
        'stomp connection closed on error',
      );
    }
    this.sendError(message, receipt);
    this.close(undefined);
  }

  /** Ends the connection after what was written; `reason` is logged when given. */
  private close(reason: string | undefined): void {
    if (this.state === 'closed') return;
    if (reason !== undefined) {
      this.deps.logger.info(
        { listener: this.meta.listenerId, peer: `${this.meta.peerhost}:${this.meta.peerport}`, clientid: this.clientid, reason },
        'stomp connection closed',
      );
    }
    this.cleanUp();
    this.stream.end();
    setTimeout(() => this.stream.destroy(), 1000).unref();
  }

  private cleanUp(): void {
    this.state = 'closed';
    this.stream.off('data', this.onData);
    this.stream.off('close', this.onClose);
    clearTimeout(this.idleTimer);
    if (this.session) this.deps.access.disconnected(this.session);
    clearInterval(this.incomingTimer);
    clearInterval(this.outgoingTimer);
    this.queue.length = 0;
    this.transactions.clear();
    for (const sub of this.subscribed.values()) {
      void this.deps.bus.unsubscribe(sub.mounted, sub.deliver).catch(noop);
    }
    this.subscribed.clear();
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
  }
}

const EOL = Buffer.from('\n');
/** `${Packet.headers.<name>}`: the CONNECT frame's first header of that name. */
const HEADERS = 'headers.';

function noop(): void {}

/** `cx,cy` in milliseconds; absent is `0,0`; undefined when malformed. */
export function parseHeartBeat(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return [0, 0];
  const match = /^\s*(\d{1,15})\s*,\s*(\d{1,15})\s*$/.exec(value);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2])];
}

function encodable(name: string, value: string, version: StompVersion, command: string): boolean {
  try {
    encodeFrame({ command, headers: [[name, value]], body: Buffer.alloc(0) }, version);
    return true;
  } catch {
    return false;
  }
}
