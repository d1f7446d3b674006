import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestNode, connackCode } from '../helpers/node.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('built-in database: bootstrap file and hash imports', () => {
  test('bootstrap_file (plain CSV) is imported at start; existing different users are not overwritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-boot-'));
    const file = join(dir, 'bootstrap.csv');
    writeFileSync(file, 'user_id,password,is_superuser\nboot-a,"pa ss,1",true\nboot-b,pb,false\n');
    const conf = `authentication = [{ mechanism = password_based, backend = built_in_database, bootstrap_file = "${file}", bootstrap_type = plain }]`;
    const t = await startTestNode(conf, { dataDir: join(dir, 'data') });
    try {
      assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'boot-a', password: 'pa ss,1' }), 0);
      assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'boot-b', password: 'pb' }), 0);
      const users = t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!;
      assert.equal(users.lookup('boot-a').is_superuser, true);
      await users.update('boot-b', { password: 'changed' });
      const line = t.logs.find('bootstrap users imported');
      assert.equal(line?.['success'], 2);
    } finally {
      await t.stop();
    }
    // Second start with the same data: boot-b differs from the file now, and keeps its new password.
    const again = await startTestNode(conf, { dataDir: join(dir, 'data') });
    try {
      assert.equal(await connackCode(again.url(), { protocolVersion: 5, username: 'boot-b', password: 'changed' }), 0);
      assert.equal(await connackCode(again.url(), { protocolVersion: 5, username: 'boot-b', password: 'pb' }), 0x86);
      const line = again.logs.find('bootstrap users imported');
      assert.equal(line?.['skipped'], 1);
      assert.equal(line?.['failed'], 1);
    } finally {
      await again.stop();
    }
  });

  test('a missing bootstrap file only warns', async () => {
    const t = await startTestNode('authentication = [{ mechanism = password_based, backend = built_in_database, bootstrap_file = "/nonexistent/users.csv" }]');
    try {
      assert.ok(t.logs.find('bootstrap file not found: no users imported'));
    } finally {
      await t.stop();
    }
  });

  test('hash import in EMQX export form (user_id,password_hash,salt,is_superuser) authenticates unchanged', async () => {
    const t = await startTestNode('authentication = [{ mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = sha256, salt_position = prefix } }]');
    try {
      const users = t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!;
      const salt = '6d3a3a5e1f0b4c2a9e8d7c6b5a493827';
      const csv = `user_id,password_hash,salt,is_superuser\nemqx-user,${sha256(salt + 'emqx-pass').toUpperCase()},${salt},false\n`;
      const result = await users.import(csv, 'csv', 'hash');
      assert.deepEqual(result, { total: 1, success: 1, override: 0, skipped: 0, failed: 0 });
      assert.equal(await connackCode(t.url(), { protocolVersion: 4, username: 'emqx-user', password: 'emqx-pass' }), 0);
      assert.equal(await connackCode(t.url(), { protocolVersion: 4, username: 'emqx-user', password: 'EMQX-PASS' }), 4);
      const json = JSON.stringify([{ user_id: 'json-user', password_hash: sha256(salt + 'j'), salt, is_superuser: 'true' }]);
      assert.equal((await users.import(json, 'json', 'hash')).success, 1);
      assert.equal(users.lookup('json-user').is_superuser, true);
      await assert.rejects(users.import('user_id,password,is_superuser\nx,y,false\n', 'csv', 'hash'), /password_hash/);
    } finally {
      await t.stop();
    }
  });
});
