import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { SendLimits } from '../transport/types.js';
import { KeyedMetrics, type MetricSet } from '../metrics/counters.js';

/**
 * A slow consumer never slows anyone else (issue #12 point 3).
 *
 * aedes delivers a message to a subscriber through the client's `deliver0` / `deliverQoS`,
 * whose callback tells mqemitter the delivery is done; mqemitter holds at most `concurrency`
 * publishes in flight and the publisher's read loop waits for its publish to complete. aedes's
 * `write()` calls that callback only after the socket's 'drain' when the write buffer is over
 * the stream's own 16 KiB mark, so one subscriber that stops reading holds publishes in flight
 * until everything behind them stalls: the publisher and every other subscriber.
 *
 * What this file does instead, per subscribing client (bound on its first SUBSCRIBE, so a
 * connection that never subscribes costs nothing; the aedes adapter, broker.ts, routes the
 * client's deliveries through its bound — this file touches no aedes internal):
 *
 * - The delivery callback never waits on the socket. The client's own delivery runs with a
 *   shared no-op callback, and mqemitter's callback is called on the next turn of the event
 *   loop from one shared batch (`later`): an array push per delivery, one `setImmediate` per
 *   turn, no closure or promise per message.
 * - Under its mark (`tcp_options.high_watermark` buffered bytes, never below the stream's own
 *   high-water mark) a delivery goes to aedes unchanged, with the stream corked until the turn
 *   after (Node's `writable.cork()`). aedes writes each message from its own `setImmediate`, and
 *   Node runs the nextTick that mqtt-packet uncorks with between two immediates, so without this
 *   every message to a subscriber is its own `writev` system call: half the broker's CPU under
 *   load. Corked, what a turn delivers to a subscriber leaves in one. The uncork is queued behind
 *   the turn's writes (from the batch of mqemitter callbacks, see `runDue`); a client that closes
 *   is uncorked first (`flush`, called by the adapter's `close` wrapper), so nothing held back is
 *   lost with the stream.
 * - Past the mark the client has a backlog (made then, dropped when it drains): QoS 0 messages
 *   are dropped and counted (QoS 0 is "at most once", MQTT 3.1.1 §4.3.1 / 5.0 §4.3.1); QoS 1
 *   and 2 messages wait in the backlog's queue, at most `mqtt.max_mqueue_len` of them, the
 *   oldest dropped and counted first (as EMQX's mqueue). While a queue exists every QoS 1/2
 *   message joins it and QoS 0 ones are dropped, so nothing overtakes a queued message and
 *   each topic stays an Ordered Topic (MQTT 3.1.1 §4.6, 5.0 §4.6).
 * - When the stream has flushed everything ('drain'), the queue goes to aedes in order, about
 *   a mark's worth at a time. Each flush is progress; a connection that stays over its mark
 *   and flushes nothing for `send_timeout` is stuck: logged once, counted and closed when
 *   `send_timeout_close` (EMQX's send_timeout / force_shutdown), else left to the bound.
 *
 * A queued QoS 1/2 message of a persistent session is still in aedes's stored outgoing queue
 * (aedes stores it for every persistent subscription before delivering); dropping it from this
 * queue does not remove it there, so it is sent again on the session's next connection.
 */

/** The counters, per listener: EMQX's delivery-drop names, plus slow-consumer closes. */
export const OUTBOUND_METRICS = ['delivery.dropped.qos0_msg', 'delivery.dropped.queue_full', 'send_timeout.closed'] as const;
export type OutboundMetric = (typeof OUTBOUND_METRICS)[number];

/** What a delivery carries that this file reads (aedes-packet's Packet). */
export interface OutboundPacket {
  qos: number;
  topic: string;
  payload: Buffer | string;
  /** No Local (MQTT 5.0 §3.8.3.1) and the publisher, for not counting what aedes would skip. */
  nl?: boolean;
  clientId?: string;
}

/** Sends a message to one subscriber: the broker's own delivery, or a bound's in its place. */
export type Deliver = (packet: OutboundPacket, cb: () => void) => void;

/** A subscriber connection as its bound sees it (aedes's client, through the adapter). */
export interface Subscriber {
  readonly id: string | null;
  readonly conn: Duplex;
  readonly closed: boolean;
  close(): void;
}

/** A subscriber's deliveries through its bound: the adapter calls these instead of the broker's own. */
export interface SubscriberBound {
  deliver0: Deliver;
  deliverQoS: Deliver;
  /** The client is closing: what it holds back leaves now, before the stream is destroyed. */
  flush(): void;
}

export interface OutboundOptions {
  logger: Logger;
  /** `mqtt.max_mqueue_len`: QoS 1/2 messages a backlog holds; 0 = no bound (EMQX's infinity). */
  maxMqueueLen: number;
  /** A listener's current send limits, read when one of its clients first subscribes. */
  limits: (listenerId: string) => SendLimits | undefined;
}

