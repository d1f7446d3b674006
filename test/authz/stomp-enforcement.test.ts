import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestNode, connect, endClient, nextMessage, subscribe, type TestNode } from '../helpers/node.js';
import { RawStomp, h } from '../stomp/raw-client.js';
import { withTimeout } from '../stomp/clients.js';
import type { BuiltInDatabaseSource } from '../../src/authz/sources/built_in_database/index.js';

/**
 * STOMP enforcement (§12.3) with the real authorizer: a file source and the built-in
 * database, whatever deny_action says (disconnect here, ignore is the default).
 */
describe('STOMP SEND and SUBSCRIBE through the authorizer (§12.3)', () => {
  let dir: string;
  let t: TestNode;
  let port: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-authz-stomp-'));
    const file = join(dir, 'acl.conf');
    writeFileSync(file, '{deny, all, publish, ["secret/#"]}.\n{deny, {username, "eve"}, subscribe, ["private/#"]}.\n');
    t = await startTestNode(`
      authorization {
        deny_action = ignore
        sources = [{ type = built_in_database }, { type = file, path = "${file}" }]
      }
      gateway.stomp { listeners.tcp.default.bind = "127.0.0.1:0" }
    `);
    port = t.port('stomp:tcp:default');
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('SEND denied by the file source: ERROR with receipt-id, then close; nothing published; logged with the rule', async () => {
    const watcher = await connect(t.url(), { protocolVersion: 5, clientId: 'stomp-watcher' });
    await subscribe(watcher, 'secret/#');
    const { client: stomp } = await RawStomp.login(port, [['accept-version', '1.2'], ['login', 'mallory']]);
    stomp.sendFrame('SEND', [['destination', 'secret/plans'], ['receipt', 'r-1']], 'leak');
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(h(err, 'message'), 'Insufficient permissions for secret/plans');
    assert.equal(h(err, 'receipt-id'), 'r-1');
    await withTimeout(stomp.closedPromise, 2000, 'close after the denial');
    const none = await nextMessage(watcher, 'secret/plans', 300).then(() => false, () => true);
    assert.equal(none, true, 'not published');
    const line = t.logs.find('authorization denied', { topic: 'secret/plans' });
    assert.equal(line?.['listener'], 'stomp:tcp:default');
    assert.equal(line?.['from'], 'file');
    assert.match(String(line?.['rule']), /acl\.conf:1 \{deny, all, publish, \["secret\/#"\]\}/);
    await endClient(watcher);
  });

  test('SUBSCRIBE denied for one user only; allowed for another', async () => {
    const eve = (await RawStomp.login(port, [['accept-version', '1.2'], ['login', 'eve']])).client;
    eve.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'private/+'], ['receipt', 's-1']]);
    const err = await eve.next();
    assert.equal(h(err, 'message'), 'Insufficient permissions for private/+');
    assert.equal(h(err, 'receipt-id'), 's-1');
    await withTimeout(eve.closedPromise, 2000, 'close');
    const bob = (await RawStomp.login(port, [['accept-version', '1.2'], ['login', 'bob']])).client;
    bob.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'private/+'], ['receipt', 's-2']]);
    const receipt = await bob.next();
    assert.equal(receipt.command, 'RECEIPT');
    bob.close();
  });

  test('built-in database rules (per username) come before the file and take effect at once, cached decisions included', async () => {
    const rules = (t.node.authz.source('built_in_database') as BuiltInDatabaseSource).rules;
    rules.put('username', 'carol', [{ permission: 'allow', action: 'publish', topic: 'secret/carol' }]);
    const { client: carol } = await RawStomp.login(port, [['accept-version', '1.2'], ['login', 'carol']]);
    carol.sendFrame('SEND', [['destination', 'secret/carol'], ['receipt', 'ok']], 'mine');
    assert.equal((await carol.next()).command, 'RECEIPT');
    carol.sendFrame('SEND', [['destination', 'secret/carol'], ['receipt', 'cached']], 'again');
    assert.equal((await carol.next()).command, 'RECEIPT');
    rules.put('username', 'carol', [{ permission: 'deny', action: 'all', topic: 'open/#' }]);
    carol.sendFrame('SEND', [['destination', 'secret/carol'], ['receipt', 'no']], 'x');
    const err = await carol.next();
    assert.equal(h(err, 'message'), 'Insufficient permissions for secret/carol');
    await withTimeout(carol.closedPromise, 2000, 'close');
  });
});
