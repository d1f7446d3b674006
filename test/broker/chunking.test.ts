import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { startTestNode, type TestNode } from '../helpers/node.js';

/**
 * Issue 12, point 7: the MQTT front and the STOMP channel answer a CONNECT the same way
 * whether its bytes arrive in one read or one byte per read. Every case is replayed both
 * ways against a real node and the bytes that come back (and the logged reason) compared.
 */

type Mode = 'whole' | 'bytewise';

interface Replay {
  received: Buffer;
  closed: boolean;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends `bytes` in one write or one byte per write (Nagle off, a short wait between bytes so
 * each one is its own segment), stops writing once the server answers or closes, and
 * collects what comes back until the server closes or is quiet for `quietMs`.
 */
async function replay(port: number, bytes: Buffer, mode: Mode, quietMs = 400): Promise<Replay> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let answered = false;
  let closed = false;
  let lastActivity = Date.now();
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    answered = true;
    lastActivity = Date.now();
  });
  socket.on('end', () => (answered = true));
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (mode === 'whole') {
    socket.write(bytes);
  } else {
    for (let i = 0; i < bytes.length && !answered && !closed; i++) {
      socket.write(bytes.subarray(i, i + 1));
      await pause(1);
    }
  }
  lastActivity = Date.now();
  const deadline = Date.now() + 5000;
  while (!closed && Date.now() < deadline && Date.now() - lastActivity < quietMs) {
    await Promise.race([closedPromise, pause(50)]);
  }
  socket.destroy();
  return { received: Buffer.concat(chunks), closed };
}

/** Replays both ways; returns both answers and the refusal reasons logged for each. */
async function both(t: TestNode, port: number, bytes: Buffer, logMsg: string): Promise<Array<Replay & { reasons: string[] }>> {
  const out: Array<Replay & { reasons: string[] }> = [];
  for (const mode of ['whole', 'bytewise'] as const) {
    const from = t.logs.lines.length;
    const r = await replay(port, bytes, mode);
    await pause(20);
    const reasons = t.logs.lines
      .slice(from)
      .filter((l) => l['msg'] === logMsg)
      .map((l) => String(l['reason']));
    out.push({ ...r, reasons });
  }
  return out;
}

function v4Connect(fields: { clientId: string; username?: string; password?: string }, protocolVersion: 4 | 5 = 4): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolVersion,
    clean: true,
    keepalive: 30,
    clientId: fields.clientId,
    ...(fields.username !== undefined ? { username: fields.username } : {}),
    ...(fields.password !== undefined ? { password: Buffer.from(fields.password) } : {}),
  });
}

function stompFrame(command: string, headers: Array<[string, string]>, body = ''): Buffer {
  return Buffer.from(`${command}\n${headers.map(([k, v]) => `${k}:${v}\n`).join('')}\n${body}\0`, 'utf8');
}