export class Outbound {
  readonly counters = new KeyedMetrics<OutboundMetric>(OUTBOUND_METRICS);
  /** mqemitter callbacks due on the next turn. */
  private readonly due = new TurnList<() => void>();
  private scheduled = false;
  /** Bounds whose stream is corked until the uncork queued after the next batch. */
  private readonly corked = new TurnList<ClientBound>();
  private uncorkScheduled = false;
  private readonly runDue = (): void => {
    this.scheduled = false;
    try {
      this.due.drain(call);
    } finally {
      // Queued after every write aedes scheduled for this turn's deliveries (and for those the
      // callbacks above released), so those writes leave in one writev per subscriber.
      if (this.corked.length > 0 && !this.uncorkScheduled) {
        this.uncorkScheduled = true;
        setImmediate(this.uncorkAll);
      }
    }
  };
  private readonly uncorkAll = (): void => {
    this.uncorkScheduled = false;
    this.corked.drain(flush);
  };

  constructor(readonly opts: OutboundOptions) {}

  /**
   * The bound of a subscriber's outbound data, or null when its listener sets no limits.
   * `send0` / `sendQoS` are the broker's own deliveries, which the bound calls under its mark
   * and for its queue. Asked once per subscriber, before its first subscription delivers.
   */
  bound(subscriber: Subscriber, listenerId: string, send0: Deliver, sendQoS: Deliver): SubscriberBound | null {
    const limits = this.opts.limits(listenerId);
    return limits ? new ClientBound(this, subscriber, send0, sendQoS, listenerId, limits, this.counters.of(listenerId)) : null;
  }

  /** `bound` corked its stream: uncorked on the turn after the next (see runDue). */
  corkedUntilLater(bound: ClientBound): void {
    this.corked.push(bound);
  }

  /** Calls `cb` on the next turn of the event loop, batched with every other one due then. */
  later(cb: () => void): void {
    this.due.push(cb);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.runDue);
    }
  }
}

/** One client's bound. Under the mark it holds no more than its fields; `backlog` exists past it. */
class ClientBound implements SubscriberBound {
  private readonly stream: Duplex;
  /** Never below the stream's own mark, so a stream over it always emits 'drain' once flushed. */
  private readonly mark: number;
  private backlog: Backlog | undefined;
  /** The stream is corked by this bound until Outbound's next uncork. */
  private corked = false;
  /** What the stream held when corked: what the kernel had not taken before this turn's writes. */
  private bufferedAtCork = 0;

  constructor(
    private readonly outbound: Outbound,
    private readonly client: Subscriber,
    private readonly orig0: Deliver,
    private readonly origQoS: Deliver,
    private readonly listenerId: string,
    private readonly limits: SendLimits,
    private readonly metrics: MetricSet<OutboundMetric>,
  ) {
    this.stream = client.conn;
    this.mark = Math.max(limits.highWatermark, client.conn.writableHighWaterMark);
  }

  deliver0(packet: OutboundPacket, cb: () => void): void {
    if ((this.backlog === undefined || this.leftBacklog()) && this.buffered() < this.mark) {
      this.cork();
      this.orig0(packet, noop);
    } else if (!this.skipped(packet)) {
      this.enterBacklog();
      this.metrics.inc('delivery.dropped.qos0_msg');
    }
    this.outbound.later(cb);
  }

  deliverQoS(packet: OutboundPacket, cb: () => void): void {
    // aedes downgrades a QoS 0 publish to deliver0 too (lib/client.js).
    if (packet.qos === 0) {
      this.deliver0(packet, cb);
      return;
    }
    if ((this.backlog === undefined || this.leftBacklog()) && this.buffered() < this.mark) {
      this.cork();
      this.origQoS(packet, noop);
    } else if (!this.skipped(packet)) {
      const dropped = this.enterBacklog().push(packet, this.outbound.opts.maxMqueueLen);
      if (dropped) this.metrics.inc('delivery.dropped.queue_full');
    }
    this.outbound.later(cb);
  }

