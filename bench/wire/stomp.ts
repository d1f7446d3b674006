import { encodeFrame } from '../../gateways/stomp/frame.js';
import { openSocket, writeFirst, type Endpoint, type Socket } from './transport.js';

/**
 * A minimal STOMP 1.2 client for load generators over a raw socket: frames are
 * encoded with the gateway's own `encodeFrame` (SEND frames once, then copied),
 * and what arrives is only split into frames by `content-length` (or the NUL
 * when there is none), never fully decoded: headers are looked at only for the
 * few control frames (CONNECTED, RECEIPT, ERROR).
 */

export interface StompServerFrame {
  command: string;
  /** Raw header lines (after the command line), undecoded. */
  head: Buffer;
  body: Buffer;
}

export class StompWireError extends Error {
  constructor(reason: string) {
    super(`STOMP: ${reason}`);
    this.name = 'StompWireError';
  }
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const CONTENT_LENGTH = Buffer.from('\ncontent-length:');

/** Splits a server byte stream into frames; EOLs between frames (heart-beats) are skipped. */
export class StompFramer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (frame: StompServerFrame) => void) {}

  push(chunk: Buffer): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    for (;;) {
      while (offset < buf.length && (buf[offset] === LF || buf[offset] === CR)) offset++;
      if (offset >= buf.length) break;
      const headEnd = buf.indexOf('\n\n', offset);
      if (headEnd < 0) break;
      const lineEnd = buf.indexOf(LF, offset);
      const command = buf.toString('latin1', offset, buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd);
      const head = buf.subarray(lineEnd, headEnd + 1); // starts with the command line's LF
      const bodyStart = headEnd + 2;
      let bodyEnd: number;
      const cl = head.indexOf(CONTENT_LENGTH);
      if (cl >= 0) {
        let length = 0;
        for (let i = cl + CONTENT_LENGTH.length; i < head.length && head[i]! >= 0x30 && head[i]! <= 0x39; i++) length = length * 10 + head[i]! - 0x30;
        bodyEnd = bodyStart + length;
        if (buf.length <= bodyEnd) break;
        if (buf[bodyEnd] !== NUL) throw new StompWireError(`${command} frame body not followed by NUL`);
      } else {
        bodyEnd = buf.indexOf(NUL, bodyStart);
        if (bodyEnd < 0) break;
      }
      this.onFrame({ command, head, body: buf.subarray(bodyStart, bodyEnd) });
      offset = bodyEnd + 1;
    }
    this.pending = offset >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
  }
}

/** The value of header `name` in a frame's raw head (first occurrence), undecoded. */
export function headerOf(frame: StompServerFrame, name: string): string | undefined {
  const key = Buffer.from(`\n${name}:`);
  const at = frame.head.indexOf(key);
  if (at < 0) return undefined;
  const end = frame.head.indexOf(LF, at + key.length);
  return frame.head.toString('utf8', at + key.length, end < 0 ? frame.head.length : end);
}

export interface StompConnectOptions {
  login?: string;
  passcode?: string;
  timeoutMs?: number;
}

export class StompClient {
  onFrame: (frame: StompServerFrame) => void = () => undefined;
  private readonly framer: StompFramer;
  private receipts = 0;

  private constructor(readonly socket: Socket) {
    this.framer = new StompFramer((f) => this.onFrame(f));
    socket.on('data', (chunk: Buffer) => this.framer.push(chunk));
  }

  /** Opens a socket, sends CONNECT (1.2, no heart-beats) and resolves on CONNECTED. */
  static open(endpoint: Endpoint, opts: StompConnectOptions = {}): Promise<StompClient> {
    return new Promise((resolve, reject) => {
      const socket = openSocket(endpoint);
      const client = new StompClient(socket);
      const fail = (reason: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new StompWireError(`could not connect: ${reason}`));
      };
      const timer = setTimeout(() => fail('no CONNECTED in time'), opts.timeoutMs ?? 10_000);
      socket.once('error', (err) => fail(err.message));
      socket.once('close', () => fail('closed before CONNECTED'));
      client.onFrame = (frame) => {
        if (frame.command !== 'CONNECTED') return fail(`expected CONNECTED, got ${frame.command} (${headerOf(frame, 'message') ?? ''})`);
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.on('error', () => undefined);
        client.onFrame = () => undefined;
        resolve(client);
      };
      const headers: Array<[string, string]> = [
        ['accept-version', '1.2'],
        ['host', '/'],
        ['heart-beat', '0,0'],
      ];
      if (opts.login !== undefined) headers.push(['login', opts.login]);
      if (opts.passcode !== undefined) headers.push(['passcode', opts.passcode]);
      writeFirst(socket, encodeFrame({ command: 'CONNECT', headers, body: Buffer.alloc(0) }, '1.2'));
    });
  }

  /** SUBSCRIBE (ack auto) with a receipt; resolves on the RECEIPT. */
  subscribe(destination: string, id: string): Promise<void> {
    const receipt = `sub-${++this.receipts}`;
    return new Promise((resolve, reject) => {
      const previous = this.onFrame;
      this.onFrame = (frame) => {
        if (frame.command === 'ERROR') {
          this.onFrame = previous;
          return reject(new StompWireError(`SUBSCRIBE ${destination} refused: ${headerOf(frame, 'message') ?? ''}`));
        }
        if (frame.command !== 'RECEIPT' || headerOf(frame, 'receipt-id') !== receipt) return previous(frame);
        this.onFrame = previous;
        resolve();
      };
      this.socket.write(
        encodeFrame(
          {
            command: 'SUBSCRIBE',
            headers: [
              ['id', id],
              ['destination', destination],
              ['ack', 'auto'],
              ['receipt', receipt],
            ],
            body: Buffer.alloc(0),
          },
          '1.2',
        ),
      );
    });
  }

  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A SEND frame (destination + content-length) encoded once; `batch(n)` is n copies in one buffer. */
export class SendTemplate {
  readonly bytes: Buffer;

  constructor(destination: string, payload: Buffer) {
    this.bytes = encodeFrame({ command: 'SEND', headers: [['destination', destination]], body: payload }, '1.2');
  }

  batch(count: number): Buffer {
    const size = this.bytes.length;
    const out = Buffer.allocUnsafe(size * count);
    for (let i = 0; i < count; i++) this.bytes.copy(out, i * size);
    return out;
  }
}
