import net from 'node:net';
import { SERVER_COMMANDS, StompDecoder, encodeFrame, header, isHeartbeat, type StompFrame, type StompVersion } from '../../gateways/stomp/frame.js';

/**
 * A byte-level STOMP client for tests that need exact control of what goes on the wire
 * (malformed frames, heart-beats, pipelining). Decodes the server's frames with the codec.
 */
export class RawStomp {
  readonly frames: StompFrame[] = [];
  heartbeats = 0;
  closed = false;
  private readonly decoder: StompDecoder;
  private waiters: Array<() => void> = [];
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.decoder = new StompDecoder({ maxHeaders: 1000, maxHeadersLength: 1 << 20, maxBodyLength: 1 << 24 }, '1.2', {
      commands: SERVER_COMMANDS,
      followConnectVersion: false,
    });
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) {
        if (isHeartbeat(item)) this.heartbeats += 1;
        else this.frames.push(item);
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawStomp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new RawStomp(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Connects and completes a CONNECT; resolves with the CONNECTED frame. */
  static async login(port: number, headers: Array<[string, string]> = [['accept-version', '1.2']]): Promise<{ client: RawStomp; connected: StompFrame }> {
    const client = await RawStomp.connect(port);
    client.sendFrame('CONNECT', headers);
    const connected = await client.next();
    if (connected.command !== 'CONNECTED') throw new Error(`expected CONNECTED, got ${connected.command}: ${connected.body.toString()}`);
    const version = header(connected, 'version') as StompVersion | undefined;
    if (version) client.decoder.setVersion(version);
    return { client, connected };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
  }

  sendFrame(command: string, headers: Array<[string, string]> = [], body: Buffer | string = '', version: StompVersion = '1.2'): void {
    this.write(encodeFrame({ command, headers, body: typeof body === 'string' ? Buffer.from(body) : body }, version));
  }

  /** Waits until `predicate` holds (re-checked on every frame, heart-beat or close). */
  async until(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private taken = 0;

  /** The next frame not yet returned by `next()`. */
  async next(timeoutMs = 3000): Promise<StompFrame> {
    await this.until(() => this.frames.length > this.taken || this.closed, timeoutMs, 'a frame');
    const frame = this.frames[this.taken];
    if (!frame) throw new Error('connection closed before the next frame');
    this.taken += 1;
    return frame;
  }

  /** Resolves with the next frame if one arrives within `ms`, else undefined. */
  async maybeNext(ms: number): Promise<StompFrame | undefined> {
    try {
      return await this.next(ms);
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export function h(frame: StompFrame, name: string): string | undefined {
  return header(frame, name);
}
