import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pp from 'proxy-protocol-js';
import { parseProxyHeader, PendingProxyHeader, ProxyHeaderGate, ProxyProtocolError, proxyProtocolStep, TrustedProxies, type ProxyHeader } from '../../listeners/proxy-protocol.js';
import type { ConnectionMeta } from '../../src/transport/types.js';
import { ApiMetrics } from '../../src/api/prometheus.js';
import { connect, endClient, startTestNode, type TestNode } from '../helpers/node.js';
import { CONNACK_OK, connectPacket, rawExchange, RecordingAuthn } from './support.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function v2(cmd: number, famProto: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | cmd;
  head[1] = famProto;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIG, head, body]);
}

function tlv(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(3);
  h[0] = type;
  h.writeUInt16BE(value.length, 1);
  return Buffer.concat([h, value]);
}

function inet4(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  src.split('.').forEach((o, i) => (b[i] = Number(o)));
  dst.split('.').forEach((o, i) => (b[4 + i] = Number(o)));
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

/** PP2_TYPE_SSL with client flags, verify result and a CN sub-TLV. */
function sslTlv(client: number, verify: number, cn?: string): Buffer {
  const head = Buffer.alloc(5);
  head[0] = client;
  head.writeUInt32BE(verify, 1);
  return tlv(0x20, Buffer.concat([head, tlv(0x21, Buffer.from('TLSv1.3')), ...(cn ? [tlv(0x22, Buffer.from(cn))] : [])]));
}

function complete(buf: Buffer): ProxyHeader {
  const r = parseProxyHeader(buf);
  assert.equal(r.complete, true);
  return (r as { header: ProxyHeader }).header;
}

function refusal(buf: Buffer): ProxyProtocolError {
  try {
    parseProxyHeader(buf);
  } catch (err) {
    assert.ok(err instanceof ProxyProtocolError);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('Proxy Protocol parser', () => {
  test('v1 TCP4 and TCP6 headers give the client and destination addresses', () => {
    const h = complete(Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 51234 1883\r\nMQTT'));
    assert.deepEqual([h.version, h.command, h.source, h.destination, h.length], [1, 'proxy', { host: '203.0.113.7', port: 51234 }, { host: '192.0.2.1', port: 1883 }, 45]);
    const h6 = complete(Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 4000 8883\r\n'));
    assert.deepEqual(h6.source, { host: '2001:db8::1', port: 4000 });
  });

  test('headers built by proxy-protocol-js (an independent implementation) read back the same', () => {
    const v1four = new pp.V1ProxyProtocol(pp.INETProtocol.TCP4, new pp.Peer('203.0.113.7', 50123), new pp.Peer('192.0.2.1', 1883)).build();
    const h1 = complete(Buffer.from(v1four, 'latin1'));
    assert.deepEqual([h1.version, h1.source, h1.destination], [1, { host: '203.0.113.7', port: 50123 }, { host: '192.0.2.1', port: 1883 }]);
    const v1six = new pp.V1ProxyProtocol(pp.INETProtocol.TCP6, new pp.Peer('2001:db8::7', 4000), new pp.Peer('2001:db8::1', 8883)).build();
    assert.deepEqual(complete(Buffer.from(v1six, 'latin1')).source, { host: '2001:db8::7', port: 4000 });
    const four = new pp.IPv4ProxyAddress(pp.IPv4Address.createFrom([198, 51, 100, 9]), 61000, pp.IPv4Address.createFrom([192, 0, 2, 1]), 1883);
    const bytes = Buffer.from(new pp.V2ProxyProtocol(pp.Command.PROXY, pp.TransportProtocol.STREAM, four).build());
    const h2 = complete(Buffer.concat([bytes, Buffer.from('after')]));
    assert.deepEqual([h2.version, h2.command, h2.source, h2.destination, h2.length], [2, 'proxy', { host: '198.51.100.9', port: 61000 }, { host: '192.0.2.1', port: 1883 }, bytes.length]);
    const octets = (...tail: number[]) => [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(12 - tail.length).fill(0), ...tail];
    const six = new pp.IPv6ProxyAddress(pp.IPv6Address.createFrom(octets(0, 0x42)), 7000, pp.IPv6Address.createFrom(octets(0, 1)), 8883);
    const h6 = complete(Buffer.from(new pp.V2ProxyProtocol(pp.Command.PROXY, pp.TransportProtocol.STREAM, six).build()));
    assert.deepEqual([h6.source, h6.destination], [{ host: '2001:db8::42', port: 7000 }, { host: '2001:db8::1', port: 8883 }]);
    const local = new pp.V2ProxyProtocol(pp.Command.LOCAL, pp.TransportProtocol.UNSPEC, new pp.UnspecProxyAddress()).build();
    const hl = complete(Buffer.from(local));
    assert.deepEqual([hl.command, hl.source], ['local', undefined]);
  });

  test('v1 UNKNOWN keeps the socket addresses', () => {
    const h = complete(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'));
    assert.equal(h.command, 'local');
    assert.equal(h.source, undefined);
  });

  test('an incomplete header asks for more bytes, byte by byte', () => {
    const full = Buffer.from('PROXY TCP4 10.1.2.3 10.0.0.1 1000 1883\r\n');
    for (let n = 1; n < full.length; n++) assert.deepEqual(parseProxyHeader(full.subarray(0, n)), { complete: false }, `at ${n} bytes`);
    const v2full = v2(1, 0x11, inet4('10.1.2.3', '10.0.0.1', 1000, 1883));
    for (let n = 1; n < v2full.length; n++) assert.deepEqual(parseProxyHeader(v2full.subarray(0, n)), { complete: false }, `v2 at ${n} bytes`);
    assert.equal(complete(v2full).source?.host, '10.1.2.3');
  });

  test('garbage, MQTT without a header, bad fields and oversized headers are refused with a kind', () => {
    assert.equal(refusal(Buffer.from([0x10, 0x0c, 0x00])).kind, 'missing');
    assert.equal(refusal(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'missing');
    assert.equal(refusal(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n')).kind, 'malformed');
    assert.equal(refusal(Buffer.from('PROXY TCP4 ::1 5.6.7.8 1 1\r\n')).kind, 'malformed');
    assert.equal(refusal(Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 1\r\n')).kind, 'malformed');
    assert.equal(refusal(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 1\n')).kind, 'malformed');
    assert.equal(refusal(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 1\r\n')).kind, 'malformed');
    assert.equal(refusal(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)).kind, 'oversized');
    const big = Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    assert.equal(refusal(big).kind, 'oversized');
    assert.equal(refusal(Buffer.concat([SIG, Buffer.from([0x31, 0x11, 0, 12])])).kind, 'malformed'); // version 3
    assert.equal(refusal(Buffer.concat([SIG, Buffer.from([0x22, 0x11, 0, 12])])).kind, 'malformed'); // command 2
    assert.equal(refusal(v2(1, 0x11, Buffer.alloc(8))).kind, 'malformed'); // INET block needs 12 bytes
    // A TLV that claims more bytes than the header holds.
    assert.equal(refusal(v2(1, 0x11, Buffer.concat([inet4('1.1.1.1', '2.2.2.2', 1, 2), Buffer.from([0x20, 0x00, 0x09, 0x01])]))).kind, 'malformed');
  });

  test('v2 LOCAL (health check) keeps the socket addresses; v2 INET6 is read', () => {
    const local = complete(v2(0, 0x11, inet4('1.1.1.1', '2.2.2.2', 1, 2)));
    assert.equal(local.command, 'local');
    assert.equal(local.source, undefined);
    const body = Buffer.alloc(36);
    body[15] = 1; // ::1
    body[16 + 10] = 0xff;
    body[16 + 11] = 0xff;
    body.set([192, 0, 2, 9], 16 + 12); // ::ffff:192.0.2.9
    body.writeUInt16BE(5555, 32);
    body.writeUInt16BE(8883, 34);
    const h = complete(v2(1, 0x21, body));
    assert.deepEqual([h.source, h.destination], [{ host: '::1', port: 5555 }, { host: '192.0.2.9', port: 8883 }]);
  });

  test('v2 SSL TLV: CN, version and verification result', () => {
    const h = complete(v2(1, 0x11, Buffer.concat([inet4('1.1.1.1', '2.2.2.2', 1, 2), tlv(0x04, Buffer.alloc(3)), sslTlv(0x07, 0, 'device-001')])));
    assert.deepEqual(h.ssl, { tls: true, certInConnection: true, certInSession: true, verified: true, version: 'TLSv1.3', commonName: 'device-001' });
  });

  test('trusted CIDRs: empty allows anyone; IPv4, IPv6 and mapped addresses are matched; bad entries are errors', () => {
    assert.equal(new TrustedProxies([]).allows('198.51.100.1'), true);
    const t = new TrustedProxies(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1']);
    assert.equal(t.allows('10.9.8.7'), true);
    assert.equal(t.allows('::ffff:10.9.8.7'), true);
    assert.equal(t.allows('127.0.0.1'), true);
    assert.equal(t.allows('127.0.0.2'), false);
    assert.equal(t.allows('2001:db8:1::5'), true);
    assert.equal(t.allows('2001:db9::5'), false);
    assert.throws(() => new TrustedProxies(['10.0.0.0/33']), /10\.0\.0\.0\/33/);
    assert.throws(() => new TrustedProxies(['not-an-ip']), /not an IPv4 or IPv6 CIDR/);
  });
});

describe('Proxy Protocol accept step', () => {
  /** Runs the step on the server side of a real TCP connection fed by `feed`. */
  async function runStep(feed: (client: net.Socket) => void, opts: { timeoutMs?: number; cidrs?: string[] } = {}) {
    const counted: string[] = [];
    const step = proxyProtocolStep({ timeoutMs: opts.timeoutMs ?? 500, trustedCidrs: opts.cidrs ?? [], onRefused: (_id, kind) => counted.push(kind) });
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    client.on('connect', () => feed(client));
    const socket = await accepted;
    const meta = { listenerId: 'tcp:t', peerhost: '127.0.0.1', peerport: 1, sockhost: '127.0.0.1', sockport: port } as ConnectionMeta;
    try {
      await step(socket, meta, {} as never);
      const rest = await new Promise<Buffer>((r) => socket.once('data', r));
      return { meta, counted, rest };
    } catch (err) {
      return { meta, counted, error: err as Error };
    } finally {
      client.destroy();
      socket.destroy();
      server.close();
    }
  }

  test('the bytes after the header reach the next reader, header and data in one write', async () => {
    const r = await runStep((c) => c.write(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.9 192.0.2.1 40000 1883\r\n'), Buffer.from('hello')])));
    assert.equal(r.rest?.toString(), 'hello');
    assert.deepEqual([r.meta.peerhost, r.meta.peerport, r.meta.sockport, r.meta.proxy?.host], ['203.0.113.9', 40000, 1883, '127.0.0.1']);
  });

  test('a header split over several writes', async () => {
    const h = v2(1, 0x11, inet4('198.51.100.4', '192.0.2.1', 1234, 1883));
    const r = await runStep(async (c) => {
      for (const part of [h.subarray(0, 5), h.subarray(5, 20), Buffer.concat([h.subarray(20), Buffer.from('x')])]) {
        c.write(part);
        await new Promise((res) => setTimeout(res, 20));
      }
    });
    assert.equal(r.rest?.toString(), 'x');
    assert.equal(r.meta.peerhost, '198.51.100.4');
  });

  test('refusals are counted by kind: timeout, missing, truncated, untrusted', async () => {
    const timeout = await runStep((c) => c.write('PROXY TCP4 1.2.3.4'), { timeoutMs: 150 });
    assert.match(timeout.error!.message, /no complete Proxy Protocol header within 150 ms/);
    assert.deepEqual(timeout.counted, ['timeout']);
    const missing = await runStep((c) => c.write(connectPacket('x')));
    assert.deepEqual(missing.counted, ['missing']);
    const truncated = await runStep((c) => c.end(Buffer.from('PROXY TCP4 1.2.3.4 ')));
    assert.deepEqual(truncated.counted, ['malformed']);
    assert.match(truncated.error!.message, /closed after 19 bytes/);
    const untrusted = await runStep((c) => c.write('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), { cidrs: ['10.0.0.0/8'] });
    assert.deepEqual(untrusted.counted, ['untrusted']);
    assert.match(untrusted.error!.message, /not in proxy_protocol_trusted_cidrs/);
  });
});

describe('Proxy Protocol deadlines (one timer per listener)', () => {
  test('each connection is refused at its own deadline, in arrival order; a header in time settles its connection', async () => {
    const gate = new ProxyHeaderGate({ timeoutMs: 200, trustedCidrs: [] });
    const refusals: Array<{ name: string; at: number; reason: string }> = [];
    const readers = new Map<string, PendingProxyHeader>();
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const started = performance.now();
    const open = async (name: string) => {
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => undefined);
      const socket = await accepted;
      const meta = { listenerId: 'tcp:t', peerhost: '127.0.0.1', peerport: 1, sockhost: '127.0.0.1', sockport: port } as ConnectionMeta;
      const reader = gate.expect(socket, meta, (reason) => {
        refusals.push({ name, at: performance.now() - started, reason });
        socket.destroy();
      });
      readers.set(name, reader!);
      return { client, socket, meta };
    };
    try {
      const first = await open('first');
      const punctual = await open('punctual');
      // The punctual connection's header arrives in two reads, well before its deadline.
      const header = Buffer.from('PROXY TCP4 203.0.113.5 192.0.2.1 4000 1883\r\n');
      assert.equal(readers.get('punctual')!.take(header.subarray(0, 10)), undefined);
      assert.equal(readers.get('punctual')!.take(Buffer.concat([header.subarray(10), Buffer.from('x')]))?.toString(), 'x');
      assert.equal(punctual.meta.peerhost, '203.0.113.5');
      // Far enough apart that a late timer on a loaded machine cannot merge the two deadlines.
      await new Promise((r) => setTimeout(r, 250));
      const second = await open('second');
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(refusals.map((r) => r.name), ['first', 'second']);
      const [a, b] = refusals as [(typeof refusals)[0], (typeof refusals)[0]];
      assert.match(a.reason, /^proxy protocol: no complete Proxy Protocol header within 200 ms \(got 0 bytes\)$/);
      assert.ok(a.at >= 195, `first refused after its 200 ms (${a.at.toFixed(0)} ms)`);
      assert.ok(b.at - a.at >= 150, `second refused at its own deadline, not with the first (${a.at.toFixed(0)} / ${b.at.toFixed(0)} ms)`);
      assert.equal(readers.get('punctual')!.refused, false);
      for (const c of [first, punctual, second]) c.client.destroy();
    } finally {
      server.close();
    }
  });
});

describe('Proxy Protocol on MQTT listeners', () => {
  let t: TestNode;
  const authn = new RecordingAuthn();
  before(async () => {
    t = await startTestNode(
      [
        'listeners.tcp.default { proxy_protocol = true, proxy_protocol_timeout = "300ms" }',
        'listeners.ws.default { proxy_protocol = true }',
        'listeners.tcp.guarded { bind = "127.0.0.1:0", proxy_protocol = true, proxy_protocol_trusted_cidrs = ["10.0.0.0/8"] }',
      ].join('\n'),
      { authn },
    );
  });
  after(() => t.stop());

  test('CONNECT in the same segment as a v1 header: authentication sees the header address', async () => {
    const r = await rawExchange(t.port(), [Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.50 192.0.2.10 45678 1883\r\n'), connectPacket('pp-v1')])]);
    assert.ok(r.received.includes(CONNACK_OK));
    const c = await authn.credentialOf('pp-v1');
    assert.deepEqual([c.peerhost, c.peerport, c.sockport], ['203.0.113.50', 45678, 1883]);
  });

  test('v2 with an SSL CN TLV feeds cert_common_name and cert_subject', async () => {
    const header = v2(1, 0x11, Buffer.concat([inet4('198.51.100.23', '192.0.2.10', 3333, 8883), sslTlv(0x03, 0, 'sensor-42')]));
    const r = await rawExchange(t.port(), [header, connectPacket('pp-v2')], { gapMs: 30 });
    assert.ok(r.received.includes(CONNACK_OK));
    const c = await authn.credentialOf('pp-v2');
    assert.deepEqual([c.peerhost, c.peerport, c.cert_common_name, c.cert_subject], ['198.51.100.23', 3333, 'sensor-42', 'sensor-42']);
  });

  test('an unverified certificate CN from the proxy is not taken', async () => {
    const header = v2(1, 0x11, Buffer.concat([inet4('198.51.100.24', '192.0.2.10', 3334, 8883), sslTlv(0x03, 21, 'forged')]));
    await rawExchange(t.port(), [Buffer.concat([header, connectPacket('pp-unverified')])]);
    const c = await authn.credentialOf('pp-unverified');
    assert.equal(c.cert_common_name, undefined);
  });

  test('no header, garbage, oversized, truncated and slow headers close the connection before any MQTT byte is processed', async () => {
    const before = authn.seen.length;
    const cases: Array<[string, Buffer[], RegExp]> = [
      ['missing', [connectPacket('no-header')], /first bytes are neither/],
      ['garbage', [Buffer.from('\x16\x03\x01garbage bytes here\r\n')], /first bytes are neither/],
      ['oversized', [Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x40, 0x00]), Buffer.alloc(64)])], /announces 16384 bytes/],
      ['v1 too long', [Buffer.from(`PROXY TCP4 ${'9'.repeat(200)}`)], /no CRLF within 107 bytes/],
      ['timeout', [Buffer.from('PROXY TCP4 1.2.3.4 ')], /within 300 ms/],
    ];
    for (const [name, chunks, reason] of cases) {
      const r = await rawExchange(t.port(), chunks, { waitMs: 2000 });
      assert.equal(r.closed, true, `${name}: closed`);
      assert.equal(r.received.length, 0, `${name}: nothing answered`);
      assert.ok(
        t.logs.lines.some((l) => l['msg'] === 'connection refused' && l['listener'] === 'tcp:default' && reason.test(String(l['reason']))),
        `${name}: logged with reason ${reason}`,
      );
    }
    assert.equal(authn.seen.length, before, 'authentication never ran');
  });

  test('header and CONNECT split across writes: the front waits for the whole header, then reads the CONNECT', async () => {
    const header = v2(1, 0x11, inet4('198.51.100.31', '192.0.2.10', 4444, 1883));
    const packet = connectPacket('pp-split');
    const chunks = [header.subarray(0, 7), Buffer.concat([header.subarray(7), packet.subarray(0, 3)]), packet.subarray(3)];
    const r = await rawExchange(t.port(), chunks, { gapMs: 30 });
    assert.ok(r.received.includes(CONNACK_OK));
    const c = await authn.credentialOf('pp-split');
    assert.deepEqual([c.peerhost, c.peerport], ['198.51.100.31', 4444]);
  });

  test('after a complete header the first packet must still be a CONNECT', async () => {
    const before = authn.seen.length;
    const publish = Buffer.from([0x30, 0x05, 0x00, 0x01, 0x74, 0x68, 0x69]);
    const r = await rawExchange(t.port(), [Buffer.from('PROXY TCP4 203.0.113.61 192.0.2.10 1111 1883\r\n'), publish], { gapMs: 30, waitMs: 2000 });
    assert.equal(r.closed, true);
    assert.equal(r.received.length, 0);
    const line = t.logs.find('connection refused', { listener: 'tcp:default', reason: 'first packet is not CONNECT (first byte 0x30)' });
    assert.ok(line, 'refused by the MQTT front');
    assert.equal(line['peer'], '203.0.113.61:1111', 'logged with the address from the header');
    assert.equal(authn.seen.length, before);
  });

  test('refusals are counted by listener and kind, and exported to Prometheus', async () => {
    const counts = t.node.transport.proxyProtocolRefusals('tcp:default');
    const missingBefore = counts['missing'] ?? 0;
    await rawExchange(t.port(), [connectPacket('counted')], { waitMs: 2000 });
    await rawExchange(t.port('tcp:guarded'), [Buffer.from('PROXY TCP4 10.0.0.5 10.0.0.1 1 1883\r\n')], { waitMs: 2000 });
    assert.equal(t.node.transport.proxyProtocolRefusals('tcp:default')['missing'], missingBefore + 1);
    assert.ok((t.node.transport.proxyProtocolRefusals('tcp:guarded')['untrusted'] ?? 0) >= 1);
    const metrics = new ApiMetrics(t.node);
    try {
      const text = await metrics.registry.metrics();
      assert.match(text, new RegExp(`gatehouse_proxy_protocol_refusals_total\\{listener="tcp:default",kind="missing"\\} ${missingBefore + 1}\n`));
      assert.match(text, /gatehouse_proxy_protocol_refusals_total\{listener="tcp:guarded",kind="untrusted"\} [1-9]/);
    } finally {
      metrics.close();
    }
  });

  test('a LOCAL v2 header (health check) keeps the real peer address', async () => {
    await rawExchange(t.port(), [Buffer.concat([v2(0, 0x00, Buffer.alloc(0)), connectPacket('pp-local')])]);
    const c = await authn.credentialOf('pp-local');
    assert.equal(c.peerhost, '127.0.0.1');
  });

  test('a header from a peer outside proxy_protocol_trusted_cidrs is refused', async () => {
    const r = await rawExchange(t.port('tcp:guarded'), [Buffer.concat([Buffer.from('PROXY TCP4 10.0.0.5 10.0.0.1 1 1883\r\n'), connectPacket('pp-untrusted')])]);
    assert.equal(r.closed, true);
    assert.equal(r.received.length, 0);
    assert.ok(t.logs.find('connection refused', { listener: 'tcp:guarded', reason: 'proxy protocol: Proxy Protocol peer 127.0.0.1 is not in proxy_protocol_trusted_cidrs' }));
  });

  test('WebSocket listener: header then HTTP upgrade', async () => {
    const port = t.port('ws:default');
    // A socket that writes the header before the WebSocket handshake, as a load balancer does.
    const client = await connect(`ws://127.0.0.1:${port}/mqtt`, {
      clientId: 'pp-ws',
      wsOptions: {
        createConnection: ((opts: net.NetConnectOpts) => {
          const s = net.connect(opts);
          s.write('PROXY TCP4 192.0.2.77 192.0.2.10 6000 8083\r\n');
          return s;
        }) as never,
      },
    });
    const c = await authn.credentialOf('pp-ws');
    assert.deepEqual([c.peerhost, c.peerport], ['192.0.2.77', 6000]);
    await endClient(client);
  });
});
