import mqttPacket from 'mqtt-packet';
import { Framer, PacketType, type Frame } from './framer.js';
import { openSocket, writeFirst, type Endpoint, type Socket } from './transport.js';

export type { Endpoint } from './transport.js';

export interface ConnectOptions {
  clientId: string;
  keepalive: number;
  username?: string;
  password?: string;
  /** Gives up (rejects) when no CONNACK arrives within this time. */
  timeoutMs?: number;
}

export class ConnectError extends Error {
  constructor(clientId: string, reason: string) {
    super(`client ${clientId} could not connect: ${reason}`);
    this.name = 'ConnectError';
  }
}

const PROTOCOL_VERSION = 4;

/**
 * One MQTT 3.1.1 connection over a raw socket: mqtt-packet encodes what we send,
 * the Framer splits what arrives. After CONNACK every frame goes to `onFrame`.
 */
export class WireClient {
  onFrame: (frame: Frame) => void = () => undefined;
  private readonly framer: Framer;

  private constructor(readonly socket: Socket, readonly clientId: string) {
    this.framer = new Framer((f) => this.onFrame(f));
    socket.on('data', (chunk: Buffer) => this.framer.push(chunk));
  }

  /** Opens a socket, sends CONNECT (clean session) and resolves on an accepting CONNACK. */
  static open(endpoint: Endpoint, opts: ConnectOptions): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = openSocket(endpoint);
      const client = new WireClient(socket, opts.clientId);
      const fail = (reason: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectError(opts.clientId, reason));
      };
      const timer = setTimeout(() => fail('no CONNACK in time'), opts.timeoutMs ?? 10_000);
      socket.once('error', (err) => fail(err.message));
      socket.once('close', () => fail('closed before CONNACK'));
      client.onFrame = (frame) => {
        if (frame.type !== PacketType.connack) return fail(`expected CONNACK, got packet type ${frame.type}`);
        const code = frame.body[1];
        if (code !== 0) return fail(`CONNACK return code ${code}`);
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.on('error', () => undefined);
        client.onFrame = () => undefined;
        resolve(client);
      };
      writeFirst(
        socket,
        mqttPacket.generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: PROTOCOL_VERSION,
            clientId: opts.clientId,
            clean: true,
            keepalive: opts.keepalive,
            ...(opts.username !== undefined ? { username: opts.username } : {}),
            ...(opts.password !== undefined ? { password: Buffer.from(opts.password) } : {}),
          },
          { protocolVersion: PROTOCOL_VERSION },
        ),
      );
    });
  }

  /** Subscribes to one filter and resolves on its SUBACK. */
  subscribe(topic: string, qos: 0 | 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const previous = this.onFrame;
      this.onFrame = (frame) => {
        if (frame.type !== PacketType.suback) return previous(frame);
        this.onFrame = previous;
        const granted = frame.body[2];
        if (granted === 0x80) reject(new Error(`subscription to ${topic} refused`));
        else resolve();
      };
      this.socket.write(
        mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] }, { protocolVersion: PROTOCOL_VERSION }),
      );
    });
  }

  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** Sends DISCONNECT and closes. */
  end(): void {
    this.socket.end(DISCONNECT);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** A PUBLISH encoded once; `at(id)` gives a copy-free variant with the packet id patched in (QoS 1). */
export class PublishTemplate {
  readonly bytes: Buffer;
  private readonly idOffset: number;

  constructor(topic: string, payload: Buffer, readonly qos: 0 | 1) {
    this.bytes = mqttPacket.generate(
      { cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos > 0 ? { messageId: 1 } : {}) },
      { protocolVersion: PROTOCOL_VERSION },
    );
    const topicLength = Buffer.byteLength(topic);
    // fixed header (1 + remaining-length bytes) + 2-byte topic length + topic
    this.idOffset = this.bytes.length - payload.length - 2;
    if (qos > 0 && this.bytes.readUInt16BE(this.idOffset - topicLength - 2) !== topicLength) {
      throw new Error('unexpected PUBLISH layout from mqtt-packet');
    }
  }

  /** Writes `count` copies into one buffer, packet ids from `firstId` (wrapping in 1..65535). */
  batch(count: number, firstId: number): Buffer {
    const size = this.bytes.length;
    const out = Buffer.allocUnsafe(size * count);
    let id = firstId;
    for (let i = 0; i < count; i++) {
      this.bytes.copy(out, i * size);
      if (this.qos > 0) {
        out.writeUInt16BE(id, i * size + this.idOffset);
        id = id === 65535 ? 1 : id + 1;
      }
    }
    return out;
  }
}

/** PUBACKs for a list of packet ids, in one buffer. */
export function pubacks(ids: number[]): Buffer {
  const out = Buffer.allocUnsafe(4 * ids.length);
  for (let i = 0; i < ids.length; i++) {
    out[i * 4] = 0x40;
    out[i * 4 + 1] = 0x02;
    out.writeUInt16BE(ids[i]!, i * 4 + 2);
  }
  return out;
}
