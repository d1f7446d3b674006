import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  BuiltInStore,
  BUSY_TIMEOUT_MS,
  SCHEMA_VERSION,
  StoreInputError,
  StoreSchemaError,
  type ImportRecord,
  type NewUser,
} from '../../src/store/index.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `db-${++counter}`);

before(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-store-users-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

const user = (id: string, hash = `h-${id}`, su = false, salt = `s-${id}`): NewUser => ({
  user_id: id,
  password_hash: hash,
  salt,
  is_superuser: su,
});

describe('BuiltInStore.open', () => {
  test('creates the directory and file, WAL + synchronous FULL + busy_timeout + schema version', () => {
    const dir = join(freshDir(), 'nested', 'data');
    const store = BuiltInStore.open(dir);
    try {
      assert.equal(store.path, join(dir, 'gatehouse.db'));
      assert.ok(existsSync(store.path));
    } finally {
      store.close();
    }
    const raw = new Database(join(dir, 'gatehouse.db'), { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal'); // persistent
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      raw.close();
    }
    const again = BuiltInStore.open(dir);
    try {
      assert.deepEqual(again.settings(), {
        journal_mode: 'wal',
        synchronous: 2, // FULL
        busy_timeout_ms: BUSY_TIMEOUT_MS,
        schema_version: SCHEMA_VERSION,
      });
      assert.ok(BUSY_TIMEOUT_MS >= 1000);
      assert.equal(again.isOpen, true);
    } finally {
      again.close();
      again.close(); // idempotent
      assert.equal(again.isOpen, false);
    }
    assert.throws(() => again.users.count('g'));
  });

  test('refuses a database from a newer schema version', () => {
    const dir = freshDir();
    BuiltInStore.open(dir).close();
    const raw = new Database(join(dir, 'gatehouse.db'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    assert.throws(() => BuiltInStore.open(dir), StoreSchemaError);
  });

  test('data persists across close/reopen', () => {
    const dir = freshDir();
    const a = BuiltInStore.open(dir);
    assert.equal(a.users.insert('mqtt:global', user('alice', 'H', true)), 'ok');
    a.meta.set('k', 'v');
    a.close();
    const b = BuiltInStore.open(dir);
    try {
      const rec = b.users.get('mqtt:global', 'alice');
      assert.equal(rec?.password_hash, 'H');
      assert.equal(rec?.is_superuser, true);
      assert.equal(b.meta.get('k'), 'v');
    } finally {
      b.close();
    }
  });
});

describe('users CRUD', () => {
  let store: BuiltInStore;
  before(() => {
    store = BuiltInStore.open(freshDir());
  });
  after(() => store.close());

  test('insert, get, already_exists', () => {
    const t0 = Date.now();
    assert.equal(store.users.insert('g', user('alice', 'hash1', true, 'salt1')), 'ok');
    const rec = store.users.get('g', 'alice');
    assert.ok(rec);
    assert.deepEqual(
      { ...rec, created_at: 0 },
      { user_id: 'alice', password_hash: 'hash1', salt: 'salt1', is_superuser: true, created_at: 0 },
    );
    assert.ok(rec.created_at >= t0 - 1000 && rec.created_at <= Date.now() + 1000);
    assert.equal(store.users.insert('g', user('alice', 'other')), 'already_exists');
    assert.equal(store.users.get('g', 'alice')?.password_hash, 'hash1');
    assert.equal(store.users.get('g', 'nobody'), undefined);
  });

  test('user ids are case-sensitive', () => {
    assert.equal(store.users.insert('g', user('Bob')), 'ok');
    assert.equal(store.users.get('g', 'bob'), undefined);
    assert.equal(store.users.insert('g', user('bob')), 'ok');
    assert.equal(store.users.get('g', 'Bob')?.password_hash, 'h-Bob');
    assert.equal(store.users.get('g', 'bob')?.password_hash, 'h-bob');
  });

  test('update patches only given fields; not_found', () => {
    store.users.insert('g', user('carol', 'old', false, 'oldsalt'));
    assert.equal(store.users.update('g', 'carol', { is_superuser: true }), 'ok');
    assert.deepEqual(
      (({ password_hash, salt, is_superuser }) => ({ password_hash, salt, is_superuser }))(store.users.get('g', 'carol')!),
      { password_hash: 'old', salt: 'oldsalt', is_superuser: true },
    );
    assert.equal(store.users.update('g', 'carol', { password_hash: 'new', salt: 'newsalt' }), 'ok');
    const rec = store.users.get('g', 'carol')!;
    assert.equal(rec.password_hash, 'new');
    assert.equal(rec.salt, 'newsalt');
    assert.equal(rec.is_superuser, true);
    assert.equal(store.users.update('g', 'carol', { is_superuser: false }), 'ok');
    assert.equal(store.users.get('g', 'carol')!.is_superuser, false);
    assert.equal(store.users.update('g', 'ghost', { is_superuser: true }), 'not_found');
    assert.equal(store.users.update('other-group', 'carol', { is_superuser: true }), 'not_found');
  });

  test('delete', () => {
    store.users.insert('g', user('dave'));
    assert.equal(store.users.delete('g', 'dave'), 'ok');
    assert.equal(store.users.get('g', 'dave'), undefined);
    assert.equal(store.users.delete('g', 'dave'), 'not_found');
  });

  test('bad input is refused with a typed error', () => {
    assert.throws(() => store.users.insert('g', user('')), (e: unknown) => e instanceof StoreInputError && e.code === 'invalid_user_id');
    assert.throws(
      () => store.users.insert('g', { user_id: 'x', password_hash: 5, salt: '', is_superuser: false } as unknown as NewUser),
      (e: unknown) => e instanceof StoreInputError && e.code === 'invalid_record',
    );
    assert.throws(() => store.users.update('g', '', {}), StoreInputError);
    assert.equal(store.users.get('g', 'x'), undefined);
  });
});

describe('users list, filters, groups', () => {
  let store: BuiltInStore;
  before(() => {
    store = BuiltInStore.open(freshDir());
  });
  after(() => store.close());

  test('paging: order, count, hasnext, past the end', () => {
    const ids = Array.from({ length: 25 }, (_, i) => `u${String(i).padStart(2, '0')}`);
    for (const id of [...ids].reverse()) store.users.insert('paging', user(id, 'h', Number(id.slice(1)) % 5 === 0));
    const p1 = store.users.list('paging', { page: 1, limit: 10 });
    assert.deepEqual(p1.meta, { page: 1, limit: 10, count: 25, hasnext: true });
    assert.deepEqual(p1.data.map((d) => d.user_id), ids.slice(0, 10));
    assert.equal(p1.data[0]!.is_superuser, true);
    assert.equal(p1.data[1]!.is_superuser, false);
    const p2 = store.users.list('paging', { page: 2, limit: 10 });
    assert.deepEqual(p2.data.map((d) => d.user_id), ids.slice(10, 20));
    assert.equal(p2.meta.hasnext, true);
    const p3 = store.users.list('paging', { page: 3, limit: 10 });
    assert.deepEqual(p3.data.map((d) => d.user_id), ids.slice(20));
    assert.equal(p3.meta.hasnext, false);
    const p4 = store.users.list('paging', { page: 4, limit: 10 });
    assert.deepEqual(p4, { data: [], meta: { page: 4, limit: 10, count: 25, hasnext: false } });
    const exact = store.users.list('paging', { page: 1, limit: 25 });
    assert.equal(exact.meta.hasnext, false);
    assert.equal(exact.data.length, 25);
    // is_superuser filter: u00 u05 u10 u15 u20
    const su = store.users.list('paging', { page: 1, limit: 3, is_superuser: true });
    assert.deepEqual(su.meta, { page: 1, limit: 3, count: 5, hasnext: true });
    assert.deepEqual(su.data.map((d) => d.user_id), ['u00', 'u05', 'u10']);
    const notSu = store.users.list('paging', { page: 1, limit: 100, is_superuser: false });
    assert.equal(notSu.meta.count, 20);
    assert.ok(notSu.data.every((d) => !d.is_superuser));
  });

  test('like_user_id is a case-sensitive literal substring (% and _ are not wildcards)', () => {
    for (const id of ['a%b', 'axb', 'a_b', 'ayyb', 'Alice', 'alice', 'malice', 'bob', 'a\\b', 'a*b', 'a[b']) {
      store.users.insert('like', user(id, 'h', id === 'malice'));
    }
    const ids = (like: string, su?: boolean): string[] =>
      store.users
        .list('like', { page: 1, limit: 100, like_user_id: like, ...(su === undefined ? {} : { is_superuser: su }) })
        .data.map((d) => d.user_id);
    assert.deepEqual(ids('%'), ['a%b']);
    assert.deepEqual(ids('_'), ['a_b']);
    assert.deepEqual(ids('a%'), ['a%b']);
    assert.deepEqual(ids('*'), ['a*b']);
    assert.deepEqual(ids('['), ['a[b']);
    assert.deepEqual(ids('\\'), ['a\\b']);
    assert.deepEqual(ids('lic'), ['Alice', 'alice', 'malice']);
    assert.deepEqual(ids('Ali'), ['Alice']);
    assert.deepEqual(ids('ALI'), []);
    assert.deepEqual(ids('lic', true), ['malice']);
    assert.deepEqual(ids('lic', false), ['Alice', 'alice']);
    assert.equal(store.users.list('like', { page: 1, limit: 1, like_user_id: 'lic' }).meta.count, 3);
  });

  test('invalid paging is refused', () => {
    for (const q of [{ page: 0, limit: 10 }, { page: 1, limit: 0 }, { page: 1.5, limit: 10 }, { page: 1, limit: -3 }]) {
      assert.throws(() => store.users.list('like', q), (e: unknown) => e instanceof StoreInputError && e.code === 'invalid_paging');
    }
  });

  test('groups are isolated; deleteGroup and count', () => {
    store.users.insert('mqtt:global', user('same', 'h-global'));
    store.users.insert('tcp:default', user('same', 'h-tcp', true));
    store.users.insert('tcp:default', user('other'));
    assert.equal(store.users.get('mqtt:global', 'same')?.password_hash, 'h-global');
    assert.equal(store.users.get('tcp:default', 'same')?.password_hash, 'h-tcp');
    assert.equal(store.users.count('mqtt:global'), 1);
    assert.equal(store.users.count('tcp:default'), 2);
    assert.equal(store.users.list('mqtt:global', { page: 1, limit: 10 }).meta.count, 1);
    assert.equal(store.users.delete('mqtt:global', 'other'), 'not_found');
    assert.equal(store.users.deleteGroup('tcp:default'), 2);
    assert.equal(store.users.count('tcp:default'), 0);
    assert.equal(store.users.get('mqtt:global', 'same')?.password_hash, 'h-global');
    assert.equal(store.users.count('no-such-group'), 0);
  });
});

describe('users.importRecords', () => {
  let store: BuiltInStore;
  before(() => {
    store = BuiltInStore.open(freshDir());
  });
  after(() => store.close());

  const seed = (group: string): void => {
    store.users.insert(group, user('same', 'H1', false, 'S1'));
    store.users.insert(group, user('diffhash', 'H1', false, 'S1'));
    store.users.insert(group, user('diffsalt', 'H1', false, 'S1'));
    store.users.insert(group, user('diffsu', 'H1', false, 'S1'));
  };
  const batch: ImportRecord[] = [
    user('new1', 'N', false, ''),
    user('same', 'H1', false, 'S1'),
    user('diffhash', 'H2', false, 'S1'),
    user('diffsalt', 'H1', false, 'S2'),
    user('diffsu', 'H1', true, 'S1'),
    user('new2', 'N', true, 'x'),
  ];

  test('override mode: new → success, identical → skipped, different → override', () => {
    seed('ov');
    const createdBefore = store.users.get('ov', 'diffhash')!.created_at;
    const r = store.users.importRecords('ov', batch, 'override');
    assert.deepEqual(r, { total: 6, success: 2, override: 3, skipped: 1, failed: 0 });
    assert.equal(store.users.get('ov', 'diffhash')?.password_hash, 'H2');
    assert.equal(store.users.get('ov', 'diffhash')?.created_at, createdBefore);
    assert.equal(store.users.get('ov', 'diffsalt')?.salt, 'S2');
    assert.equal(store.users.get('ov', 'diffsu')?.is_superuser, true);
    assert.equal(store.users.get('ov', 'new2')?.is_superuser, true);
    assert.equal(store.users.count('ov'), 6);
    // Importing the same batch again: everything identical now.
    assert.deepEqual(store.users.importRecords('ov', batch, 'override'), {
      total: 6, success: 0, override: 0, skipped: 6, failed: 0,
    });
  });

  test('no_override mode: different → failed and left untouched', () => {
    seed('no');
    const r = store.users.importRecords('no', batch, 'no_override');
    assert.deepEqual(r, { total: 6, success: 2, override: 0, skipped: 1, failed: 3 });
    assert.equal(store.users.get('no', 'diffhash')?.password_hash, 'H1');
    assert.equal(store.users.get('no', 'diffsalt')?.salt, 'S1');
    assert.equal(store.users.get('no', 'diffsu')?.is_superuser, false);
    assert.equal(store.users.get('no', 'new1')?.password_hash, 'N');
  });

  test('duplicate user ids within one import follow the same rule, last one judged against the first', () => {
    const dup: ImportRecord[] = [user('d1', 'A'), user('d1', 'A'), user('d2', 'A'), user('d2', 'B'), user('d2', 'C')];
    assert.deepEqual(store.users.importRecords('dup-ov', dup, 'override'), {
      total: 5, success: 2, override: 2, skipped: 1, failed: 0,
    });
    assert.equal(store.users.get('dup-ov', 'd2')?.password_hash, 'C'); // last wins
    assert.deepEqual(store.users.importRecords('dup-no', dup, 'no_override'), {
      total: 5, success: 2, override: 0, skipped: 1, failed: 2,
    });
    assert.equal(store.users.get('dup-no', 'd2')?.password_hash, 'A'); // first wins
  });

  test('one transaction: an invalid record mid-way leaves nothing written', () => {
    store.users.insert('tx', user('existing', 'OLD'));
    const records: ImportRecord[] = Array.from({ length: 1000 }, (_, i) => user(`t${i}`));
    records[0] = user('existing', 'NEW');
    records[500] = { user_id: 't500', password_hash: 'x', salt: '', is_superuser: 'yes' } as unknown as ImportRecord;
    assert.throws(
      () => store.users.importRecords('tx', records, 'override'),
      (e: unknown) => e instanceof StoreInputError && e.message.includes('record 500'),
    );
    assert.equal(store.users.count('tx'), 1);
    assert.equal(store.users.get('tx', 't499'), undefined);
    assert.equal(store.users.get('tx', 'existing')?.password_hash, 'OLD');
    // Empty user id is refused the same way.
    records[500] = user('');
    assert.throws(() => store.users.importRecords('tx', records, 'no_override'), /record 500/);
    assert.equal(store.users.count('tx'), 1);
    // And the store still works normally afterwards.
    records[500] = user('t500');
    assert.equal(store.users.importRecords('tx', records, 'override').success, 999);
  });

  test('100 000-row import finishes well under 10 s; lookups are fast', () => {
    const records: ImportRecord[] = Array.from({ length: 100_000 }, (_, i) => ({
      user_id: `user-${i}`,
      password_hash: `${i.toString(16).padStart(8, '0')}${'ab'.repeat(28)}`,
      salt: `salt${i}`,
      is_superuser: i % 100 === 0,
    }));
    const t0 = performance.now();
    const r = store.users.importRecords('big', records, 'override');
    const ms = performance.now() - t0;
    console.log(`store: imported 100000 users in ${ms.toFixed(0)} ms`);
    assert.deepEqual(r, { total: 100_000, success: 100_000, override: 0, skipped: 0, failed: 0 });
    assert.ok(ms < 10_000, `import took ${ms} ms`);
    assert.equal(store.users.count('big'), 100_000);

    const t1 = performance.now();
    const again = store.users.importRecords('big', records, 'no_override');
    const ms2 = performance.now() - t1;
    console.log(`store: re-imported (all skipped) 100000 users in ${ms2.toFixed(0)} ms`);
    assert.equal(again.skipped, 100_000);
    assert.ok(ms2 < 10_000);

    const n = 20_000;
    const t2 = performance.now();
    for (let i = 0; i < n; i++) {
      const rec = store.users.get('big', `user-${(i * 7919) % 100_000}`);
      if (rec === undefined) assert.fail('lookup missed');
    }
    const us = ((performance.now() - t2) * 1000) / n;
    console.log(`store: lookup ${us.toFixed(2)} µs on average`);
    assert.ok(us < 1000, `lookup took ${us} µs`);

    const page = store.users.list('big', { page: 2, limit: 50, like_user_id: '999', is_superuser: false });
    assert.ok(page.meta.count > 0);
    assert.ok(page.data.every((d) => d.user_id.includes('999')));
  });

  test('bad arguments are refused', () => {
    assert.throws(() => store.users.importRecords('g', 'nope' as unknown as ImportRecord[], 'override'), StoreInputError);
    assert.throws(() => store.users.importRecords('g', [], 'merge' as unknown as 'override'), StoreInputError);
    assert.deepEqual(store.users.importRecords('g', [], 'override'), { total: 0, success: 0, override: 0, skipped: 0, failed: 0 });
  });
});

describe('two connections on one file', () => {
  test('a second store (e.g. the CLI) sees and makes writes of the first (the broker)', () => {
    const dir = freshDir();
    const broker = BuiltInStore.open(dir);
    const cli = BuiltInStore.open(dir);
    try {
      assert.equal(cli.users.insert('mqtt:global', user('from-cli')), 'ok');
      assert.equal(broker.users.get('mqtt:global', 'from-cli')?.password_hash, 'h-from-cli');
      assert.equal(broker.users.insert('mqtt:global', user('from-broker')), 'ok');
      assert.equal(cli.users.importRecords('mqtt:global', [user('from-broker'), user('x')], 'no_override').skipped, 1);
      assert.equal(broker.users.count('mqtt:global'), 3);
    } finally {
      broker.close();
      cli.close();
    }
  });
});
