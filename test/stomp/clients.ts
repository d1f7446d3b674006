import net from 'node:net';
import { createRequire } from 'node:module';
import { Client, type IFrame, type IMessage, type IStompSocket, type StompConfig } from '@stomp/stompjs';
import WebSocket from 'ws';

/** Independent STOMP clients for the gateway tests: @stomp/stompjs (WebSocket and TCP) and stompit (TCP). */

// ---- stompit (no type definitions shipped; the slice the tests use) ----------------------

export interface StompitMessage {
  headers: Record<string, string>;
  readString(encoding: string, cb: (err: Error | null, body?: string) => void): void;
}
export interface StompitWritable {
  write(chunk: string | Buffer): void;
  end(cb?: (err?: Error | null) => void): void;
}
export interface StompitClient {
  send(headers: Record<string, string>, options?: { onReceipt?: () => void }): StompitWritable;
  subscribe(headers: Record<string, string>, onMessage: (err: Error | null, message: StompitMessage) => void): { unsubscribe(): void };
  begin(headers?: Record<string, string>): { send(headers: Record<string, string>): StompitWritable; commit(): void; abort(): void };
  ack(message: StompitMessage): void;
  disconnect(cb?: (err: Error | null) => void): void;
  destroy(err?: Error): void;
  on(event: 'error', listener: (err: Error & { command?: string; headers?: Record<string, string> }) => void): void;
}
interface StompitModule {
  connect(
    options: {
      host: string;
      port: number;
      connectHeaders: Record<string, string>;
      connect?: (options: net.NetConnectOpts, onConnect: () => void) => net.Socket;
    },
    cb: (err: (Error & { headers?: Record<string, string> }) | null, client: StompitClient) => void,
  ): StompitClient;
}
export const stompit = createRequire(import.meta.url)('stompit') as StompitModule;

export function stompitConnect(port: number, headers: Record<string, string> = {}): Promise<StompitClient> {
  return new Promise((resolve, reject) => {
    // stompit destroys its socket with the server's ERROR as the reason; the socket needs a listener for that.
    const connectSocket = (options: net.NetConnectOpts, onConnect: () => void) => net.connect(options, onConnect).on('error', () => undefined);
    const client = stompit.connect(
      { host: '127.0.0.1', port, connectHeaders: { host: '/', 'accept-version': '1.2', ...headers }, connect: connectSocket },
      (err, c) => (err ? reject(err) : resolve(c)),
    );
    // A refused client reports the ERROR to the callback and then again as an event.
    client.on('error', () => undefined);
  });
}

export function stompitRead(message: StompitMessage): Promise<string> {
  return new Promise((resolve, reject) => message.readString('utf-8', (err, body) => (err ? reject(err) : resolve(body ?? ''))));
}

export function stompitDisconnect(client: StompitClient): Promise<void> {
  return new Promise((resolve) => client.disconnect(() => resolve()));
}

// ---- @stomp/stompjs ----------------------------------------------------------------------

/** stompjs wants a WebSocket; this gives it a plain TCP socket with the same surface. */
class TcpStompSocket implements IStompSocket {
  onclose: ((ev?: unknown) => unknown) | null = null;
  onerror: ((ev: unknown) => unknown) | null = null;
  onmessage: ((ev: { data: ArrayBuffer }) => unknown) | null = null;
  onopen: ((ev?: unknown) => unknown) | null = null;
  binaryType = 'arraybuffer';
  readyState = 0;
  private readonly socket: net.Socket;

  constructor(readonly url: string, port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port }, () => {
      this.readyState = 1;
      this.onopen?.();
    });
    this.socket.on('data', (chunk: Buffer) => {
      const data = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
      this.onmessage?.({ data });
    });
    this.socket.on('error', (err) => this.onerror?.(err));
    this.socket.on('close', () => {
      this.readyState = 3;
      this.onclose?.({ code: 1000, reason: '', wasClean: true });
    });
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (typeof data === 'string') this.socket.write(data);
    else if (ArrayBuffer.isView(data)) this.socket.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    else this.socket.write(Buffer.from(data as ArrayBuffer));
  }

  close(): void {
    this.readyState = 2;
    this.socket.end();
  }
}

export type StompJsTransport = { ws: string } | { tcp: number };

export interface StompJsSession {
  client: Client;
  connected: IFrame;
}

/** Activates a stompjs client (no reconnects) and resolves on CONNECTED, rejects on ERROR or close. */
export function stompjsConnect(transport: StompJsTransport, config: StompConfig = {}): Promise<StompJsSession> {
  return new Promise((resolve, reject) => {
    const client = new Client({
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      webSocketFactory: () =>
        'ws' in transport ? new WebSocket(transport.ws, ['v12.stomp']) : new TcpStompSocket(`tcp://127.0.0.1:${transport.tcp}`, transport.tcp),
      ...config,
      onConnect: (frame) => resolve({ client, connected: frame }),
      onStompError: (frame) => {
        void client.deactivate();
        reject(Object.assign(new Error(frame.headers['message'] ?? 'STOMP ERROR'), { frame }));
      },
      onWebSocketClose: () => reject(new Error('closed before CONNECTED')),
    });
    client.activate();
  });
}

/** Subscribes and resolves with the first `count` messages. */
export function stompjsCollect(client: Client, destination: string, count: number, headers: Record<string, string> = {}): { messages: Promise<IMessage[]>; unsubscribe: () => void } {
  let unsubscribe = () => undefined as void;
  const messages = new Promise<IMessage[]>((resolve) => {
    const got: IMessage[] = [];
    const sub = client.subscribe(
      destination,
      (message) => {
        got.push(message);
        if (got.length === count) resolve(got);
      },
      headers,
    );
    unsubscribe = () => sub.unsubscribe();
  });
  return { messages, unsubscribe };
}

/** Resolves when the server's RECEIPT for `receiptId` arrives. */
export function stompjsReceipt(client: Client, receiptId: string): Promise<IFrame> {
  return new Promise((resolve) => client.watchForReceipt(receiptId, resolve));
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
