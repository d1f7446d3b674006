import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, connect, endClient } from '../helpers/node.js';

describe('what authentication leaves on the session', () => {
  test('is_superuser from the built-in database is carried on the session for authorization', async () => {
    const t = await startTestNode('authentication = [{ mechanism = password_based, backend = built_in_database }]');
    try {
      const users = t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!;
      await users.add({ user_id: 'root', password: 'r', is_superuser: true });
      await users.add({ user_id: 'plain', password: 'p' });
      const root = await connect(t.url(), { clientId: 'root-c', username: 'root', password: 'r' });
      const plain = await connect(t.url('ws:default'), { clientId: 'plain-c', username: 'plain', password: 'p', protocolVersion: 5 });
      const rs = t.node.broker.session('root-c');
      const ps = t.node.broker.session('plain-c');
      assert.equal(rs?.authz.isSuperuser, true);
      assert.equal(rs?.decision.authenticator, 'password_based:built_in_database');
      assert.equal(ps?.authz.isSuperuser, false);
      assert.equal(ps?.authz.username, 'plain');
      assert.equal(ps?.authz.listener, 'ws:default');
      await Promise.all([endClient(root), endClient(plain)]);
    } finally {
      await t.stop();
    }
  });

  test('an anonymous listener on a non-loopback address is warned about at start; a guarded one is not', async () => {
    const t = await startTestNode(`
      listeners.tcp.open { bind = "0.0.0.0:0" }
      listeners.tcp.guarded { bind = "0.0.0.0:0", authentication = [{ mechanism = password_based, backend = built_in_database }] }
    `);
    try {
      const warned = t.logs.lines.filter((l) => l['msg'] === 'listener accepts anonymous clients on a non-loopback address').map((l) => l['listener']);
      assert.deepEqual(warned, ['tcp:open']);
      assert.equal(t.logs.find('listener accepts anonymous clients on a non-loopback address')?.['level'], 40);
    } finally {
      await t.stop();
    }
  });
});
