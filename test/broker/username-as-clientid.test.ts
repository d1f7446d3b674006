import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, connackCode, endClient, startTestNode, type TestNode } from '../helpers/node.js';

/** `mqtt.use_username_as_clientid` (emqx5-auth.md §1.1 step 3): honoured, never accepted and ignored. */
describe('mqtt.use_username_as_clientid = true', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode('mqtt.use_username_as_clientid = true');
  });
  after(async () => {
    await t.stop();
  });

  for (const protocolVersion of [4, 5] as const) {
    test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: the username becomes the client id`, async () => {
      const username = `alice-${protocolVersion}`;
      const client = await connect(t.url(), { clientId: 'whatever', username, protocolVersion, reconnectPeriod: 0 });
      try {
        assert.ok(t.node.broker.session(username), 'registered under the username');
        assert.equal(t.node.broker.session('whatever'), undefined);
      } finally {
        await endClient(client);
      }
    });
  }

  test('no username: CONNACK 0x85 on 5.0, return code 2 on 3.1.1', async () => {
    assert.equal(await connackCode(t.url(), { clientId: 'nouser5', protocolVersion: 5, reconnectPeriod: 0 }), 0x85);
    assert.equal(await connackCode(t.url(), { clientId: 'nouser4', protocolVersion: 4, reconnectPeriod: 0 }), 2);
    assert.ok(t.logs.lines.some((l) => l['msg'] === 'connection refused' && l['reason'] === 'client_identifier_not_valid'));
  });
});

test('mqtt.use_username_as_clientid = false (default) keeps the CONNECT client id', async () => {
  const t = await startTestNode();
  try {
    const client = await connect(t.url(), { clientId: 'own-id', username: 'bob', reconnectPeriod: 0 });
    assert.ok(t.node.broker.session('own-id'));
    await endClient(client);
  } finally {
    await t.stop();
  }
});
