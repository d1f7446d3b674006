import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { BannedList } from '../../src/access/banned/list.js';
import type { BannedEntry } from '../../src/access/banned/entry.js';

describe('gatehouse banned (CLI)', () => {
  let dir: string;
  let conf: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-banned-'));
    conf = join(dir, 'gatehouse.conf');
    writeFileSync(conf, `node.data_dir = "${join(dir, 'data')}"\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(['banned', ...args, '--config', conf], {}, 60000);

  test('with no node running: add, list (with a filter), delete, clear, and clear errors', async () => {
    let r = await cli('add', 'clientid', 'offline-1', '--reason', 'test ban', '--for', '10m');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /banned clientid offline-1 until \d{4}-/);
    assert.equal((await cli('add', 'peerhost_net', '10.1.2.3/8')).code, 0);
    r = await cli('list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^clientid\toffline-1\tby cli\tat .*\tuntil .*\ttest ban$/m);
    assert.match(r.stdout, /^peerhost_net\t10\.0\.0\.0\/8\tby cli\t.*until infinity$/m);
    assert.match(r.stdout, /# page 1, 2 of 2 entries/);
    r = await cli('list', '--like-clientid', '^off');
    assert.match(r.stdout, /# page 1, 1 of 1 entries/);
    r = await cli('add', 'clientid', 'offline-1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already banned/);
    r = await cli('add', 'peerhost', '999.1.1.1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /who: bad peerhost/);
    r = await cli('add', 'clientid', 'x', '--until', '5');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /until: cannot create an expired ban/);
    assert.equal((await cli('delete', 'peerhost_net', '10.0.0.0/8')).code, 0);
    r = await cli('delete', 'peerhost_net', '10.0.0.0/8');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not found/);
    r = await cli('clear');
    assert.match(r.stdout, /cleared 1 entries/);
    assert.equal((await cli('frobnicate')).code, 2);
  });

  describe('while a node runs', () => {
    let t: TestNode;
    let list: BannedList;
    before(async () => {
      t = await startTestNode('', { dataDir: join(dir, 'data') });
      // The node's banned list as the access service will hold it (wired by the lead).
      list = new BannedList({ records: t.node.store.banned });
      list.start({ pollMs: 50 });
    });
    after(async () => {
      list.stop();
      await t.stop();
    });

    test('an add from the CLI reaches the running list within the poll, with an onAdded event; delete lifts it', async () => {
      const heard = new Promise<BannedEntry>((resolve) => list.onAdded(resolve));
      const r = await cli('add', 'username', 'mallory', '--reason', 'abuse');
      assert.equal(r.code, 0, r.stderr);
      const entry = await heard;
      assert.deepEqual([entry.as, entry.who, entry.by, entry.reason], ['username', 'mallory', 'cli', 'abuse']);
      assert.ok(list.match({ clientid: 'c', username: 'mallory', peerhost: '127.0.0.1' }));
      assert.equal((await cli('delete', 'username', 'mallory')).code, 0);
      const deadline = Date.now() + 3000;
      while (list.match({ clientid: 'c', username: 'mallory', peerhost: '127.0.0.1' }) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      assert.equal(list.match({ clientid: 'c', username: 'mallory', peerhost: '127.0.0.1' }), undefined);
    });

    test('an entry the node adds is listed by the CLI', async () => {
      list.add({ as: 'clientid_re', who: '^scanner-', reason: 'node side' });
      const r = await cli('list', '--like-clientid', 'scanner');
      assert.match(r.stdout, /^clientid_re\t\^scanner-\tby mgmt_api\t.*node side$/m);
    });
  });
});
