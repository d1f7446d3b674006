import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient, Packet } from 'mqtt';
import { startTestNode, connect, endClient, nextMessage, subscribe, publish, type TestNode } from '../helpers/node.js';
import { stompjsConnect, withTimeout } from '../stomp/clients.js';
import { RawStomp, h } from '../stomp/raw-client.js';
import { updateSubtree } from '../../src/node/changes.js';
import type { BuiltInDatabaseSource } from '../../src/authz/sources/built_in_database/index.js';

/**
 * Beyond EMQX (issue 16 point 7): a rule change drops the affected cached decisions at once,
 * and the subscriptions the new rules deny are taken from connected MQTT and STOMP clients,
 * without a reconnect. Real clients: mqtt.js 3.1.1 and 5.0, stompjs, a raw STOMP socket.
 */

/** Resolves true when nothing arrives on `topic` within `ms`. */
function nothingOn(c: MqttClient, topic: string, ms = 400): Promise<boolean> {
  return nextMessage(c, topic, ms).then(
    () => false,
    () => true,
  );
}

/** Waits until `check` holds (the built-in database's poll, a re-check's pass). */
async function eventually(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The SUBACK code of one filter. */
function subackCode(c: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve) => {
    const on = (p: Packet) => {
      if (p.cmd !== 'suback') return;
      c.off('packetreceive', on);
      resolve((p.granted as number[])[0]!);
    };
    c.on('packetreceive', on);
    c.subscribe(filter, { qos: 1 }, () => undefined);
  });
}

const OPEN = '{allow, all}.\n';

/** The `subscription revoked` lines about a client. */
function revocations(t: TestNode, where: Record<string, unknown>): Array<Record<string, unknown>> {
  return t.logs.lines.filter((l) => l['msg'] === 'subscription revoked' && Object.entries(where).every(([k, v]) => l[k] === v));
}

