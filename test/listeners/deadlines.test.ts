import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { startTestNode, connect, endClient, type TestNode } from '../helpers/node.js';

/**
 * Issue 12, point 5: every phase before a protocol's CONNECT has a deadline no longer than
 * that protocol's idle_timeout (the WebSocket upgrade, the Proxy Protocol header, the MQTT
 * CONNECT, the STOMP CONNECT frame), and a connection in any of them counts towards the
 * listener's max_connections. Real sockets; idle_timeout is 500 ms on both protocols.
 */

const IDLE_MS = 500;
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Trickler {
  socket: net.Socket;
  received: () => string;
  /** Resolves with the milliseconds from the start to the close. */
  closed: Promise<number>;
  stop: () => void;
}

/**
 * Opens a connection (plain or TLS), writes `head` at once, then one byte of `trickle` every
 * `everyMs` (a client that never finishes, but is never silent either).
 */
async function trickler(port: number, head: string, trickle: string, secure = false, everyMs = 100): Promise<Trickler> {
  const started = Date.now();
  const socket: net.Socket = secure
    ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' })
    : net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  await new Promise<void>((resolve, reject) => {
    socket.once(secure ? 'secureConnect' : 'connect', resolve);
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  if (head) socket.write(head);
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || trickle === '') return;
    socket.write(trickle[i % trickle.length]!);
    i++;
  }, everyMs);
  void closed.then(() => clearInterval(timer));
  return { socket, received: () => Buffer.concat(chunks).toString('latin1'), closed, stop: () => (clearInterval(timer), socket.destroy()) };
}

/** Milliseconds from the start to the close, or Infinity when still open `ms` from now. */
function closeTime(t: Trickler, ms = IDLE_MS + 2000): Promise<number> {
  return Promise.race([t.closed, pause(ms).then(() => Infinity)]);
}

/** Resolves true when the socket is closed by the server within `ms`. */
async function closedWithin(t: Trickler, ms: number): Promise<boolean> {
  return Promise.race([t.closed.then(() => true), pause(ms).then(() => false)]);
}

const UPGRADE_HEAD = 'GET /mqtt HTTP/1.1\r\nHost: localhost\r\n';
const STOMP_UPGRADE_HEAD = 'GET /stomp HTTP/1.1\r\nHost: localhost\r\n';