describe('answers to a CONNECT do not depend on how its bytes are cut', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(`
      mqtt.idle_timeout = 3s
      mqtt.max_packet_size = 1KB
      authentication = [{ mechanism = password_based, backend = built_in_database }]
      gateway.stomp {
        idle_timeout = 3s
        frame { max_headers = 8, max_headers_length = 200, max_body_length = 32 }
        authentication { mechanism = password_based, backend = built_in_database }
        listeners.tcp.default.bind = "127.0.0.1:0"
      }
    `);
    await t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!.add({ user_id: 'alice', password: 'right-pass' });
    await t.node.authn.chain('stomp:global')!.entries[0]!.authenticator.users!.add({ user_id: 'bob', password: 'right-pass' });
  });
  after(async () => {
    await t.stop();
  });

  // [name, bytes, the answer expected in both modes, the logged reason expected in both modes]
  const mqttCases: Array<[string, Buffer, number[], RegExp]> = [
    ['a bad first byte', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]), [], /^first packet is not CONNECT \(first byte 0xde\)$/],
    ['HTTP on the MQTT port', Buffer.from('GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n'), [], /^HTTP request on an MQTT listener$/],
    ['"G" that is not HTTP', Buffer.from('GXYZ'), [], /^first packet is not CONNECT \(first byte 0x47\)$/],
    ['TLS on the plain port', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]), [], /^TLS handshake on a plain MQTT listener$/],
    ['a PROXY v1 header', Buffer.from('PROXY TCP4 203.0.113.1 192.0.2.1 1000 1883\r\n'), [], /^Proxy Protocol header on a listener without proxy_protocol$/],
    ['a bad remaining length', Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]), [], /^malformed remaining length in CONNECT$/],
    ['a CONNECT over max_packet_size', Buffer.concat([Buffer.from([0x10, 0x90, 0x10]), Buffer.alloc(64)]), [], /exceeds max_packet_size/],
    [
      'protocol level 6 [MQTT-3.1.2-2]',
      Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61]),
      [0x20, 0x02, 0x00, 0x01],
      /^unsupported protocol level 6$/,
    ],
    ['a wrong password (v3.1.1: return code 4)', v4Connect({ clientId: 'c1', username: 'alice', password: 'wrong' }), [0x20, 0x02, 0x00, 0x04], /^bad_username_or_password$/],
    ['a wrong password (v5: reason code 0x86)', v4Connect({ clientId: 'c2', username: 'alice', password: 'wrong' }, 5), [0x20, 0x03, 0x00, 0x86, 0x00], /^bad_username_or_password$/],
  ];
  for (const [name, bytes, expected, reason] of mqttCases) {
    test(`MQTT: ${name}`, async () => {
      const [whole, bytewise] = await both(t, t.port(), bytes, 'connection refused');
      assert.deepEqual([...whole!.received], expected, 'the answer to one write');
      assert.deepEqual([...bytewise!.received], [...whole!.received], 'the same answer byte by byte');
      assert.ok(whole!.closed && bytewise!.closed, 'closed both times');
      assert.equal(whole!.reasons.length, 1, `one refusal logged: ${whole!.reasons.join(' | ')}`);
      assert.match(whole!.reasons[0]!, reason);
      assert.deepEqual(bytewise!.reasons, whole!.reasons, 'the same reason logged');
    });
  }

  test('MQTT: an accepted CONNECT gets the same CONNACK both ways', async () => {
    const [whole, bytewise] = await both(t, t.port(), v4Connect({ clientId: 'ok', username: 'alice', password: 'right-pass' }), 'connection refused');
    assert.deepEqual([...whole!.received], [0x20, 0x02, 0x00, 0x00]);
    assert.deepEqual([...bytewise!.received], [...whole!.received]);
  });

  const stompCases: Array<[string, Buffer, RegExp]> = [
    ['an unsupported version', stompFrame('CONNECT', [['accept-version', '9.9'], ['host', '/']]), /message:Login Failed: Supported protocol versions < 1.2/],
    ['a wrong passcode', stompFrame('CONNECT', [['accept-version', '1.2'], ['login', 'bob'], ['passcode', 'wrong']]), /^ERROR\n/],
    ['a malformed heart-beat', stompFrame('CONNECT', [['accept-version', '1.2'], ['login', 'bob'], ['passcode', 'right-pass'], ['heart-beat', 'x']]), /heart-beat/],
    ['SEND before CONNECT', stompFrame('SEND', [['destination', '/a']], 'x'), /Not connected/],
    ['an unknown command', stompFrame('HELLO', []), /^ERROR\n/],
    ['too many headers', stompFrame('CONNECT', Array.from({ length: 12 }, (_, i): [string, string] => [`h${i}`, 'v'])), /^ERROR\n/],
    ['a header block over max_headers_length', stompFrame('CONNECT', [['accept-version', '1.2'], ['x', 'y'.repeat(300)]]), /^ERROR\n/],
    ['a body over max_body_length', stompFrame('CONNECT', [['accept-version', '1.2'], ['content-length', '40']], 'z'.repeat(40)), /^ERROR\n/],
  ];
  for (const [name, bytes, answer] of stompCases) {
    test(`STOMP: ${name}`, async () => {
      const [whole, bytewise] = await both(t, t.port('stomp:tcp:default'), bytes, 'stomp connection closed on error');
      assert.match(whole!.received.toString('utf8'), answer, 'the answer to one write');
      assert.equal(bytewise!.received.toString('utf8'), whole!.received.toString('utf8'), 'the same answer byte by byte');
      assert.ok(whole!.closed && bytewise!.closed, 'closed both times');
    });
  }

  test('STOMP: an accepted CONNECT gets the same CONNECTED both ways', async () => {
    const bytes = stompFrame('CONNECT', [['accept-version', '1.2'], ['login', 'bob'], ['passcode', 'right-pass'], ['heart-beat', '0,0']]);
    const [whole, bytewise] = await both(t, t.port('stomp:tcp:default'), bytes, 'stomp connection closed on error');
    const strip = (b: Buffer) => b.toString('utf8').replace(/session:[^\n]*\n/, '');
    assert.match(strip(whole!.received), /^CONNECTED\n/);
    assert.equal(strip(bytewise!.received), strip(whole!.received));
  });
});