describe('live revocation: MQTT and STOMP subscriptions denied by a new rule are removed', () => {
  let dir: string;
  let t: TestNode;
  let stompPort: number;
  let publisher: MqttClient;
  let rules: BuiltInDatabaseSource['rules'];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-revoke-'));
    writeFileSync(join(dir, 'open.conf'), OPEN);
    writeFileSync(join(dir, 'closed.conf'), '{deny, all, subscribe, ["fleet/#"]}.\n{allow, all}.\n');
    writeFileSync(join(dir, 'edited.conf'), OPEN);
    t = await startTestNode(`
      authorization {
        deny_action = ignore
        cache { enable = true, ttl = 1h, max_size = 32 }
        sources = [{ type = built_in_database }, { type = file, path = "${join(dir, 'open.conf')}" }]
      }
      gateway.stomp { listeners.tcp.default.bind = "127.0.0.1:0" }
    `);
    stompPort = t.port('stomp:tcp:default');
    publisher = await connect(t.url(), { protocolVersion: 5, clientId: 'publisher' });
    rules = (t.node.authz.source('built_in_database') as BuiltInDatabaseSource).rules;
  });
  after(async () => {
    await endClient(publisher);
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A subscriber receiving on `topic`, checked with one message. */
  async function subscribed(protocolVersion: 4 | 5, clientId: string, filter: string, topic: string, extra: { clean?: boolean } = {}): Promise<MqttClient> {
    const c = await connect(t.url(), { protocolVersion, clientId, ...extra });
    await subscribe(c, filter, 1);
    const got = nextMessage(c, topic);
    await publish(publisher, topic, 'before', { qos: 1 });
    assert.equal((await got).payload.toString(), 'before');
    return c;
  }

  for (const protocolVersion of [4, 5] as const) {
    const v = protocolVersion === 5 ? '5.0' : '3.1.1';

    test(`${v}: a built-in rule for the client id (through the store) stops deliveries; its other subscriptions and other clients go on`, async () => {
      const id = `dev-${protocolVersion}`;
      const c = await subscribed(protocolVersion, id, `fleet/${id}/#`, `fleet/${id}/cmd`);
      await subscribe(c, 'news/#', 0);
      const other = await subscribed(protocolVersion, `other-${protocolVersion}`, `fleet/${id}/#`, `fleet/${id}/cmd`);
      rules.put('clientid', id, [{ permission: 'deny', action: 'subscribe', topic: `fleet/${id}/#` }]);
      await eventually(() => revocations(t, { clientid: id }).length === 1, 'the revocation');
      const none = nothingOn(c, `fleet/${id}/cmd`);
      const toOther = nextMessage(other, `fleet/${id}/cmd`);
      await publish(publisher, `fleet/${id}/cmd`, 'after', { qos: 1 });
      assert.equal(await none, true, 'no delivery after the revocation');
      assert.equal((await toOther).payload.toString(), 'after', 'another client keeps its subscription');
      const news = nextMessage(c, 'news/x');
      await publish(publisher, 'news/x', 'still here', { qos: 0 });
      assert.equal((await news).payload.toString(), 'still here', 'the connection and its allowed subscriptions go on');
      assert.equal(c.connected, true);
      const line = t.logs.find('subscription revoked', { clientid: id });
      assert.ok(line, t.logs.text());
      assert.equal(line['listener'], 'tcp:default');
      assert.equal(line['filter'], `fleet/${id}/#`);
      assert.equal(line['from'], 'built_in_database');
      assert.match(String(line['rule']), /deny/);
      assert.equal(line['outcome'], 'unsubscribed');
      assert.equal(revocations(t, { clientid: id }).length, 1, 'logged once');
      // Subscribing again is refused now (the cached allow went with the change).
      assert.equal(await subackCode(c, `fleet/${id}/#`), protocolVersion === 5 ? 0x87 : 0x80);
      rules.delete('clientid', id);
      await endClient(c);
      await endClient(other);
    });

    test(`${v}: node.apply of a file-source change revokes what the new file denies`, async () => {
      const id = `file-${protocolVersion}`;
      const c = await subscribed(protocolVersion, id, 'fleet/+/state', 'fleet/a/state');
      await t.node.apply(
        updateSubtree(['authorization', 'sources'], (current) =>
          (current as Array<Record<string, unknown>>).map((s) => (s['type'] === 'file' ? { ...s, path: join(dir, 'closed.conf') } : s)),
        ),
      );
      await eventually(() => revocations(t, { clientid: id }).length === 1, 'the revocation');
      const none = nothingOn(c, 'fleet/a/state');
      await publish(publisher, 'fleet/a/state', 'after', { qos: 1 });
      assert.equal(await none, true);
      const line = t.logs.find('subscription revoked', { clientid: id });
      assert.equal(line?.['from'], 'file');
      assert.match(String(line?.['rule']), /closed\.conf:1 /);
      await t.node.apply(
        updateSubtree(['authorization', 'sources'], (current) =>
          (current as Array<Record<string, unknown>>).map((s) => (s['type'] === 'file' ? { ...s, path: join(dir, 'open.conf') } : s)),
        ),
      );
      await endClient(c);
    });
  }

  test('a persistent session loses the revoked subscription for good: not restored on reconnect', async () => {
    const c = await subscribed(5, 'persistent', 'fleet/p/#', 'fleet/p/x', { clean: false });
    rules.put('clientid', 'persistent', [{ permission: 'deny', action: 'subscribe', topic: 'fleet/p/#' }]);
    await eventually(() => revocations(t, { clientid: 'persistent' }).length === 1, 'the revocation');
    await endClient(c);
    rules.delete('clientid', 'persistent');
    const back = await connect(t.url(), { protocolVersion: 5, clientId: 'persistent', clean: false });
    const none = nothingOn(back, 'fleet/p/x');
    await publish(publisher, 'fleet/p/x', 'after', { qos: 1 });
    assert.equal(await none, true, 'the session came back without it');
    await endClient(back);
  });

  test('a username record revokes the subscriptions of every client logged in with it, and only theirs', async () => {
    const a = await connect(t.url(), { protocolVersion: 5, clientId: 'u-a', username: 'fleet-op' });
    const b = await connect(t.url(), { protocolVersion: 4, clientId: 'u-b', username: 'fleet-op' });
    const c = await connect(t.url(), { protocolVersion: 5, clientId: 'u-c', username: 'someone-else' });
    for (const x of [a, b, c]) await subscribe(x, 'ops/#', 0);
    rules.put('username', 'fleet-op', [{ permission: 'deny', action: 'subscribe', topic: 'ops/#' }]);
    await eventually(() => revocations(t, { username: 'fleet-op' }).length === 2, 'the revocations');
    // A pass over the same rules finds nothing more, and the other user's subscription stands.
    assert.equal(await t.node.access.recheckSubscriptions(), 0);
    const noneA = nothingOn(a, 'ops/x');
    const noneB = nothingOn(b, 'ops/x');
    const toC = nextMessage(c, 'ops/x');
    await publish(publisher, 'ops/x', 'm', { qos: 1 });
    assert.equal(await noneA, true);
    assert.equal(await noneB, true);
    assert.equal((await toC).payload.toString(), 'm');
    rules.delete('username', 'fleet-op');
    for (const x of [a, b, c]) await endClient(x);
  });

  test('an edited acl.conf applied by a reload revokes at once (the file is read again even though the settings are equal)', async () => {
    await t.node.apply(
      updateSubtree(['authorization', 'sources'], (current) =>
        (current as Array<Record<string, unknown>>).map((s) => (s['type'] === 'file' ? { ...s, path: join(dir, 'edited.conf') } : s)),
      ),
    );
    const c = await subscribed(5, 'reloaded', 'plant/#', 'plant/1');
    writeFileSync(join(dir, 'edited.conf'), '{deny, {clientid, "reloaded"}, subscribe, ["plant/#"]}.\n{allow, all}.\n');
    const config = t.node.config;
    await t.node.apply({ kind: 'reload', load: () => config });
    await eventually(() => revocations(t, { clientid: 'reloaded' }).length === 1, 'the revocation');
    const none = nothingOn(c, 'plant/1');
    await publish(publisher, 'plant/1', 'after', { qos: 1 });
    assert.equal(await none, true);
    assert.match(String(t.logs.find('subscription revoked', { clientid: 'reloaded' })?.['rule']), /edited\.conf:1 /);
    await endClient(c);
  });

  test('stompjs: a revoked subscription ends the connection with ERROR "Insufficient permissions for <filter>"', async () => {
    const errors: Array<Record<string, string>> = [];
    const { client } = await stompjsConnect({ tcp: stompPort }, { connectHeaders: { login: 'stomp-dev' } });
    client.onStompError = (frame) => errors.push(frame.headers as Record<string, string>);
    const closed = new Promise<void>((resolve) => (client.onWebSocketClose = () => resolve()));
    const messages: string[] = [];
    client.subscribe('alerts/#', (m) => messages.push(m.body), { id: 'alerts-1' });
    await eventually(() => t.node.access.connectedCount > 0, 'connected');
    // The subscription works first.
    await eventually(() => {
      void publish(publisher, 'alerts/a', 'before', { qos: 0 });
      return messages.length > 0;
    }, 'a first message');
    rules.put('username', 'stomp-dev', [{ permission: 'deny', action: 'subscribe', topic: 'alerts/#' }]);
    await withTimeout(closed, 3000, 'stompjs sees the connection close');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!['message'], 'Insufficient permissions for alerts/#');
    assert.equal(errors[0]!['subscription'], 'alerts-1');
    const line = t.logs.find('subscription revoked', { username: 'stomp-dev' });
    assert.equal(line?.['listener'], 'stomp:tcp:default');
    assert.equal(line?.['outcome'], 'disconnected');
    await client.deactivate();
    rules.delete('username', 'stomp-dev');
  });

  test('raw STOMP: only the clients whose subscriptions are denied are closed', async () => {
    const keep = (await RawStomp.login(stompPort, [['accept-version', '1.2'], ['login', 'keeper']])).client;
    const lose = (await RawStomp.login(stompPort, [['accept-version', '1.2'], ['login', 'loser']])).client;
    for (const [client, filter] of [[keep, 'gauges/+'], [lose, 'metrics/#']] as const) {
      client.sendFrame('SUBSCRIBE', [['id', 's'], ['destination', filter], ['receipt', 'r']]);
      assert.equal((await client.next()).command, 'RECEIPT');
    }
    rules.setAll([{ permission: 'deny', action: 'subscribe', topic: 'metrics/#' }]);
    const err = await lose.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(h(err, 'message'), 'Insufficient permissions for metrics/#');
    await withTimeout(lose.closedPromise, 2000, 'closed');
    assert.equal(keep.closed, false);
    rules.setAll([]);
    keep.close();
  });

  test('the cache over the wire: hits while rules stand, invalidated at once by a rule change (TTL 1 h)', async () => {
    const c = await connect(t.url(), { protocolVersion: 5, clientId: 'cached' });
    const metrics = t.node.authz.metrics;
    // The previous tests' rule changes re-check subscriptions asynchronously: let them settle.
    await new Promise((r) => setTimeout(r, 100));
    const misses = metrics.get('authorization.cache_miss');
    await publish(c, 'cache/x', '1', { qos: 1 });
    assert.equal(metrics.get('authorization.cache_miss') - misses, 1, 'the first publish is a miss');
    const hits = metrics.get('authorization.cache_hit');
    const missesAfter = metrics.get('authorization.cache_miss');
    await publish(c, 'cache/x', '2', { qos: 1 });
    await publish(c, 'cache/x', '3', { qos: 1 });
    assert.equal(metrics.get('authorization.cache_miss') - missesAfter, 0, 'no further miss');
    assert.equal(metrics.get('authorization.cache_hit') - hits, 2, 'then hits');
    assert.equal(t.node.authz.cachedDecisions('cached')?.length, 1);
    rules.put('clientid', 'cached', [{ permission: 'deny', action: 'publish', topic: 'cache/#' }]);
    assert.deepEqual(t.node.authz.cachedDecisions('cached'), [], 'dropped at once');
    const err = await publish(c, 'cache/x', '4', { qos: 1 }).catch((e: Error & { code?: number }) => e);
    assert.equal((err as { code?: number } | undefined)?.code, 0x87, 'the next publish is denied, not served from the cache');
    rules.delete('clientid', 'cached');
    await publish(c, 'cache/x', '5', { qos: 1 });
    await endClient(c);
  });
});