  /**
   * The bytes the mark is compared with. While corked, what the turn's writes add is not yet
   * offered to the kernel, so it does not count: the same figure as without the cork, where each
   * delivery of a turn sees the stream as the turn before left it.
   */
  private buffered(): number {
    return this.corked ? this.bufferedAtCork : this.stream.writableLength;
  }

  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.bufferedAtCork = this.stream.writableLength;
    this.stream.cork();
    this.outbound.corkedUntilLater(this);
  }

  /** Outbound's turn, or the client closing: what aedes wrote since the cork leaves together. */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.stream.uncork();
  }

  /** A message aedes would not send to this client anyway (No Local, MQTT 5.0 §3.8.3.1), not counted. */
  private skipped(packet: OutboundPacket): boolean {
    return packet.nl === true && packet.clientId === this.client.id;
  }

  /** True (and the backlog gone) when the backlog holds no queue and the stream is under its mark again. */
  private leftBacklog(): boolean {
    if (this.backlog!.length > 0 || this.buffered() >= this.mark) return false;
    this.leave();
    return true;
  }

  private enterBacklog(): Backlog {
    if (this.backlog) return this.backlog;
    const backlog = new Backlog(
      () => this.onDrain(),
      () => this.afterFlush(),
      () => this.onDeadline(),
      () => this.leave(),
    );
    this.backlog = backlog;
    this.stream.on('drain', backlog.onDrain);
    this.stream.once('close', backlog.onClose);
    backlog.arm(this.limits.sendTimeoutMs);
    this.outbound.opts.logger.debug({ listener: this.listenerId, clientid: this.client.id, buffered: this.stream.writableLength }, 'slow consumer: over high_watermark');
    return backlog;
  }

  private leave(): void {
    const backlog = this.backlog;
    if (!backlog) return;
    this.backlog = undefined;
    backlog.disarm();
    this.stream.off('drain', backlog.onDrain);
    this.stream.off('close', backlog.onClose);
  }

  /** The stream flushed everything: progress. Hands aedes the queue, about a mark's worth at a time. */
  private onDrain(): void {
    const backlog = this.backlog;
    if (!backlog) return;
    if (this.client.closed) {
      this.leave();
      return;
    }
    let budget = this.mark - this.stream.writableLength;
    while (backlog.length > 0 && budget > 0) {
      const packet = backlog.shift();
      budget -= wireSizeAtLeast(packet);
      this.origQoS(packet, noop);
    }
    if (backlog.length === 0) {
      this.leave();
      return;
    }
    backlog.arm(this.limits.sendTimeoutMs);
    // aedes writes on a later turn; if those writes did not fill the stream past its own
    // mark (the peer reads fast again), no 'drain' will come: go on from here.
    setImmediate(backlog.afterFlush);
  }

  /** After a partial flush: go on unless the stream is waiting for a 'drain' that will call onDrain. */
  private afterFlush(): void {
    if (this.backlog && !this.stream.writableNeedDrain) this.onDrain();
  }

  private onDeadline(): void {
    const backlog = this.backlog;
    if (!backlog || this.client.closed) return;
    const close = this.limits.sendTimeoutClose;
    this.outbound.opts.logger.warn(
      {
        listener: this.listenerId,
        clientid: this.client.id,
        send_timeout_ms: this.limits.sendTimeoutMs,
        buffered: this.stream.writableLength,
        queued: backlog.length,
        send_timeout_close: close,
      },
      close ? 'slow consumer: nothing flushed within send_timeout, disconnecting' : 'slow consumer: nothing flushed within send_timeout (send_timeout_close = false: kept)',
    );
    if (!close) return;
    this.metrics.inc('send_timeout.closed');
    this.leave();
    this.client.close();
  }
}

/**
 * A slow consumer's state: the QoS 1/2 queue (a ring, oldest first), the send_timeout
 * deadline, and its listeners. Made when the client passes its mark, dropped when it drains.
 */
class Backlog {
  private items: Array<OutboundPacket | undefined> = new Array<OutboundPacket | undefined>(16);
  private head = 0;
  length = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly onDrain: () => void,
    readonly afterFlush: () => void,
    private readonly onTimeout: () => void,
    readonly onClose: () => void,
  ) {}

  /** Queues a message; with `max` > 0 and the queue full, drops the oldest first. True when one was dropped. */
  push(packet: OutboundPacket, max: number): boolean {
    let dropped = false;
    if (max > 0 && this.length >= max) {
      this.shift();
      dropped = true;
    }
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) % this.items.length] = packet;
    this.length += 1;
    return dropped;
  }

  shift(): OutboundPacket {
    const packet = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.length -= 1;
    return packet;
  }

  /** (Re)starts the send_timeout deadline. */
  arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimeout, ms);
    this.timer.unref();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private grow(): void {
    const next = new Array<OutboundPacket | undefined>(this.items.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}

/** A lower bound of a PUBLISH's encoded size: fixed header, topic length, packet id, topic, payload. */
function wireSizeAtLeast(packet: OutboundPacket): number {
  return 6 + packet.topic.length + packet.payload.length;
}

function noop(): void {}

function call(cb: () => void): void {
  cb();
}

function flush(bound: ClientBound): void {
  bound.flush();
}

/** Items gathered during one turn, handled together: two arrays used in turn, so nothing is allocated per batch. */
class TurnList<T> {
  private items: T[] = [];
  private spare: T[] = [];

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Hands each item to `each`; items pushed meanwhile wait for the next drain. */
  drain(each: (item: T) => void): void {
    const list = this.items;
    this.items = this.spare;
    this.spare = list;
    try {
      for (let i = 0; i < list.length; i++) each(list[i]!);
    } finally {
      list.length = 0;
    }
  }
}
