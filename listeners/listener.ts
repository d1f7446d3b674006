import net from 'node:net';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { BindAddress } from '../src/config/bind.js';
import type { AcceptPlan } from './accept-plan.js';
import type { AcceptStep } from './accept-step.js';
import { PhaseDeadlines } from './deadline.js';
import { ListenerStartError } from '../src/transport/errors.js';
import { stripV4Mapped } from '../src/transport/cidr.js';
import type { ListenerHandle } from '../src/transport/control.js';
import type { ConnectionHandler, ConnectionMeta, ListenerSpec, ListenerStatus } from '../src/transport/types.js';

export interface ListenerDeps extends AcceptPlan {
  handler: ConnectionHandler;
  logger: Logger;
  /** Counts refusals by reason, for metrics. */
  onRefused?: (listenerId: string, reason: string) => void;
}

/**
 * A protocol-blind transport: accepts sockets, runs the accept steps, and for
 * WebSocket listeners performs the HTTP upgrade, then yields (stream, meta).
 */
export class Listener implements ListenerHandle {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private http: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly metaBySocket = new WeakMap<net.Socket, ConnectionMeta>();
  private bound: BindAddress | undefined;
  private fixedLocal: BindAddress | undefined;
  /** WebSocket listeners: connections whose HTTP upgrade has not completed yet. */
  private readonly upgrades = new PhaseDeadlines((stream) => this.upgradeExpired(stream));
  /** Connections already refused (by meta: a wss connection has two sockets), so each is logged once. */
  private readonly refused = new WeakSet<ConnectionMeta>();
  /** One close handler for every socket (called with the socket as `this`), not a closure each. */
  private readonly forget: (this: net.Socket) => void;

  constructor(private specValue: ListenerSpec, private readonly deps: ListenerDeps) {
    const sockets = this.sockets;
    const upgrades = this.upgrades;
    this.forget = function (this: net.Socket) {
      sockets.delete(this);
      upgrades.done(this);
    };
  }

  get id(): string {
    return this.specValue.id;
  }

