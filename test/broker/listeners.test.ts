import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestNode, connect, connackCode, endClient, nextMessage, subscribe, publish, type TestNode } from '../helpers/node.js';
import { listenerSpec } from '../../src/transport/listener-spec.js';
import { loadConfigText } from '../../src/config/load.js';
import type { ListenerSpec } from '../../src/transport/types.js';

function specFrom(hocon: string, id: string): ListenerSpec {
  const [type, name] = id.split(':') as ['tcp' | 'ws', string];
  const config = loadConfigText(hocon);
  return listenerSpec(id, type, 'mqtt', config.listeners[type][name]!);
}

function isClosed(client: { connected: boolean }): boolean {
  return !client.connected;
}

describe('listeners managed at runtime', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode('listeners.tcp.extra { bind = "127.0.0.1:0" }');
  });
  after(async () => {
    await t.stop();
  });

  test('status lists every listener with its bound address', () => {
    const ids = t.node.listeners.list().map((l) => l.id).sort();
    assert.deepEqual(ids, ['tcp:default', 'tcp:extra', 'ws:default']);
    for (const l of t.node.listeners.list()) {
      assert.equal(l.running, true);
      assert.ok((l.address?.port ?? 0) > 0);
    }
  });

  test('stopping one listener closes its clients only; starting it again accepts new ones', async () => {
    const onExtra = await connect(t.url('tcp:extra'), { clientId: 'on-extra' });
    const onDefault = await connect(t.url(), { clientId: 'on-default' });
    const port = t.port('tcp:extra');
    await t.node.listeners.stop('tcp:extra');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(isClosed(onExtra), 'client of the stopped listener is closed');
    assert.ok(onDefault.connected, 'client of another listener stays');
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      }),
    );
    await t.node.listeners.start('tcp:extra');
    const again = await connect(t.url('tcp:extra'), { clientId: 'on-extra-2' });
    // A message still crosses between listeners.
    await subscribe(onDefault, 'rt/x');
    const got = nextMessage(onDefault, 'rt/x');
    await publish(again, 'rt/x', 'after restart');
    assert.equal((await got).payload.toString(), 'after restart');
    onExtra.end(true);
    await Promise.all([endClient(onDefault), endClient(again)]);
  });

  test('updating a listener in place (mountpoint, max_connections) applies to new connections without a restart', async () => {
    const port = t.port('tcp:extra');
    const survivor = await connect(t.url('tcp:extra'), { clientId: 'survivor' });
    await t.node.listeners.update(
      specFrom(`listeners.tcp.extra { bind = "127.0.0.1:${port}", mountpoint = "site1/", max_connections = 2 }`, 'tcp:extra'),
    );
    assert.equal(t.port('tcp:extra'), port, 'same socket');
    assert.ok(survivor.connected, 'existing client untouched');
    const watcher = await connect(t.url(), { clientId: 'mp-watch' });
    await subscribe(watcher, 'site1/#');
    const got = nextMessage(watcher, 'site1/t');
    const mounted = await connect(t.url('tcp:extra'), { clientId: 'mounted' });
    await publish(mounted, 't', 'hi');
    assert.equal((await got).payload.toString(), 'hi', 'the new mountpoint prefixes topics');
    // max_connections = 2: survivor + mounted are there, a third is refused at accept.
    await assert.rejects(connect(t.url('tcp:extra'), { clientId: 'third', connectTimeout: 1000 }));
    assert.ok(t.logs.find('connection refused', { listener: 'tcp:extra', reason: 'max_connections reached' }));
    await Promise.all([endClient(survivor), endClient(watcher), endClient(mounted)]);
  });

  test('changing the bind address rebinds that listener alone; the old port is released', async () => {
    const oldPort = t.port('tcp:extra');
    const other = await connect(t.url(), { clientId: 'bystander' });
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
    const wanted = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    await t.node.listeners.update(specFrom(`listeners.tcp.extra { bind = "127.0.0.1:${wanted}" }`, 'tcp:extra'));
    const newPort = t.port('tcp:extra');
    assert.equal(newPort, wanted);
    assert.notEqual(newPort, oldPort);
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const s = net.connect(oldPort, '127.0.0.1', () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      }),
      'the old port is closed',
    );
    assert.equal(await connackCode(`mqtt://127.0.0.1:${newPort}`, { clientId: 'rebound' }), 0);
    assert.ok(other.connected);
    await endClient(other);
  });

  test('a listener can be added and removed at runtime', async () => {
    await t.node.listeners.add(specFrom('listeners.tcp.added { bind = "127.0.0.1:0" }', 'tcp:added'));
    assert.equal(await connackCode(t.url('tcp:added'), { clientId: 'added' }), 0);
    await t.node.listeners.remove('tcp:added');
    assert.equal(t.node.listeners.has('tcp:added'), false);
  });

  test('adding a listener on a busy port fails with a clear error and changes nothing', async () => {
    const busy = t.port();
    await assert.rejects(
      t.node.listeners.add(specFrom(`listeners.tcp.clash { bind = "127.0.0.1:${busy}" }`, 'tcp:clash')),
      /listener tcp:clash cannot bind 127\.0\.0\.1:\d+: address already in use/,
    );
    assert.equal(t.node.listeners.has('tcp:clash'), false);
  });

  test('an IPv6 loopback listener accepts clients', async (ctx) => {
    const probe = net.createServer();
    const v6 = await new Promise<boolean>((r) => {
      probe.once('error', () => r(false));
      probe.listen(0, '::1', () => r(true));
    });
    probe.close();
    if (!v6) {
      ctx.diagnostic('no IPv6 loopback on this machine');
      assert.equal(v6, false);
      return;
    }
    await t.node.listeners.add(specFrom('listeners.tcp.v6 { bind = "[::1]:0" }', 'tcp:v6'));
    assert.equal(await connackCode(`mqtt://[::1]:${t.port('tcp:v6')}`, { clientId: 'v6' }), 0);
    await t.node.listeners.remove('tcp:v6');
  });

  test('WebSocket listener: wrong path and missing subprotocol are refused', async () => {
    const port = t.port('ws:default');
    const res = await fetch(`http://127.0.0.1:${port}/other`).catch((e: Error) => e);
    assert.ok(!(res instanceof Error) ? res.status === 404 : true);
    const status = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () =>
        s.write('GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
      );
      let data = '';
      s.on('data', (c) => (data += c.toString()));
      s.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    });
    assert.equal(status, 'HTTP/1.1 400 Bad Request');
  });
});
