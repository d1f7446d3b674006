import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, connect, endClient, nextMessage, subscribe, publish, type TestNode } from '../helpers/node.js';
import { RawStomp, h } from './raw-client.js';
import {
  stompitConnect,
  stompitDisconnect,
  stompitRead,
  stompjsCollect,
  stompjsConnect,
  stompjsReceipt,
  withTimeout,
} from './clients.js';

/** End to end through a full node: real sockets, independent STOMP clients, mqtt.js on the other side. */

const CONF = `
gateway.stomp {
  listeners.tcp.default.bind = "127.0.0.1:0"
  listeners.tcp.mounted { bind = "127.0.0.1:0", mountpoint = "stomp/" }
  listeners.ws.default.bind = "127.0.0.1:0"
}
`;

describe('STOMP gateway end to end', () => {
  let t: TestNode;
  let port: number;
  let wsUrl: string;
  before(async () => {
    t = await startTestNode(CONF);
    port = t.port('stomp:tcp:default');
    wsUrl = `ws://127.0.0.1:${t.port('stomp:ws:default')}/stomp`;
  });
  after(async () => {
    await t.stop();
  });

  test('listeners are named stomp:<type>:<name>', () => {
    const ids = t.node.listeners.list().map((l) => l.id).filter((id) => id.startsWith('stomp:')).sort();
    assert.deepEqual(ids, ['stomp:tcp:default', 'stomp:tcp:mounted', 'stomp:ws:default']);
  });

  test('stompjs over WebSocket: subscribe, send with a custom header, receipts', async () => {
    const { client, connected } = await stompjsConnect({ ws: wsUrl });
    assert.equal(connected.headers['version'], '1.2');
    const { messages } = stompjsCollect(client, 'ws/+/x', 1);
    // The SUBSCRIBE is acknowledged before anything is sent.
    const subReceipt = stompjsReceipt(client, 'sub-r');
    client.publish({ destination: 'noop/topic', headers: { receipt: 'sub-r' } });
    await withTimeout(subReceipt, 3000, 'receipt');
    client.publish({ destination: 'ws/a/x', body: 'héllo: world', headers: { 'x-trace': 'abc:1', 'content-type': 'text/x-test' } });
    const [msg] = await withTimeout(messages, 3000, 'message');
    assert.ok(msg);
    assert.equal(msg.body, 'héllo: world');
    assert.equal(msg.headers['destination'], 'ws/a/x');
    assert.equal(msg.headers['x-trace'], 'abc:1');
    assert.equal(msg.headers['content-type'], 'text/x-test');
    assert.equal(msg.headers['message-id'], '1');
    assert.equal(msg.headers['ack'], undefined, 'auto mode has no ack header');
    await client.deactivate();
  });

  test('stompjs over TCP round trip, binary body with NULs', async () => {
    const { client } = await stompjsConnect({ tcp: port });
    const { messages } = stompjsCollect(client, 'tcp/bin', 1);
    const r = stompjsReceipt(client, 'r1');
    client.publish({ destination: 'nowhere', headers: { receipt: 'r1' } });
    await withTimeout(r, 3000, 'receipt');
    const bytes = new Uint8Array([0, 1, 2, 0, 255, 0]);
    client.publish({ destination: 'tcp/bin', binaryBody: bytes });
    const [msg] = await withTimeout(messages, 3000, 'message');
    assert.deepEqual(Buffer.from(msg!.binaryBody), Buffer.from(bytes));
    assert.equal(msg!.headers['content-length'], '6');
    await client.deactivate();
  });

  test('stompit (TCP): send and receive, client-individual ack gets ack ids', async () => {
    const sub = await stompitConnect(port);
    const pub = await stompitConnect(port);
    const received: Array<{ headers: Record<string, string>; body: string }> = [];
    const two = new Promise<void>((resolve, reject) => {
      sub.subscribe({ destination: 'stompit/#', ack: 'client-individual' }, (err, message) => {
        if (err) return reject(err);
        // stompit reads the next frame only once this body is consumed.
        stompitRead(message).then((body) => {
          received.push({ headers: message.headers, body });
          sub.ack(message);
          if (received.length === 2) resolve();
        }, reject);
      });
    });
    // A receipt on the subscriber's connection guarantees the SUBSCRIBE is in place.
    await new Promise<void>((resolve) => sub.send({ destination: 'sync' }, { onReceipt: () => resolve() }).end());
    for (const body of ['one', 'two']) {
      const frame = pub.send({ destination: 'stompit/q', 'x-n': body });
      frame.write(body);
      frame.end();
    }
    await withTimeout(two, 3000, 'two messages');
    assert.deepEqual(received.map((m) => m.body), ['one', 'two']);
    assert.equal(received[0]!.headers['x-n'], 'one');
    assert.equal(received[0]!.headers['ack'], '1');
    assert.equal(received[1]!.headers['ack'], '2');
    await Promise.all([stompitDisconnect(sub), stompitDisconnect(pub)]);
  });

  test('MQTT 5 → STOMP: payload bytes, content type and user properties', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SUBSCRIBE', [['id', 's1'], ['destination', 'cross/m2s/#'], ['receipt', 'r']]);
    assert.equal((await stomp.next()).command, 'RECEIPT');
    const mqtt = await connect(t.url(), { protocolVersion: 5 });
    const payload = Buffer.from([0x00, 0x10, 0x00, 0xff, 0x0a]);
    await publish(mqtt, 'cross/m2s/1', payload, { properties: { contentType: 'application/octet-stream', userProperties: { origin: 'mqtt', n: ['1', '2'] } } });
    const msg = await stomp.next();
    assert.equal(msg.command, 'MESSAGE');
    assert.deepEqual(msg.body, payload);
    assert.equal(h(msg, 'content-type'), 'application/octet-stream');
    assert.equal(h(msg, 'destination'), 'cross/m2s/1');
    assert.equal(h(msg, 'subscription'), 's1');
    assert.equal(h(msg, 'origin'), 'mqtt');
    assert.deepEqual(msg.headers.filter(([k]) => k === 'n').map(([, v]) => v), ['1', '2']);
    // Without a content type the default is text/plain.
    await publish(mqtt, 'cross/m2s/2', 'plain');
    const plain = await stomp.next();
    assert.equal(h(plain, 'content-type'), 'text/plain');
    assert.equal(plain.body.toString(), 'plain');
    await endClient(mqtt);
    stomp.close();
  });

  test('STOMP → MQTT 5 and 3.1.1: payload intact, headers as user properties', async () => {
    const v5 = await connect(t.url(), { protocolVersion: 5 });
    const v4 = await connect(t.url('ws:default'), { protocolVersion: 4 });
    await subscribe(v5, 'cross/s2m/+');
    await subscribe(v4, 'cross/s2m/+');
    const got5 = nextMessage(v5, 'cross/s2m/a');
    const got4 = nextMessage(v4, 'cross/s2m/a');
    const { client: stomp } = await RawStomp.login(port);
    const body = Buffer.from([1, 0, 2, 0, 0, 3]);
    stomp.sendFrame('SEND', [['destination', 'cross/s2m/a'], ['content-type', 'application/x-bin'], ['x-key', 'v:1'], ['receipt', 'sent']], body);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'sent');
    const m5 = await got5;
    assert.deepEqual(m5.payload, body);
    assert.equal(m5.packet.properties?.contentType, 'application/x-bin');
    assert.deepEqual({ ...m5.packet.properties?.userProperties }, { 'x-key': 'v:1' });
    assert.equal(m5.packet.qos, 0);
    assert.equal(m5.packet.retain, false);
    assert.deepEqual((await got4).payload, body);
    await Promise.all([endClient(v5), endClient(v4)]);
    stomp.close();
  });

  test('listener mountpoint: STOMP topics live under it for MQTT, unmounted for STOMP', async () => {
    const mqtt = await connect(t.url(), { protocolVersion: 5 });
    await subscribe(mqtt, 'stomp/#');
    const got = nextMessage(mqtt, 'stomp/mp/in');
    const { client: stomp } = await RawStomp.login(t.port('stomp:tcp:mounted'));
    stomp.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'mp/out'], ['receipt', 'r']]);
    await stomp.next();
    stomp.sendFrame('SEND', [['destination', 'mp/in']], 'to mqtt');
    assert.equal((await got).payload.toString(), 'to mqtt');
    await publish(mqtt, 'stomp/mp/out', 'to stomp');
    const msg = await stomp.next();
    assert.equal(h(msg, 'destination'), 'mp/out');
    assert.equal(msg.body.toString(), 'to stomp');
    // An MQTT publish outside the mountpoint does not reach it.
    await publish(mqtt, 'mp/out', 'outside');
    assert.equal(await stomp.maybeNext(150), undefined);
    await endClient(mqtt);
    stomp.close();
  });

  test('version negotiation and CONNECTED headers', async () => {
    const v11 = await RawStomp.login(port, [['accept-version', '1.0,1.1,2.0'], ['heart-beat', '0,0']]);
    assert.equal(h(v11.connected, 'version'), '1.1');
    assert.equal(h(v11.connected, 'heart-beat'), '0,0');
    v11.client.close();
    const v10 = await RawStomp.login(port, []);
    assert.equal(h(v10.connected, 'version'), '1.0');
    v10.client.close();
    const stomp = await RawStomp.connect(port);
    stomp.sendFrame('STOMP', [['accept-version', '3.0']]);
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(err.body.toString(), 'Login Failed: Supported protocol versions < 1.2');
    await withTimeout(stomp.closedPromise, 2000, 'close');
  });

  test('STOMP 1.2 header escaping round trip (\\n, \\c, \\\\ and \\r in values)', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SUBSCRIBE', [['id', 'e'], ['destination', 'esc/1'], ['receipt', 'r']]);
    await stomp.next();
    stomp.write('SEND\ndestination:esc/1\nx-odd:a\\nb\\cc\\\\d\\re\n\nbody\0');
    const msg = await stomp.next();
    assert.equal(h(msg, 'x-odd'), 'a\nb:c\\d\re');
    stomp.close();
  });

  test('receipts for SUBSCRIBE, UNSUBSCRIBE, ACK and DISCONNECT; unsubscribe stops deliveries', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SUBSCRIBE', [['id', 'u'], ['destination', 'unsub/t'], ['ack', 'client'], ['receipt', 'a']]);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'a');
    stomp.sendFrame('SEND', [['destination', 'unsub/t']], 'x');
    const msg = await stomp.next();
    assert.equal(h(msg, 'ack'), '1');
    stomp.sendFrame('ACK', [['id', '1'], ['receipt', 'b']]);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'b');
    stomp.sendFrame('NACK', [['id', '1'], ['receipt', 'b2']]);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'b2');
    stomp.sendFrame('UNSUBSCRIBE', [['id', 'u'], ['receipt', 'c']]);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'c');
    stomp.sendFrame('UNSUBSCRIBE', [['id', 'never-subscribed'], ['receipt', 'c2']]);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'c2');
    stomp.sendFrame('SEND', [['destination', 'unsub/t'], ['receipt', 'd']], 'y');
    const next = await stomp.next();
    assert.equal(next.command, 'RECEIPT', 'no MESSAGE after UNSUBSCRIBE');
    stomp.sendFrame('DISCONNECT', [['receipt', 'bye']]);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'bye');
    await withTimeout(stomp.closedPromise, 2000, 'close after DISCONNECT');
  });

  test('transactions: SEND waits for COMMIT, ABORT drops, unknown transaction keeps the connection', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SUBSCRIBE', [['id', 't'], ['destination', 'tx/#'], ['receipt', 'r']]);
    await stomp.next();
    stomp.sendFrame('BEGIN', [['transaction', 'T1'], ['receipt', 'b']]);
    assert.equal(h(await stomp.next(), 'receipt-id'), 'b');
    stomp.sendFrame('SEND', [['destination', 'tx/1'], ['transaction', 'T1']], 'first');
    stomp.sendFrame('SEND', [['destination', 'tx/2'], ['transaction', 'T1']], 'second');
    assert.equal(await stomp.maybeNext(150), undefined, 'nothing delivered before COMMIT');
    stomp.sendFrame('COMMIT', [['transaction', 'T1'], ['receipt', 'c']]);
    const delivered = [await stomp.next(), await stomp.next(), await stomp.next()];
    assert.deepEqual(
      delivered.map((f) => (f.command === 'MESSAGE' ? f.body.toString() : f.command)),
      ['first', 'second', 'RECEIPT'],
    );
    stomp.sendFrame('BEGIN', [['transaction', 'T2']]);
    stomp.sendFrame('SEND', [['destination', 'tx/3'], ['transaction', 'T2']], 'dropped');
    stomp.sendFrame('ABORT', [['transaction', 'T2'], ['receipt', 'a']]);
    assert.equal((await stomp.next()).command, 'RECEIPT');
    stomp.sendFrame('COMMIT', [['transaction', 'T2'], ['receipt', 'gone']]);
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(h(err, 'message'), 'Transaction T2 not found');
    assert.equal(h(err, 'receipt-id'), 'gone');
    stomp.sendFrame('BEGIN', [['transaction', 'T3']]);
    stomp.sendFrame('BEGIN', [['transaction', 'T3']]);
    assert.equal(h(await stomp.next(), 'message'), 'Transaction T3 already started');
    // Still connected.
    stomp.sendFrame('SEND', [['destination', 'tx/4']], 'after');
    assert.equal((await stomp.next()).body.toString(), 'after');
    assert.equal(stomp.closed, false);
    stomp.close();
  });

  test('heart-beats: server sends EOLs at the client\'s rate; a silent client is closed', async () => {
    const { client: stomp, connected } = await RawStomp.login(port, [['accept-version', '1.2'], ['heart-beat', '100,50']]);
    assert.equal(h(connected, 'heart-beat'), '50,100');
    // A client that keeps sending EOLs stays connected past several intervals.
    const keepAlive = setInterval(() => stomp.write('\n'), 40);
    await new Promise((r) => setTimeout(r, 450));
    assert.equal(stomp.closed, false);
    assert.ok(stomp.heartbeats >= 4, `expected heart-beats from the server, got ${stomp.heartbeats}`);
    clearInterval(keepAlive);
    const silentAt = Date.now();
    await withTimeout(stomp.closedPromise, 2000, 'heartbeat timeout close');
    const after = Date.now() - silentAt;
    assert.ok(after >= 100 && after < 1500, `closed after ${after} ms of silence`);
    assert.ok(t.logs.find('stomp connection closed', { reason: 'heartbeat_timeout' }));
  });

  test('stompjs with heart-beats negotiated stays connected and exchanges messages', async () => {
    const { client, connected } = await stompjsConnect({ ws: wsUrl }, { heartbeatIncoming: 100, heartbeatOutgoing: 100 });
    assert.equal(connected.headers['heart-beat'], '100,100');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(client.connected, true);
    const { messages } = stompjsCollect(client, 'hb/x', 1);
    const r = stompjsReceipt(client, 'r');
    client.publish({ destination: 'sync', headers: { receipt: 'r' } });
    await r;
    client.publish({ destination: 'hb/x', body: 'alive' });
    assert.equal((await withTimeout(messages, 3000, 'message'))[0]!.body, 'alive');
    await client.deactivate();
  });

  test('wildcard subscriptions do not see $SYS topics', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SUBSCRIBE', [['id', 'all'], ['destination', '#'], ['receipt', 'r']]);
    await stomp.next();
    await t.node.broker.publish({ cmd: 'publish', topic: '$SYS/test', payload: Buffer.from('sys'), qos: 0, retain: false, dup: false });
    stomp.sendFrame('SEND', [['destination', 'plain/after']], 'p');
    const msg = await stomp.next();
    assert.equal(h(msg, 'destination'), 'plain/after');
    stomp.close();
  });
});

