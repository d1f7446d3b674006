import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { connect } from '../helpers/mqtt-connect.js';

/** The broker child's ports (see broker-child.ts). */
export interface Ports {
  mqtt: number;
  mqttProxied: number;
  stomp: number;
  stompProxied: number;
}

export type ChildRequest = { type: 'memory' } | { type: 'logs' } | { type: 'stop' };
export type ChildReply =
  | { type: 'ready'; ports: Ports; dataDir: string }
  | { type: 'memory'; heapUsed: number; rss: number; gc: boolean; clients: number; connectedCounter: number; clientIds: string[] }
  | { type: 'logs'; counts: Record<string, number>; errors: string[] };

const CHILD = fileURLToPath(new URL('./broker-child.ts', import.meta.url));

/** A Gatehouse node in a child process, niced so it yields the CPU to the rest of the suite. */
export class BrokerProcess {
  private stderrTail = '';
  private exitInfo: string | undefined;
  private readonly waiters = new Map<ChildReply['type'], (reply: ChildReply) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly ports: Ports,
    private readonly dataDir: string,
  ) {
    child.on('message', (reply: ChildReply) => {
      const w = this.waiters.get(reply.type);
      this.waiters.delete(reply.type);
      w?.(reply);
    });
  }

  static start(): Promise<BrokerProcess> {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    try {
      if (child.pid !== undefined) setPriority(child.pid, 5);
    } catch {
      // not permitted: run at normal priority
    }
    let stderr = '';
    const onErr = (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    };
    child.stderr?.on('data', onErr);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker child did not start: ${stderr}`)), 30_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`broker child exited at start (${code ?? signal}): ${stderr}`));
      });
      child.once('message', (reply: ChildReply) => {
        if (reply.type !== 'ready') return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stderr?.off('data', onErr);
        const broker = new BrokerProcess(child, reply.ports, reply.dataDir);
        broker.stderrTail = stderr;
        child.stderr?.on('data', (d: Buffer) => {
          broker.stderrTail = (broker.stderrTail + d.toString('utf8')).slice(-4000);
        });
        child.once('exit', (code, signal) => {
          broker.exitInfo = `exit code ${code ?? '-'} signal ${signal ?? '-'}`;
          rmSync(broker.dataDir, { recursive: true, force: true });
          for (const w of broker.waiters.values()) w({ type: 'logs', counts: {}, errors: [] });
        });
        resolve(broker);
      });
    });
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Why the process ended, with the end of its stderr (the uncaught exception). */
  get death(): string {
    return `${this.exitInfo ?? 'alive'}\n${this.stderrTail.trim()}`;
  }

  private ask<T extends ChildReply['type']>(request: ChildRequest, type: T): Promise<Extract<ChildReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (!this.alive) return reject(new Error(`broker died: ${this.death}`));
      const timer = setTimeout(() => reject(new Error(`broker did not answer ${request.type}`)), 10_000);
      this.waiters.set(type, (reply) => {
        clearTimeout(timer);
        if (reply.type !== type) reject(new Error(`broker died: ${this.death}`));
        else resolve(reply as Extract<ChildReply, { type: T }>);
      });
      this.child.send(request);
    });
  }

  memory(): Promise<Extract<ChildReply, { type: 'memory' }>> {
    return this.ask({ type: 'memory' }, 'memory');
  }

  logs(): Promise<Extract<ChildReply, { type: 'logs' }>> {
    return this.ask({ type: 'logs' }, 'logs');
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  }
}

// ---- sending one input ----------------------------------------------------------------------

/** How a fuzz connection ended: the broker closed it, or it was still open when we gave up. */
export type Ending = 'closed' | 'open';

/**
 * Opens a connection, writes the input (one write per chunk, a turn apart), then waits until the
 * broker closes it or `quietMs` pass without a byte from the broker. Then it half-closes (FIN,
 * not a reset: a reset could discard bytes the broker has not read yet on a loaded machine)
 * and waits for the broker to close, destroying the socket after a second at the latest.
 */
export function sendInput(port: number, writes: readonly Buffer[], quietMs = 25): Promise<Ending> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (how: Ending) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(hard);
      socket.destroy();
      resolve(how);
    };
    const hard = setTimeout(() => finish('open'), 3000);
    let ending: Ending = 'closed';
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // the broker kept the connection: end it from our side
        ending = 'open';
        socket.end();
        timer = setTimeout(() => finish('open'), 1000);
      }, quietMs);
    };
    socket.on('error', () => finish(ending));
    socket.on('close', () => finish(ending));
    // Still read after the half-close (a paused socket would never see the broker's close).
    socket.on('data', () => {
      if (ending === 'closed') quiet();
    });
    socket.on('connect', () => {
      let i = 0;
      const next = () => {
        if (done) return;
        const chunk = writes[i++];
        if (chunk === undefined) return quiet();
        socket.write(chunk, () => setImmediate(next));
      };
      next();
    });
  });
}

// ---- watchers: what a well-behaved subscriber must never see ----------------------------------

/**
 * Why a delivered topic name is forbidden, or undefined: MQTT 5 [MQTT-1.5.4-1] (well-formed
 * UTF-8), [MQTT-1.5.4-2] (no U+0000), [MQTT-3.3.2-2] (no wildcards in a topic name), and a
 * topic name is never empty [MQTT-4.7.3-1] (the raw watcher sets no Topic Alias Maximum, so every PUBLISH names its topic).
 */
export function topicProblem(topic: Buffer): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(topic);
  } catch {
    return 'not well-formed UTF-8 [MQTT-1.5.4-1]';
  }
  if (text.includes('\u0000')) return 'holds U+0000 [MQTT-1.5.4-2]';
  if (/[+#]/.test(text)) return 'holds a wildcard [MQTT-3.3.2-2]';
  if (text.length === 0) return 'empty topic name [MQTT-4.7.3-1]';
  return undefined;
}

/** Value sizes of the properties a PUBLISH may carry (MQTT 5 §3.3.2.3); -1: two-byte length prefix, -2: a pair, 0: varint. */
const PUBLISH_PROPERTIES: ReadonlyMap<number, number> = new Map([
  [0x01, 1], [0x02, 4], [0x03, -1], [0x08, -1], [0x09, -1], [0x0b, 0], [0x23, 2], [0x26, -2],
]);

/** Why the properties at the start of `rest` (a QoS 0 PUBLISH after its topic) are not ones a broker may send, or undefined. */
function publishPropertiesProblem(rest: Buffer): string | undefined {
  let len = 0;
  let i = 0;
  for (let mult = 1; ; mult *= 128, i++) {
    if (i >= 4 || i >= rest.length) return 'property length is not a valid variable byte integer';
    len += (rest[i]! & 0x7f) * mult;
    if ((rest[i]! & 0x80) === 0) break;
  }
  let at = i + 1;
  const end = at + len;
  if (end > rest.length) return 'property length runs past the packet';
  const seen = new Set<number>();
  while (at < end) {
    const id = rest[at++]!;
    const size = PUBLISH_PROPERTIES.get(id);
    if (size === undefined) return `property 0x${id.toString(16)} is not allowed on PUBLISH (MQTT 5 §2.2.2.2, §3.3.2.3)`;
    if (seen.has(id) && id !== 0x26 && id !== 0x0b) return `property 0x${id.toString(16)} given twice`;
    seen.add(id);
    if (size > 0) at += size;
    else if (size === 0) while (at < end && (rest[at++]! & 0x80) !== 0);
    else for (let n = size === -2 ? 2 : 1; n > 0; n--) at += 2 + (at + 1 < end ? rest.readUInt16BE(at) : 0);
    if (at > end) return `property 0x${id.toString(16)} runs past the property block`;
  }
  return undefined;
}

/**
 * A byte-level MQTT 5 subscriber on `#`: reads the PUBLISH topics off the wire itself, so a
 * topic that is not well-formed UTF-8 is seen as the bytes the broker sent, not as U+FFFD.
 */
class RawWatcher {
  private buf: Buffer = Buffer.alloc(0);
  closed = false;
  readonly problems: string[] = [];
  /** Well-formed topics received since the last barrier. */
  readonly seen = new Set<string>();

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.read(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static open(port: number, clientId: string): Promise<RawWatcher> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      const w = new RawWatcher(socket);
      socket.once('connect', () => {
        const id = Buffer.from(clientId);
        // CONNECT v5, clean start, keep-alive 0, no properties; SUBSCRIBE # QoS 0 (packet id 1).
        const connectBody = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x02, 0, 0, 0]), Buffer.from([id.length >> 8, id.length & 0xff]), id]);
        socket.write(Buffer.concat([Buffer.from([0x10, connectBody.length]), connectBody]));
        socket.write(Buffer.from([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x23, 0x00]));
      });
      const check = setInterval(() => {
        if (w.subscribed) {
          clearInterval(check);
          socket.off('error', reject);
          resolve(w);
        } else if (w.closed) {
          clearInterval(check);
          reject(new Error('raw watcher closed before SUBACK'));
        }
      }, 5);
    });
  }

  subscribed = false;

  private read(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    for (;;) {
      let len = 0;
      let mult = 1;
      let i = 1;
      for (; i < 5 && i < this.buf.length; i++) {
        const b = this.buf[i]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) break;
      }
      if (i >= this.buf.length || this.buf.length < i + 1 + len) return;
      if (i === 5) {
        this.problems.push('broker sent a Remaining Length longer than 4 bytes [MQTT-1.5.5-1]');
        this.socket.destroy();
        return;
      }
      const type = this.buf[0]! >> 4;
      const body = this.buf.subarray(i + 1, i + 1 + len);
      if (type === 9) this.subscribed = true;
      if (type === 3) {
        const tlen = body.length >= 2 ? body.readUInt16BE(0) : 0;
        const topic = body.subarray(2, 2 + tlen);
        const problem = tlen + 2 > body.length ? 'topic length runs past the packet' : topicProblem(topic);
        if (problem) this.problems.push(`raw v5 watcher got topic ${topic.toString('hex')}: ${problem}`);
        else this.seen.add(topic.toString('utf8'));
        const propsProblem = problem ? undefined : publishPropertiesProblem(body.subarray(2 + tlen));
        if (propsProblem) this.problems.push(`raw v5 watcher got a PUBLISH on ${topic.toString('utf8')} ${body.toString('hex')}: ${propsProblem}`);
      }
      this.buf = this.buf.subarray(i + 1 + len);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects an mqtt.js client (no reconnects) to the broker child and resolves on CONNACK. */
export function mqttConnect(port: number, options: IClientOptions): Promise<MqttClient> {
  return connect(`mqtt://127.0.0.1:${port}`, options);
}

/** The `#` subscribers kept connected through a run: mqtt.js v5, mqtt.js 3.1.1 and a raw v5 reader. */
export class Watchers {
  readonly problems: string[] = [];
  private readonly seen = new Map<string, Set<string>>();

  private constructor(
    private readonly clients: Array<{ name: string; client: MqttClient }>,
    private readonly raw: RawWatcher,
  ) {
    for (const { name, client } of clients) {
      this.seen.set(name, new Set());
      client.on('message', (topic, _payload, packet: IPublishPacket) => this.onMessage(name, topic, packet));
      client.on('close', () => this.problems.push(`${name} watcher was disconnected by the broker`));
      // mqtt.js reports a packet its parser refuses as an error event (and may lose its framing).
      client.on('error', (err) => this.problems.push(`${name} watcher could not read what the broker sent: ${err.message}`));
      client.on('disconnect', (p) => this.problems.push(`${name} watcher got DISCONNECT ${p.reasonCode ?? ''}`));
    }
  }

  static async open(port: number): Promise<Watchers> {
    const tag = Math.random().toString(36).slice(2, 8);
    const v5 = await mqttConnect(port, { protocolVersion: 5, clientId: `gh-fuzz-watch5-${tag}` });
    const v4 = await mqttConnect(port, { protocolVersion: 4, clientId: `gh-fuzz-watch4-${tag}` });
    for (const c of [v5, v4]) await new Promise<void>((resolve, reject) => c.subscribe('#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    const raw = await RawWatcher.open(port, `gh-fuzz-watchraw-${tag}`);
    return new Watchers(
      [
        { name: 'mqtt.js v5', client: v5 },
        { name: 'mqtt.js 3.1.1', client: v4 },
      ],
      raw,
    );
  }

  private onMessage(name: string, topic: string, packet: IPublishPacket): void {
    // mqtt.js decodes leniently: bytes that were not UTF-8 show as U+FFFD here (the raw watcher sees the bytes).
    const problem = topic.includes('\u0000') ? 'holds U+0000 [MQTT-1.5.4-2]' : /[+#]/.test(topic) ? 'holds a wildcard [MQTT-3.3.2-2]' : topic === '' ? 'empty topic' : undefined;
    if (problem) this.problems.push(`${name} watcher got topic ${JSON.stringify(topic)}: ${problem}`);
    const props = packet.properties;
    const texts = [props?.contentType, props?.responseTopic, ...Object.entries(props?.userProperties ?? {}).flat(2)];
    for (const t of texts) if (typeof t === 'string' && t.includes('\u0000')) this.problems.push(`${name} watcher got a property holding U+0000 [MQTT-1.5.4-2]`);
    if (props?.responseTopic !== undefined && /[+#]/.test(props.responseTopic)) {
      this.problems.push(`${name} watcher got Response Topic ${JSON.stringify(props.responseTopic)} with a wildcard [MQTT-3.3.2-14]`);
    }
    this.seen.get(name)?.add(topic);
  }

  /** Every problem so far, raw watcher included. */
  get allProblems(): string[] {
    return [...this.problems, ...this.raw.problems, ...(this.raw.closed ? ['raw v5 watcher was disconnected by the broker'] : [])];
  }

  /** Resolves when every watcher has seen every one of `topics` (a barrier: what the broker forwarded before them has arrived). */
  async waitFor(topics: readonly string[], timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const sets = [...this.seen.values(), this.raw.seen];
    while (!sets.every((s) => topics.every((t) => s.has(t)))) {
      if (Date.now() > deadline) {
        const names = [...this.seen.keys(), 'raw v5'];
        const missing = sets.map((s, i) => `${names[i]}: ${topics.filter((t) => !s.has(t)).join(', ') || 'all'}`);
        throw new Error(`watchers did not all receive the round trip within ${timeoutMs} ms (missing ${missing.join('; ')})`);
      }
      if (this.allProblems.length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const s of sets) s.clear();
  }

  async close(): Promise<void> {
    for (const { client } of this.clients) {
      client.removeAllListeners('close');
      client.removeAllListeners('disconnect');
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    }
    this.raw.close();
  }
}