describe('live revocation with deny_action = disconnect', () => {
  let dir: string;
  let t: TestNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-revoke-d-'));
    t = await startTestNode(`authorization { deny_action = disconnect, sources = [{ type = built_in_database }] }`);
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('5.0: DISCONNECT 0x87; 3.1.1: closed; logged once per client as disconnected', async () => {
    const rules = (t.node.authz.source('built_in_database') as BuiltInDatabaseSource).rules;
    const v5 = await connect(t.url(), { protocolVersion: 5, clientId: 'd5', reconnectPeriod: 0 });
    const v4 = await connect(t.url(), { protocolVersion: 4, clientId: 'd4', reconnectPeriod: 0 });
    for (const c of [v5, v4]) {
      await subscribe(c, 'a/#', 0);
      await subscribe(c, 'b/#', 0);
    }
    const disconnect = new Promise<number | undefined>((resolve) => v5.once('disconnect', (p) => resolve(p.reasonCode)));
    const closed4 = new Promise<void>((resolve) => v4.once('close', () => resolve()));
    rules.setAll([{ permission: 'deny', action: 'subscribe', topic: '#' }]);
    assert.equal(await withTimeout(disconnect, 3000, 'DISCONNECT'), 0x87);
    await withTimeout(closed4, 3000, '3.1.1 close');
    // One revocation per client: the first disconnects it, its other subscription goes with it.
    const lines = revocations(t, {});
    assert.deepEqual(lines.map((l) => [l['clientid'], l['outcome']]).sort(), [['d4', 'disconnected'], ['d5', 'disconnected']]);
    v5.end(true);
    v4.end(true);
  });
});
