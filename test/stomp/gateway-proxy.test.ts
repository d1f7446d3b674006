import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { rawExchange, RecordingAuthn } from '../listeners/support.js';
import type { ClientCredential } from '../../src/authn/types.js';

const connectFrame = (login: string) => Buffer.from(`CONNECT\naccept-version:1.2\nhost:gatehouse\nlogin:${login}\npasscode:pw\n\n\0`);

/** Proxy Protocol on a STOMP gateway listener: the channel's first reads take the header. */
describe('STOMP gateway behind a proxy (stomp:tcp listener with proxy_protocol)', () => {
  let t: TestNode;
  const authn = new RecordingAuthn();
  before(async () => {
    t = await startTestNode(
      `gateway.stomp { listeners.tcp.default { bind = "127.0.0.1:0", proxy_protocol = true, proxy_protocol_timeout = "300ms" } }`,
      { authn },
    );
  });
  after(async () => {
    await t.stop();
  });

  const credentialOf = async (login: string): Promise<ClientCredential> => {
    for (let i = 0; i < 50; i++) {
      const found = authn.seen.find((c) => c.username === login);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no authentication for ${login}`);
  };

  test('header and CONNECT in one write: CONNECTED, and authentication sees the address from the header', async () => {
    const r = await rawExchange(t.port('stomp:tcp:default'), [Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.70 192.0.2.10 47000 61613\r\n'), connectFrame('pp-stomp-1')])]);
    assert.match(r.received.toString('latin1'), /^CONNECTED\n/);
    const c = await credentialOf('pp-stomp-1');
    assert.deepEqual([c.protocol, c.peerhost, c.peerport, c.sockport], ['stomp', '203.0.113.70', 47000, 61613]);
  });

  test('the header alone first, the CONNECT later (as haproxy sends them)', async () => {
    const r = await rawExchange(t.port('stomp:tcp:default'), [Buffer.from('PROXY TCP4 203.0.113.71 192.0.2.10 47001 61613\r\n'), connectFrame('pp-stomp-2')], { gapMs: 30 });
    assert.match(r.received.toString('latin1'), /^CONNECTED\n/);
    assert.equal((await credentialOf('pp-stomp-2')).peerhost, '203.0.113.71');
  });

  test('no header, or a late one: closed before any frame is read, logged and counted', async () => {
    const before = authn.seen.length;
    const missing = await rawExchange(t.port('stomp:tcp:default'), [connectFrame('pp-stomp-none')], { waitMs: 2000 });
    const late = await rawExchange(t.port('stomp:tcp:default'), [Buffer.from('PROXY TCP4 203.0.113.72 ')], { waitMs: 2000 });
    for (const r of [missing, late]) {
      assert.equal(r.closed, true);
      assert.equal(r.received.length, 0);
    }
    assert.ok(t.logs.find('connection refused', { listener: 'stomp:tcp:default', reason: 'proxy protocol: no Proxy Protocol header: the first bytes are neither "PROXY " nor the v2 signature' }), t.logs.text());
    assert.ok(t.logs.lines.some((l) => l['listener'] === 'stomp:tcp:default' && /within 300 ms/.test(String(l['reason']))), t.logs.text());
    const counts = t.node.transport.proxyProtocolRefusals('stomp:tcp:default');
    assert.deepEqual([counts['missing'], counts['timeout']], [1, 1]);
    assert.equal(authn.seen.length, before, 'authentication never ran');
  });
});