  get spec(): ListenerSpec {
    return this.specValue;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Takes new settings that apply to the next connection without a restart. */
  replaceSpec(spec: ListenerSpec): void {
    this.specValue = spec;
  }

  async start(): Promise<BindAddress> {
    if (this.server) return this.bound!;
    const spec = this.specValue;
    const server = net.createServer(
      {
        noDelay: spec.noDelay,
        pauseOnConnect: false,
        // tcp_options.keepalive: SO_KEEPALIVE with TCP_KEEPIDLE on every accepted socket.
        ...(spec.keepAliveIdleMs !== undefined ? { keepAlive: true, keepAliveInitialDelay: spec.keepAliveIdleMs } : {}),
      },
      (socket) => this.accept(socket),
    );
    if (spec.websocket) this.setUpWebsocket(spec);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        const where = `${spec.bind.host}:${spec.bind.port}`;
        const why =
          err.code === 'EADDRINUSE'
            ? 'address already in use'
            : err.code === 'EACCES'
              ? 'permission denied'
              : err.code === 'EADDRNOTAVAIL'
                ? 'address not available on this machine'
                : err.message;
        reject(new ListenerStartError(spec.id, where, err.code, `listener ${spec.id} cannot bind ${where}: ${why}`));
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: spec.bind.host, port: spec.bind.port, backlog: spec.backlog, ipv6Only: false });
    });
    server.on('error', (err) => this.deps.logger.error({ listener: spec.id, err: err.message }, 'listener error'));
    const addr = server.address() as net.AddressInfo;
    this.server = server;
    this.bound = { host: addr.address, port: addr.port };
    this.fixedLocal = addr.address === '::' || addr.address === '0.0.0.0' ? undefined : { host: stripV4Mapped(addr.address), port: addr.port };
    return this.bound;
  }

  address(): BindAddress | undefined {
    return this.bound;
  }

  connectionCount(): number {
    return this.sockets.size;
  }

  /** Stops accepting; with `dropConnections` also closes every connection of this listener. */
  async stop(dropConnections = true): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.bound = undefined;
    if (!server) return;
    // server.close() calls back only once every connection has ended.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.wss?.close();
    this.wss = undefined;
    this.http = undefined;
    if (!dropConnections) return;
    this.upgrades.clear();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Closes whatever connections are still open (after a stop that left them to their fronts). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  status(): ListenerStatus {
    const spec = this.specValue;
    return {
      id: spec.id,
      type: spec.transport,
      protocol: spec.protocol,
      running: this.running,
      bind: spec.bind.host.includes(':') ? `[${spec.bind.host}]:${spec.bind.port}` : `${spec.bind.host}:${spec.bind.port}`,
      ...(this.bound ? { address: this.bound } : {}),
      current_connections: this.sockets.size,
      max_connections: Number.isFinite(spec.maxConnections) ? spec.maxConnections : 'infinity',
    };
  }

  private accept(socket: net.Socket): void {
    const spec = this.specValue;
    socket.on('error', noop);
    if (spec.accessRules && !spec.accessRules.allows(socket.remoteAddress ?? '')) {
      this.refuse(socket, 'denied by access_rules');
      return;
    }
    if (this.sockets.size >= spec.maxConnections) {
      this.refuse(socket, 'max_connections reached');
      return;
    }
    this.sockets.add(socket);
    socket.on('close', this.forget);
    const meta: ConnectionMeta = {
      listenerId: spec.id,
      transport: spec.transport,
      protocol: spec.protocol,
      peerhost: stripV4Mapped(socket.remoteAddress ?? ''),
      peerport: socket.remotePort ?? 0,
      // A listener bound to one address knows the local end without asking the socket.
      sockhost: this.fixedLocal ? this.fixedLocal.host : stripV4Mapped(socket.localAddress ?? ''),
      sockport: this.fixedLocal ? this.fixedLocal.port : (socket.localPort ?? 0),
      mountpoint: spec.mountpoint,
      enableAuthn: spec.enableAuthn,
    };
    if (spec.zone !== 'default') meta.zone = spec.zone;
    const gate = this.deps.proxyHeader;
    if (gate) {
      const reader = gate.expect(socket, meta, (reason) => this.refuse(socket, reason, meta));
      if (!reader) return;
      meta.proxyHeader = reader;
    }
    const steps = this.deps.steps;
    if (steps.length === 0) {
      this.deliver(socket, meta);
      return;
    }
    void this.runSteps(socket, meta, steps);
  }

  private async runSteps(socket: net.Socket, meta: ConnectionMeta, steps: AcceptStep[]): Promise<void> {
    let stream = socket;
    try {
      for (const step of steps) stream = await step(stream, meta, this.specValue);
    } catch (err) {
      this.refuse(socket, (err as Error).message, meta);
      if (stream !== socket) stream.destroy();
      return;
    }
    if (stream !== socket) {
      stream.on('error', noop);
      stream.once('close', () => socket.destroy());
    }
    this.deliver(stream, meta);
  }

  private deliver(stream: net.Socket, meta: ConnectionMeta): void {
    if (this.http) {
      this.metaBySocket.set(stream, meta);
      // The HTTP request and upgrade have the front's CONNECT deadline too (issue 12): node's
      // own headersTimeout is 60 s and is checked only every 30 s.
      this.upgrades.start(stream, this.deps.handler.connectTimeoutMs?.() ?? DEFAULT_CONNECT_TIMEOUT_MS);
      // A wss connection's TLS stream closes on its own: it leaves the phase then.
      if (!this.sockets.has(stream)) stream.once('close', this.forget);
      this.http.emit('connection', stream);
      return;
    }
    this.deps.handler(stream, meta);
  }

  private refuse(socket: net.Socket, reason: string, meta?: ConnectionMeta): void {
    if (meta) {
      if (this.refused.has(meta)) {
        socket.destroy();
        return;
      }
      this.refused.add(meta);
    }
    this.deps.onRefused?.(this.specValue.id, reason);
    this.deps.logger.info(
      {
        listener: this.specValue.id,
        peer: meta ? `${meta.peerhost}:${meta.peerport}` : `${stripV4Mapped(socket.remoteAddress ?? '')}:${socket.remotePort ?? 0}`,
        reason,
      },
      'connection refused',
    );
    socket.destroy();
  }

  private setUpWebsocket(spec: ListenerSpec): void {
    const ws = spec.websocket!;
    const server = http.createServer((req, res) => {
      res.writeHead(ws.path === req.url ? 426 : 404, { 'content-type': 'text/plain' });
      res.end(ws.path === req.url ? 'WebSocket upgrade required\n' : 'not found\n');
    });
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: ws.maxFrameSize ?? 256 * 1024 * 1024,
      perMessageDeflate: false,
      handleProtocols: (offered) => {
        for (const p of ws.subprotocols) if (offered.has(p)) return p;
        return false;
      },
    });
    server.on('upgrade', (req, socket, head) => {
      const meta = this.metaBySocket.get(socket as net.Socket);
      const path = (req.url ?? '').split('?')[0];
      if (!meta || path !== ws.path) {
        this.refuseUpgrade(socket as net.Socket, 404, `no WebSocket endpoint at ${path}`, meta);
        return;
      }
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (ws.failIfNoSubprotocol && !offered.some((p) => ws.subprotocols.includes(p))) {
        this.refuseUpgrade(socket as net.Socket, 400, `no supported subprotocol offered (${offered.join(', ') || 'none'})`, meta);
        return;
      }
      this.upgrades.done(socket as net.Socket);
      wss.handleUpgrade(req, socket, head, (client: WebSocket) => {
        const stream = createWebSocketStream(client);
        stream.on('error', noop);
        this.deps.handler(stream as Duplex, meta);
      });
    });
    // A request node's HTTP parser cannot read: 400 [RFC 9110 §15.5.1], logged as a refusal.
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const stream = socket as net.Socket;
      this.upgrades.done(stream);
      const why = err.code?.startsWith('HPE_') ? `malformed HTTP request (${err.code})` : `connection failed before the WebSocket upgrade (${err.code ?? err.message})`;
      this.refuseUpgrade(stream, 400, why, this.metaBySocket.get(stream));
    });
    this.http = server;
    this.wss = wss;
  }

  /**
   * The HTTP request or WebSocket upgrade [RFC 6455 §4.1, §4.2] was not complete within the
   * front's CONNECT deadline: 408 Request Timeout [RFC 9110 §15.5.9], logged as a refusal.
   */
  private upgradeExpired(stream: net.Socket): void {
    this.refuseUpgrade(stream, 408, 'WebSocket upgrade not completed within idle_timeout', this.metaBySocket.get(stream));
  }

  private refuseUpgrade(socket: net.Socket, status: number, reason: string, meta?: ConnectionMeta): void {
    if (socket.writable) socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    this.refuse(socket, reason, meta);
  }
}

function noop(): void {}

/** The upgrade deadline of a listener whose front names none (`mqtt.idle_timeout`'s default). */
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
