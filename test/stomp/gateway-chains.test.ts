import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, connackCode, type TestNode } from '../helpers/node.js';
import { RawStomp, h } from './raw-client.js';

/**
 * STOMP login through the real chains: stomp:global (a single object, EMQX style)
 * and a listener chain on stomp:tcp:alt (an array, beyond EMQX). STOMP users are
 * separate from MQTT users.
 */
const CONF = `
authentication = [{ mechanism = password_based, backend = built_in_database }]
gateway.stomp {
  authentication { mechanism = password_based, backend = built_in_database }
  listeners.tcp.default.bind = "127.0.0.1:0"
  listeners.tcp.alt {
    bind = "127.0.0.1:0"
    authentication = [{ mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = bcrypt, salt_rounds = 5 } }]
  }
}
`;

async function login(port: number, login?: string, passcode?: string): Promise<{ command: string; message?: string }> {
  const headers: Array<[string, string]> = [['accept-version', '1.2'], ['host', 'gatehouse']];
  if (login !== undefined) headers.push(['login', login]);
  if (passcode !== undefined) headers.push(['passcode', passcode]);
  const client = await RawStomp.connect(port);
  client.sendFrame('CONNECT', headers);
  const frame = await client.next();
  if (frame.command === 'ERROR') await client.closedPromise;
  client.close();
  const message = h(frame, 'message');
  return { command: frame.command, ...(message !== undefined ? { message } : {}) };
}

describe('STOMP authentication through real chains', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(CONF);
    await t.node.authn.chain('stomp:global')!.entries[0]!.authenticator.users!.add({ user_id: 'stomper', password: 'st-pass' });
    await t.node.authn.chain('stomp:tcp:alt')!.entries[0]!.authenticator.users!.add({ user_id: 'alt-user', password: 'alt-pass' });
    await t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!.add({ user_id: 'mqtt-user', password: 'mq-pass' });
  });
  after(async () => {
    await t.stop();
  });

  test('the gateway chain accepts its user', async () => {
    assert.equal((await login(t.port('stomp:tcp:default'), 'stomper', 'st-pass')).command, 'CONNECTED');
  });

  test('a wrong passcode: ERROR "Login Failed: bad_username_or_password" and close', async () => {
    const r = await login(t.port('stomp:tcp:default'), 'stomper', 'nope');
    assert.equal(r.command, 'ERROR');
    assert.equal(r.message, 'Login Failed: bad_username_or_password');
  });

  test('no login header: no username, refused by the password chain', async () => {
    const r = await login(t.port('stomp:tcp:default'));
    assert.equal(r.command, 'ERROR');
    assert.match(r.message ?? '', /^Login Failed: /);
  });

  test('MQTT users are not STOMP users, and STOMP users are not MQTT users', async () => {
    const r = await login(t.port('stomp:tcp:default'), 'mqtt-user', 'mq-pass');
    assert.equal(r.message, 'Login Failed: not_authorized');
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'stomper', password: 'st-pass' }), 0x87);
  });

  test('a gateway listener with its own chain uses it exclusively', async () => {
    const alt = t.port('stomp:tcp:alt');
    assert.equal((await login(alt, 'alt-user', 'alt-pass')).command, 'CONNECTED');
    assert.equal((await login(alt, 'stomper', 'st-pass')).message, 'Login Failed: not_authorized');
    assert.equal((await login(t.port('stomp:tcp:default'), 'alt-user', 'alt-pass')).message, 'Login Failed: not_authorized');
  });

  test('the refusal is logged with listener and chain, never the passcode', async () => {
    await login(t.port('stomp:tcp:alt'), 'alt-user', 'Very-Secret-Passcode');
    assert.ok(!t.logs.text().includes('Very-Secret-Passcode'));
    const line = t.logs.lines.find((l) => l['listener'] === 'stomp:tcp:alt' && /refused|failed/i.test(String(l['msg'])));
    assert.ok(line, 'a refusal line for stomp:tcp:alt');
    assert.equal(line['chain'], 'stomp:tcp:alt');
  });
});
