import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startTestNode, connackCode, type TestNode } from '../helpers/node.js';

const CHAINS = `
authentication = [{ mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = sha256, salt_position = suffix } }]
listeners.tcp.default.bind = "127.0.0.1:0"
listeners.ws.default.bind = "127.0.0.1:0"
listeners.tcp.devices { bind = "127.0.0.1:0", authentication = [{ mechanism = password_based, backend = built_in_database }] }
`;

describe('gatehouse users (CLI) against a running node', () => {
  let dir: string;
  let conf: string;
  let t: TestNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-users-'));
    conf = join(dir, 'gatehouse.conf');
    writeFileSync(conf, `node.data_dir = "${join(dir, 'data')}"\n${CHAINS}`);
    t = await startTestNode(CHAINS, { dataDir: join(dir, 'data') });
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(['users', ...args, '--config', conf], {}, 60000);

  test('add takes effect for the next connection without a restart', async () => {
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'carol', password: 'c-pass' }), 0x87);
    const r = await cli('add', 'carol', 'c-pass');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added carol/);
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'carol', password: 'c-pass' }), 0);
  });

  test('add of an existing user fails with a clear message', async () => {
    const r = await cli('add', 'carol', 'again');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /user carol already exists/);
  });

  test('update changes the password; the old one stops working', async () => {
    assert.equal((await cli('update', 'carol', '--password', 'new-pass', '--superuser', 'true')).code, 0);
    assert.equal(await connackCode(t.url(), { protocolVersion: 4, username: 'carol', password: 'c-pass' }), 4);
    assert.equal(await connackCode(t.url(), { protocolVersion: 4, username: 'carol', password: 'new-pass' }), 0);
    const list = await cli('list', '--like', 'car');
    assert.match(list.stdout, /^carol\tsuperuser$/m);
  });

  test('--chain selects a listener chain whose users are separate', async () => {
    assert.equal((await cli('add', 'dev1', 'd', '--chain', 'tcp:devices')).code, 0);
    assert.equal(await connackCode(t.url('tcp:devices'), { protocolVersion: 5, username: 'dev1', password: 'd' }), 0);
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'dev1', password: 'd' }), 0x87);
    const list = await cli('list');
    assert.ok(!list.stdout.includes('dev1'));
  });

  test('delete locks the user out; deleting again is an error', async () => {
    assert.equal((await cli('delete', 'carol')).code, 0);
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'carol', password: 'new-pass' }), 0x87);
    const again = await cli('delete', 'carol');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not found/);
  });

  test('a chain without a built-in database authenticator is refused', async () => {
    const r = await cli('list', '--chain', 'ws:default');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /chain ws:default has no password_based:built_in_database authenticator/);
  });

  test('import: malformed file imports nothing and names the line', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'user_id,password,is_superuser\nu1,p1,false\nu2,"unterminated,false\n');
    const r = await cli('import', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 3/);
    assert.doesNotMatch((await cli('list', '--like', 'u1')).stdout, /^u1/m);
  });

  test('import: duplicates and existing users are counted (override, skipped)', async () => {
    const file = join(dir, 'dups.json');
    writeFileSync(file, JSON.stringify([
      { user_id: 'j1', password: 'a' },
      { user_id: 'j2', password: 'b', is_superuser: true },
      { user_id: 'j1', password: 'c' },
    ]));
    const r = await cli('import', file);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as Record<string, number>;
    assert.equal(result['total'], 3);
    assert.equal(result['success'], 2);
    assert.equal(result['override'], 1);
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'j1', password: 'c' }), 0, 'the later duplicate wins');
  });

  test('import of 100 000 users shows progress and finishes in under 30 s', async () => {
    const file = join(dir, 'many.csv');
    const lines = ['user_id,password,is_superuser'];
    for (let i = 0; i < 100_000; i++) lines.push(`bulk-${i},pw-${i},${i % 1000 === 0}`);
    writeFileSync(file, lines.join('\n'));
    const started = Date.now();
    const r = await cli('import', file);
    const elapsed = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { total: 100000, success: 100000, override: 0, skipped: 0, failed: 0 });
    assert.match(r.stderr, /importing \[.*\] 100% \| 100000\/100000 users/);
    assert.ok(elapsed < 30_000, `took ${elapsed} ms`);
    process.stdout.write(`# 100 000-user import via CLI: ${elapsed} ms\n`);
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'bulk-99999', password: 'pw-99999' }), 0);
  });
});
