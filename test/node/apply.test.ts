import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/load.js';
import { setSubtree } from '../../src/node/changes.js';
import { connackCode, startTestNode } from '../helpers/node.js';

/**
 * `node.apply` on a real node: the handlers of the composition root (authentication chains,
 * MQTT listeners, the STOMP gateway's listeners and settings) make a change live, and a
 * refused change leaves the configuration, the running listeners and chains, and the
 * override file as they were.
 */

const BUILT_IN = [{ mechanism: 'password_based', backend: 'built_in_database' }];

test('an invalid change changes nothing: configuration, listeners, chains, override file', async (t) => {
  const n = await startTestNode();
  t.after(() => n.stop());
  const before = JSON.stringify(n.node.config);
  const port = n.port();
  const block = n.node.config.listeners.tcp['default']!;
  await assert.rejects(n.node.apply(setSubtree(['listeners', 'tcp', 'default'], { ...block, bind: 'not a bind', authentication: BUILT_IN })), ConfigError);
  assert.equal(JSON.stringify(n.node.config), before);
  assert.equal(n.port(), port, 'the listener kept its socket');
  assert.equal(n.node.authn.chain('tcp:default'), undefined, 'no chain was made');
  assert.equal(await connackCode(n.url(), { clientId: 'still-open', protocolVersion: 5 }), 0);
  assert.equal(existsSync(join(n.dataDir, 'cluster.hocon')), false);
});

test('a listener that cannot bind undoes the chain made for it (the authentication handler ran first)', async (t) => {
  const n = await startTestNode();
  t.after(() => n.stop());
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.after(() => blocker.close());
  const busy = (blocker.address() as net.AddressInfo).port;
  const before = JSON.stringify(n.node.config);
  await assert.rejects(n.node.apply(setSubtree(['listeners', 'tcp', 'busy'], { bind: `127.0.0.1:${busy}`, authentication: BUILT_IN })), /cannot bind/);
  assert.equal(n.node.authn.chain('tcp:busy'), undefined, 'the chain went with the refused change');
  assert.equal(n.node.listeners.has('tcp:busy'), false);
  assert.equal(JSON.stringify(n.node.config), before);
  assert.equal(existsSync(join(n.dataDir, 'cluster.hocon')), false);
});

test('one change, every subsystem: the gateway handlers start its listener and take its settings, the chain handler its chain', async (t) => {
  const n = await startTestNode();
  t.after(() => n.stop());
  assert.equal(n.node.listeners.has('stomp:tcp:default'), false);
  const result = await n.node.apply(
    setSubtree(['gateway', 'stomp'], {
      mountpoint: 'st/',
      authentication: BUILT_IN,
      listeners: { tcp: { default: { bind: '127.0.0.1:0' } } },
    }),
  );
  assert.deepEqual(result.changed, ['gateway.stomp']);
  assert.equal(n.node.listeners.get('stomp:tcp:default')?.running, true, 'listeners handler');
  assert.equal(n.node.gateways.stomp.mountpoint, 'st/', 'settings handler: the next STOMP connection reads it');
  assert.equal(n.node.authn.chain('stomp:global')?.entries.length, 1, 'authentication handler');
  assert.equal(n.node.config.gateway.stomp?.mountpoint, 'st/', 'the live configuration');
  assert.ok(existsSync(join(n.dataDir, 'cluster.hocon')), 'persisted');

  // Chains that did not change keep their very authenticators (a reconfiguration is not a rebuild).
  const chain = n.node.authn.chain('stomp:global');
  await n.node.apply(setSubtree(['gateway', 'stomp', 'mountpoint'], 'other/'));
  assert.equal(n.node.authn.chain('stomp:global'), chain);
  assert.equal(n.node.gateways.stomp.mountpoint, 'other/');
});

test('reload() without a file to read is refused', async (t) => {
  const n = await startTestNode();
  t.after(() => n.stop());
  await assert.rejects(n.node.reload(), /without a configuration file/);
});
