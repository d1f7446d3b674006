// Shared pieces of the transport tests: a recording authentication stub, child processes
// (mosquitto clients, openssl, haproxy) and free ports.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthenticationService, ClientCredential } from '../../src/authn/types.js';

/** Lets everyone in and remembers what authentication was shown. */
export class RecordingAuthn implements AuthenticationService {
  readonly seen: ClientCredential[] = [];
  private waiters: Array<{ clientid: string; resolve: (c: ClientCredential) => void }> = [];

  async authenticate(credential: ClientCredential) {
    this.seen.push(credential);
    for (const w of this.waiters.filter((w) => w.clientid === credential.clientid)) w.resolve(credential);
    this.waiters = this.waiters.filter((w) => w.clientid !== credential.clientid);
    return { allowed: true as const, anonymous: false, isSuperuser: false };
  }

  /** The credential of the client with this id (waits for it). */
  credentialOf(clientid: string, timeoutMs = 5000): Promise<ClientCredential> {
    const found = this.seen.find((c) => c.clientid === clientid);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no authentication for ${clientid} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ clientid, resolve: (c) => (clearTimeout(timer), resolve(c)) });
    });
  }
}

export { run, type ProcessResult } from '../helpers/process.js';

/** A port nothing listens on right now (bind 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** haproxy in the foreground (-db) with a generated config; stop() kills it. */
export async function startHaproxy(dir: string, config: string, ports: number[]): Promise<{ stop(): Promise<void>; output(): string }> {
  const file = join(dir, `haproxy-${ports.join('-')}.cfg`);
  writeFileSync(file, config);
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      Promise.all(ports.map((p) => waitForPort(p))),
      exited.then(() => {
        throw new Error(`haproxy exited: ${output}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** An MQTT 3.1.1 CONNECT with a client id and clean session, no credentials. */
export function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]);
  const payload = Buffer.concat([Buffer.from([id.length >> 8, id.length & 0xff]), id]);
  const remaining = variable.length + payload.length;
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}

/** The CONNACK a successful MQTT 3.1.1 CONNECT gets. */
export const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

/** Sends raw bytes on a fresh TCP connection and collects what comes back until close or timeout. */
export function rawExchange(port: number, chunks: Buffer[], opts: { gapMs?: number; waitMs?: number } = {}): Promise<{ received: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ received: Buffer.concat(got), closed });
    };
    const timer = setTimeout(finish, opts.waitMs ?? 1500);
    s.on('data', (d: Buffer) => {
      got.push(d);
      if (Buffer.concat(got).includes(CONNACK_OK)) finish();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) break;
        s.write(c);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}

export interface TlsExchange {
  reused: boolean;
  session: Buffer | undefined;
  received: Buffer;
  error?: string;
}

/**
 * node's tls client: sends `payload` after the handshake, collects until `done(received)` (and
 * a session ticket, unless `waitForTicket` is false) or close.
 */
export function tlsExchange(opts: tls.ConnectionOptions, payload: Buffer, done: (got: Buffer) => boolean, waitForTicket = true): Promise<TlsExchange> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let received = Buffer.alloc(0);
    let settled = false;
    let reused = false;
    const socket = tls.connect({ host: '127.0.0.1', servername: 'localhost', ...opts });
    socket.setTimeout(8000, () => finish('no answer within 8 s'));
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ reused, session, received, ...(error ? { error } : {}) });
    };
    socket.on('session', (s: Buffer) => {
      session = s;
      if (done(received)) finish();
    });
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write(payload);
    });
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      // TLS 1.3 tickets may come after the first application data: wait for one.
      if (done(received) && (session || !waitForTicket)) finish();
    });
    socket.on('error', (err) => finish(err.message));
    socket.on('close', () => finish());
  });
}


/** HOCON for an `ssl`, a `wss` and a STOMP `ssl` listener named `name` on port 0 with the same `ssl_options { ... }` block. */
export function tlsListenersConf(name: string, sslOptions: string): string[] {
  const bind = 'bind = "127.0.0.1:0"';
  return [`listeners.ssl.${name} { ${bind}, ${sslOptions} }`, `listeners.wss.${name} { ${bind}, ${sslOptions} }`, `gateway.stomp { listeners.ssl.${name} { ${bind}, ${sslOptions} } }`];
}