describe('STOMP gateway: bad frames and protocol violations', () => {
  let t: TestNode;
  let port: number;
  before(async () => {
    t = await startTestNode(`
gateway.stomp {
  idle_timeout = 300ms
  frame { max_headers = 5, max_headers_length = 64, max_body_length = 100 }
  listeners.tcp.default.bind = "127.0.0.1:0"
}`);
    port = t.port('stomp:tcp:default');
  });
  after(async () => {
    await t.stop();
  });

  async function expectError(stomp: RawStomp, messagePattern: RegExp, receipt?: string): Promise<void> {
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR', `expected ERROR, got ${err.command}`);
    assert.match(h(err, 'message') ?? '', messagePattern);
    assert.match(err.body.toString(), messagePattern);
    if (receipt !== undefined) assert.equal(h(err, 'receipt-id'), receipt);
    await withTimeout(stomp.closedPromise, 2000, 'close after ERROR');
  }

  const cases: Array<{ name: string; wire: string | Buffer; error: RegExp }> = [
    { name: 'too many headers', wire: 'SEND\na:1\nb:2\nc:3\nd:4\ne:5\nf:6\n\n\0', error: /^Frame error: too_many_headers/ },
    { name: 'header too long', wire: `SEND\ndestination:${'x'.repeat(100)}\n\n\0`, error: /^Frame error: header_too_long/ },
    { name: 'body too long (content-length)', wire: 'SEND\ndestination:a\ncontent-length:101\n\n', error: /^Frame error: body_too_long/ },
    { name: 'body too long (no content-length)', wire: `SEND\ndestination:a\n\n${'b'.repeat(101)}`, error: /^Frame error: body_too_long/ },
    { name: 'undefined escape', wire: 'SEND\ndestination:a\\tb\n\n\0', error: /^Frame error: bad_escape/ },
    { name: 'unknown command', wire: 'PUBLISH\n\n\0', error: /^Frame error: unknown_command/ },
    { name: 'missing NUL after content-length body', wire: 'SEND\ndestination:a\ncontent-length:2\n\nabc', error: /^Frame error: missing_nul/ },
    { name: 'missing destination', wire: 'SEND\n\nx\0', error: /^Missing destination header in SEND$/ },
    { name: 'wildcard in SEND destination', wire: 'SEND\ndestination:a/+\n\nx\0', error: /^Invalid destination a\/\+: contains a wildcard/ },
    { name: 'bad filter', wire: 'SUBSCRIBE\nid:1\ndestination:a/#/b\n\n\0', error: /^Invalid destination a\/#\/b/ },
    { name: 'shared subscription', wire: 'SUBSCRIBE\nid:1\ndestination:$share/g/t\n\n\0', error: /shared subscription/ },
    { name: 'SUBSCRIBE without id in 1.2', wire: 'SUBSCRIBE\ndestination:a\n\n\0', error: /^Missing id header in SUBSCRIBE$/ },
    { name: 'bad ack mode', wire: 'SUBSCRIBE\nid:1\ndestination:a\nack:sometimes\n\n\0', error: /^Invalid ack mode sometimes/ },
    { name: 'second CONNECT', wire: 'CONNECT\naccept-version:1.2\n\n\0', error: /^Unexpected CONNECT: already connected$/ },
  ];
  for (const c of cases) {
    test(`after CONNECT: ${c.name} → ERROR, close`, async () => {
      const { client: stomp } = await RawStomp.login(port);
      stomp.write(c.wire);
      await expectError(stomp, c.error);
    });
  }

  test('frames pipelined before a bad one are handled first', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.write('SUBSCRIBE\nid:1\ndestination:p/1\nreceipt:ok\n\n\0SEND\ndestination:bad\\q\n\n\0');
    assert.equal(h(await stomp.next(), 'receipt-id'), 'ok');
    await expectError(stomp, /^Frame error: bad_escape/);
  });

  test('duplicate subscription id and duplicate filter', async () => {
    const one = (await RawStomp.login(port)).client;
    one.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'd/1']]);
    one.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'd/2'], ['receipt', 'dup']]);
    await expectError(one, /^Subscription id 1 is in used$/, 'dup');
    const two = (await RawStomp.login(port)).client;
    two.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'd/1']]);
    two.sendFrame('SUBSCRIBE', [['id', '2'], ['destination', 'd/1']]);
    await expectError(two, /^Topic d\/1 already in subscribed$/);
  });

  test('a frame before CONNECT is refused', async () => {
    const stomp = await RawStomp.connect(port);
    stomp.sendFrame('SEND', [['destination', 'a'], ['receipt', 'early']], 'x');
    await expectError(stomp, /^Not connected: SEND before CONNECT$/, 'early');
  });

  test('garbage before CONNECT is a frame error, never a crash', async () => {
    const stomp = await RawStomp.connect(port);
    stomp.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0a, 0x00]));
    await expectError(stomp, /^Frame error: unknown_command/);
    // The node still serves.
    const ok = await RawStomp.login(port);
    ok.client.close();
  });

  test('malformed heart-beat header', async () => {
    const stomp = await RawStomp.connect(port);
    stomp.sendFrame('CONNECT', [['accept-version', '1.2'], ['heart-beat', 'soon']]);
    await expectError(stomp, /^Login Failed: malformed heart-beat header$/);
  });

  test('a connection without CONNECT is closed after idle_timeout', async () => {
    const stomp = await RawStomp.connect(port);
    const start = Date.now();
    await withTimeout(stomp.closedPromise, 2000, 'idle close');
    assert.ok(Date.now() - start >= 250);
  });

  test('a frame split into single bytes still decodes', async () => {
    const { client: stomp } = await RawStomp.login(port);
    const wire = Buffer.from('SUBSCRIBE\nid:s\ndestination:bytes\nreceipt:slow\n\n\0');
    for (const byte of wire) stomp.write(Buffer.from([byte]));
    assert.equal(h(await stomp.next(), 'receipt-id'), 'slow');
    stomp.close();
  });
});