describe('deadlines on every phase before CONNECT', () => {
  let t: TestNode;
  let dir: string;
  let certs: DevCertPaths;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-deadlines-'));
    certs = await generateDevCertificates(dir);
    const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}" }`;
    t = await startTestNode(`
      mqtt.idle_timeout = ${IDLE_MS}ms
      listeners.ws.capped { bind = "127.0.0.1:0", max_connections = 3 }
      listeners.wss.default { bind = "127.0.0.1:0", ${ssl} }
      listeners.wss.capped { bind = "127.0.0.1:0", max_connections = 2, ${ssl} }
      listeners.tcp.capped { bind = "127.0.0.1:0", max_connections = 3 }
      listeners.ws.proxied { bind = "127.0.0.1:0", proxy_protocol = true, proxy_protocol_timeout = 30s }
      gateway.stomp {
        idle_timeout = ${IDLE_MS}ms
        listeners.tcp.default { bind = "127.0.0.1:0", max_connections = 3 }
        listeners.ws.default { bind = "127.0.0.1:0", max_connections = 2 }
      }
    `);
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function refusals(listener: string, reason: string | RegExp): Array<Record<string, unknown>> {
    return t.logs.lines.filter(
      (l) => l['msg'] === 'connection refused' && l['listener'] === listener && (typeof reason === 'string' ? l['reason'] === reason : reason.test(String(l['reason']))),
    );
  }

  /**
   * Opens `n` connections that stay in a phase before CONNECT (`head`, then `trickle`), checks
   * that the next connection is refused for max_connections, and returns the `n`.
   */
  async function fillUp(listener: string, n: number, head: string, trickle: string, secure = false): Promise<Trickler[]> {
    const port = t.port(listener);
    const open = await Promise.all(Array.from({ length: n }, () => trickler(port, head, trickle, secure)));
    await pause(50);
    const extra = await trickler(port, '', '', secure).catch(() => undefined);
    if (extra) assert.ok(await closedWithin(extra, 300), `connection ${n + 1} is closed at once`);
    assert.ok(refusals(listener, 'max_connections reached').length >= 1, 'refused for max_connections');
    return open;
  }

  /** Every connection is closed by the deadline (within 1.5 s of idle_timeout). */
  async function closedByDeadline(open: Trickler[]): Promise<void> {
    const times = await Promise.all(open.map((c) => closeTime(c)));
    for (const c of open) c.stop();
    assert.ok(Math.max(...times) < IDLE_MS + 1500, `closed after ${times.join(', ')} ms`);
  }

  test('ws: an upgrade whose headers trickle in is closed by idle_timeout, answered 408, logged once', async () => {
    const before = refusals('ws:default', /WebSocket upgrade/).length;
    const c = await trickler(t.port('ws:default'), UPGRADE_HEAD, 'X-Slow: a\r\n');
    const after = await closeTime(c);
    c.stop();
    assert.ok(after >= IDLE_MS - 50 && after < IDLE_MS + 1500, `closed after ${after} ms`);
    assert.match(c.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
    await pause(50);
    assert.equal(refusals('ws:default', 'WebSocket upgrade not completed within idle_timeout').length - before, 1, 'one log line');
  });

  test('ws: many trickling upgrades at once are all closed by idle_timeout', async () => {
    // 300 rather than the 1 000 of the report: the test shares two cores with the suite.
    const clients = await Promise.all(Array.from({ length: 300 }, () => trickler(t.port('ws:default'), UPGRADE_HEAD, 'X', false, 250)));
    const times = await Promise.all(clients.map((c) => closeTime(c, IDLE_MS + 5000)));
    for (const c of clients) c.stop();
    const late = times.filter((ms) => ms > IDLE_MS + 4000);
    assert.equal(late.length, 0, `${late.length} of ${times.length} still open 4 s after idle_timeout`);
  });

  test('ws: with max_connections = 3, three half-open upgrades make the fourth connection refused', async () => {
    await closedByDeadline(await fillUp('ws:capped', 3, 'GET /mq', 't'));
    // Once the deadline has closed the three, the listener takes connections again.
    const client = await connect(`ws://127.0.0.1:${t.port('ws:capped')}/mqtt`, { clientId: 'after-cap' });
    assert.ok(client.connected);
    await endClient(client);
  });

  test('ws: repeated plain requests on one keep-alive connection do not extend the deadline', async () => {
    const c = await trickler(t.port('ws:default'), 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n', '');
    const timer = setInterval(() => c.socket.writable && c.socket.write('GET /other HTTP/1.1\r\nHost: x\r\n\r\n'), 100);
    const after = await closeTime(c);
    clearInterval(timer);
    c.stop();
    assert.ok(after < IDLE_MS + 1500, `closed after ${after} ms`);
  });

  test('wss: a trickled upgrade inside TLS is closed by idle_timeout', async () => {
    const c = await trickler(t.port('wss:default'), UPGRADE_HEAD, 'X-Slow: a\r\n', true);
    const after = await closeTime(c);
    c.stop();
    assert.ok(after >= IDLE_MS - 50 && after < IDLE_MS + 1500, `closed after ${after} ms`);
    assert.ok(refusals('wss:default', 'WebSocket upgrade not completed within idle_timeout').length >= 1);
  });

  test('wss: with max_connections = 2, two half-open upgrades make the third refused', async () => {
    await closedByDeadline(await fillUp('wss:capped', 2, 'GET /mq', 't', true));
  });

  test('tcp: with max_connections = 3, three connections without CONNECT make the fourth refused; all closed by idle_timeout', async () => {
    await closedByDeadline(await fillUp('tcp:capped', 3, '\x10', ''));
  });

  test('Proxy Protocol: a ws listener waits for the header no longer than idle_timeout', async () => {
    const c = await trickler(t.port('ws:proxied'), 'PROXY TCP4 ', '1');
    const after = await closeTime(c, IDLE_MS + 3000);
    c.stop();
    assert.ok(after < IDLE_MS + 1500, `closed after ${after} ms (proxy_protocol_timeout is 30 s)`);
    assert.ok(refusals('ws:proxied', /proxy protocol/).length >= 1);
  });

  test('STOMP tcp: a CONNECT frame that never completes is closed by idle_timeout and logged once', async () => {
    const port = t.port('stomp:tcp:default');
    const before = refusals('stomp:tcp:default', 'no CONNECT within idle_timeout').length;
    const c = await trickler(port, 'CONNECT\naccept-version:1.2\n', 'x');
    const after = await closeTime(c);
    c.stop();
    assert.ok(after >= IDLE_MS - 50 && after < IDLE_MS + 1500, `closed after ${after} ms`);
    await pause(50);
    assert.equal(refusals('stomp:tcp:default', 'no CONNECT within idle_timeout').length - before, 1);
  });

  test('STOMP tcp: with max_connections = 3, three unfinished CONNECTs make the fourth refused', async () => {
    await closedByDeadline(await fillUp('stomp:tcp:default', 3, 'CONNECT\n', 'x'));
  });

  test('STOMP ws: a trickled upgrade is closed by idle_timeout; two make the third refused', async () => {
    await closedByDeadline(await fillUp('stomp:ws:default', 2, STOMP_UPGRADE_HEAD, 'X'));
    assert.ok(refusals('stomp:ws:default', 'WebSocket upgrade not completed within idle_timeout').length >= 2);
  });
});
