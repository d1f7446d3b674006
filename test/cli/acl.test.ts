import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startTestNode, connect, endClient, publish, type TestNode } from '../helpers/node.js';

const AUTHZ = `authorization { no_match = deny, sources = [{ type = built_in_database, max_rules = 3 }] }`;

/** The QoS 1 publish's outcome: 0 when allowed, the PUBACK reason code when not. */
async function publishCode(url: string, clientId: string, topic: string, username?: string): Promise<number> {
  const c = await connect(url, { protocolVersion: 5, clientId, ...(username ? { username } : {}) });
  try {
    await publish(c, topic, 'x', { qos: 1 });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  } finally {
    await endClient(c);
  }
}

/** Polls until `check` holds (a running broker sees another process's writes within a second). */
async function eventually(check: () => Promise<boolean>, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail('not within the poll interval');
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('gatehouse acl (CLI) against a running node', () => {
  let dir: string;
  let conf: string;
  let t: TestNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-acl-'));
    conf = join(dir, 'gatehouse.conf');
    writeFileSync(conf, `node.data_dir = "${join(dir, 'data')}"\n${AUTHZ}\n`);
    t = await startTestNode(AUTHZ, { dataDir: join(dir, 'data') });
  });
  after(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(['acl', ...args, '--config', conf], {}, 60000);

  test('add takes effect on a running broker without a restart; list shows it; delete takes it back', async () => {
    assert.equal(await publishCode(t.url(), 'cli-c1', 'cli/t'), 0x87);
    const added = await cli('add', '--clientid', 'cli-c1', 'allow', 'publish', 'cli/+', '--qos', '0,1');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added to clientid cli-c1: allow publish cli\/\+ qos 0,1 \(1 rules\)/);
    await eventually(async () => (await publishCode(t.url(), 'cli-c1', 'cli/t')) === 0);
    const listed = await cli('list', 'clients', '--like', 'cli');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^clientid cli-c1\t1\tallow publish cli\/\+ qos 0,1$/m);
    assert.match(listed.stdout, /# page 1, 1 of 1 clients/);
    const one = await cli('list', '--clientid', 'cli-c1');
    assert.match(one.stdout, /clientid cli-c1\t1\tallow publish/);
    const deleted = await cli('delete', '--clientid', 'cli-c1');
    assert.equal(deleted.code, 0, deleted.stderr);
    await eventually(async () => (await publishCode(t.url(), 'cli-c1', 'cli/t')) === 0x87);
  });

  test('import a JSON file of users, clients and all; delete one rule', async () => {
    const file = join(dir, 'rules.json');
    writeFileSync(
      file,
      JSON.stringify({
        users: [{ username: 'imp-u', rules: [{ permission: 'allow', action: 'publish', topic: 'imp/${username}' }] }],
        all: [{ permission: 'allow', action: 'publish', topic: 'everyone' }, { permission: 'allow', action: 'publish', topic: 'second' }],
      }),
    );
    const r = await cli('import', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 0 client records, 1 user records and the rules for all/);
    await eventually(async () => (await publishCode(t.url(), 'imp-c', 'imp/imp-u', 'imp-u')) === 0);
    assert.equal(await publishCode(t.url(), 'imp-c2', 'everyone'), 0);
    const d = await cli('delete', '--all', '--rule', '1');
    assert.equal(d.code, 0, d.stderr);
    await eventually(async () => (await publishCode(t.url(), 'imp-c3', 'everyone')) === 0x87);
    assert.equal(await publishCode(t.url(), 'imp-c4', 'second'), 0);
    const all = await cli('list', 'all');
    assert.match(all.stdout, /^all\t1\tallow publish second$/m);
  });

  test('bad rules, too many rules and a missing source are refused with the reason', async () => {
    const bad = await cli('add', '--username', 'x', 'allow', 'teleport', 't');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /rules\[0\]\.action of User 'x': action must be "publish", "subscribe" or "all"/);
    for (let i = 0; i < 3; i++) assert.equal((await cli('add', '--username', 'many', 'allow', 'publish', `t/${i}`)).code, 0);
    const over = await cli('add', '--username', 'many', 'allow', 'publish', 't/3');
    assert.equal(over.code, 1);
    assert.match(over.stderr, /The rules length of User 'many' exceeds the maximum limit/);
    const two = await cli('add', '--username', 'a', '--clientid', 'b', 'allow', 'publish', 't');
    assert.equal(two.code, 2);
    const other = join(dir, 'none.conf');
    writeFileSync(other, `node.data_dir = "${join(dir, 'data')}"\n`);
    const none = await runCli(['acl', 'list', 'all', '--config', other]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no built_in_database source/);
  });
});
