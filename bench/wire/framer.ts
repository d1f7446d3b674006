/**
 * A minimal MQTT frame splitter for load generators: it only finds packet
 * boundaries (fixed header + remaining length) and hands out the packet type,
 * flags and body without decoding them. Decoding every delivery with a full
 * parser would make the load generator, not the broker, the bottleneck.
 */

export const PacketType = {
  connack: 2,
  publish: 3,
  puback: 4,
  suback: 9,
  pingresp: 13,
} as const;

export interface Frame {
  type: number;
  flags: number;
  body: Buffer;
}

export class FrameError extends Error {
  constructor(reason: string) {
    super(`malformed MQTT frame from broker: ${reason}`);
    this.name = 'FrameError';
  }
}

export class Framer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (frame: Frame) => void) {}

  /** Feeds bytes from the socket; calls onFrame for each whole packet. */
  push(chunk: Buffer): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    for (;;) {
      if (buf.length - offset < 2) break;
      let length = 0;
      let multiplier = 1;
      let i = offset + 1;
      let complete = false;
      for (let n = 0; n < 4 && i < buf.length; n++, i++) {
        const byte = buf[i]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
        if (n === 3) throw new FrameError('remaining length longer than 4 bytes');
      }
      if (!complete || buf.length - i < length) break;
      const header = buf[offset]!;
      this.onFrame({ type: header >> 4, flags: header & 0x0f, body: buf.subarray(i, i + length) });
      offset = i + length;
    }
    this.pending = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
  }
}

/** The packet id of a QoS 1/2 PUBLISH body (after the topic), or undefined for QoS 0. */
export function publishPacketId(frame: Frame): number | undefined {
  const qos = (frame.flags >> 1) & 0x03;
  if (qos === 0) return undefined;
  const topicLength = frame.body.readUInt16BE(0);
  return frame.body.readUInt16BE(2 + topicLength);
}
