// tcp_options.keepalive on real sockets: the accepted socket of a listener with keepalive has
// the kernel's keep-alive timer armed for the configured idle time, one without has none.
// Read from /proc/net/tcp (Linux): the `tr` column is 2 while the keep-alive timer
// (sk_timer) is pending and `tm->when` is the time left in clock ticks (USER_HZ).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { CONNACK_OK, connectPacket } from './support.js';

const USER_HZ = 100;

/** The server side of the connection from `clientPort` to `serverPort`: its timer kind and seconds left. */
function serverSocketTimer(serverPort: number, clientPort: number): { timer: number; secondsLeft: number } {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    if (f[1]!.endsWith(`:${hex(serverPort)}`) && f[2]!.endsWith(`:${hex(clientPort)}`)) {
      const [timer, when] = f[5]!.split(':');
      return { timer: Number.parseInt(timer!, 16), secondsLeft: Number.parseInt(when!, 16) / USER_HZ };
    }
  }
  throw new Error(`no socket 127.0.0.1:${serverPort} ← :${clientPort} in /proc/net/tcp`);
}

/** The timer once node has accepted the connection and set its options (polled: accept is asynchronous). */
async function armedTimer(serverPort: number, clientPort: number): Promise<{ timer: number; secondsLeft: number }> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const found = serverSocketTimer(serverPort, clientPort);
    if (found.timer === 2 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function openTcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Connects, completes the protocol's handshake, and returns the open socket. */
function openMqtt(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('connect', () => s.write(connectPacket(`ka-${port}-${Math.random()}`)));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.includes(CONNACK_OK)) resolve(s);
    });
    s.on('error', reject);
  });
}

describe('tcp_options.keepalive', () => {
  let t: TestNode;

  before(async () => {
    t = await startTestNode(
      [
        'listeners.tcp.probed { bind = "127.0.0.1:0", tcp_options.keepalive = "37" }',
        'listeners.ws.probed { bind = "127.0.0.1:0", tcp_options.keepalive = "41" }',
        'gateway.stomp.listeners.tcp.default { bind = "127.0.0.1:0", tcp_options.keepalive = "53" }',
      ].join('\n'),
    );
  });
  after(() => t.stop());

  test('an MQTT tcp listener with keepalive = "37" arms the keep-alive timer for 37 s; the default (none) arms none', async () => {
    const probed = await openMqtt(t.port('tcp:probed'));
    const plain = await openMqtt(t.port('tcp:default'));
    try {
      const withKa = serverSocketTimer(t.port('tcp:probed'), probed.localPort!);
      assert.equal(withKa.timer, 2, 'keep-alive timer pending');
      assert.ok(withKa.secondsLeft > 30 && withKa.secondsLeft <= 37, `${withKa.secondsLeft} s left`);
      assert.equal(serverSocketTimer(t.port('tcp:default'), plain.localPort!).timer, 0, 'no timer without keepalive');
    } finally {
      probed.destroy();
      plain.destroy();
    }
  });

  test('a ws listener and a STOMP gateway listener take it too (the accepted TCP socket)', async () => {
    const ws = await openTcp(t.port('ws:probed'));
    const stomp = await openTcp(t.port('stomp:tcp:default'));
    try {
      const wsTimer = await armedTimer(t.port('ws:probed'), ws.localPort!);
      assert.equal(wsTimer.timer, 2);
      assert.ok(wsTimer.secondsLeft > 34 && wsTimer.secondsLeft <= 41, `${wsTimer.secondsLeft} s left`);
      const stompTimer = await armedTimer(t.port('stomp:tcp:default'), stomp.localPort!);
      assert.equal(stompTimer.timer, 2);
      assert.ok(stompTimer.secondsLeft > 46 && stompTimer.secondsLeft <= 53, `${stompTimer.secondsLeft} s left`);
    } finally {
      ws.destroy();
      stomp.destroy();
    }
  });

  test('changing keepalive through the listener manager restarts the listener with the new setting', async () => {
    const listener = t.node.listeners.get('tcp:probed')!;
    await t.node.listeners.update({ ...listener.spec, keepAliveIdleMs: 59_000 });
    const s = await openMqtt(t.port('tcp:probed'));
    try {
      const timer = serverSocketTimer(t.port('tcp:probed'), s.localPort!);
      assert.equal(timer.timer, 2);
      assert.ok(timer.secondsLeft > 52 && timer.secondsLeft <= 59, `${timer.secondsLeft} s left`);
    } finally {
      s.destroy();
    }
  });
});
