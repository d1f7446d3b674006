import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN, BUILT_IN_PATH, startApiNode } from './helpers.js';
import { connackCode } from '../helpers/node.js';

test('API changes survive a restart from the same config and data dir; failed changes change nothing', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-api-persist-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const conf = 'listeners.tcp.extra { bind = "127.0.0.1:0", mountpoint = "x/" }';
  const first = await startApiNode(conf, { dataDir });
  const file = join(dataDir, 'cluster.hocon');
  try {
    assert.equal((await first.call('POST', '/authentication', { mechanism: 'password_based', backend: 'built_in_database' })).status, 200);
    assert.equal((await first.call('POST', `/authentication/${BUILT_IN_PATH}/users`, { user_id: 'keep', password: 'pw-keep' })).status, 201);
    assert.equal((await first.call('PUT', '/listeners/tcp%3Aextra', { max_connections: 7 })).status, 200);
    assert.equal((await first.call('POST', '/listeners/tcp%3Aextra/stop')).status, 200);
    assert.equal(first.node.listeners.get('tcp:extra')?.running, false, 'stopped at once');
    const saved = readFileSync(file, 'utf8');
    // A change that fails validation changes nothing: not live, not on disk.
    const bad = await first.call('PUT', '/listeners/tcp%3Adefault', { bind: 'not a bind' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^bind: /);
    assert.equal(readFileSync(file, 'utf8'), saved);
    const busy = await first.call('POST', '/listeners/tcp%3Abusy', { bind: `127.0.0.1:${first.port()}` });
    assert.equal(busy.status, 400, 'a listener that cannot bind is refused');
    assert.equal((await first.call('GET', '/listeners/tcp%3Abusy')).status, 404);
    assert.equal(readFileSync(file, 'utf8'), saved);
    assert.ok(!existsSync(`${file}.${process.pid}.tmp`), 'no temp file left behind');
  } finally {
    await first.stop();
  }

  const second = await startApiNode(conf, { dataDir });
  try {
    const chain = (await second.call('GET', '/authentication')).body;
    assert.deepEqual(chain.map((a: { id: string }) => a.id), [BUILT_IN]);
    const extra = (await second.call('GET', '/listeners/tcp%3Aextra')).body;
    assert.equal(extra.max_connections, 7);
    assert.equal(extra.mountpoint, 'x/', 'fields from the config file stay');
    assert.equal(extra.enable, false);
    assert.equal(extra.running, false);
    assert.equal(await connackCode(`mqtt://127.0.0.1:${second.port()}`, { clientId: 'k', username: 'keep', password: 'pw-keep', protocolVersion: 5 }), 0);
    assert.equal(await connackCode(`mqtt://127.0.0.1:${second.port()}`, { clientId: 'k', username: 'keep', password: 'bad', protocolVersion: 5 }), 0x86);
    assert.equal(second.logs.lines.filter((l) => 'initial_admin_password' in l).length, 0, 'the admin password is generated only on the first start');
    assert.equal((await second.call('POST', '/listeners/tcp%3Aextra/start')).status, 200);
    assert.equal(second.node.listeners.get('tcp:extra')?.running, true);
  } finally {
    await second.stop();
  }
});
