import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltInStore, StoreInputError } from '../../src/store/index.js';
import { AclRuleError, AclRules } from '../../src/authz/sources/built_in_database/index.js';

describe('built-in database authorization rules (§8.8, §9.3)', () => {
  let dir: string;
  let store: BuiltInStore;
  let rules: AclRules;
  let max = 3;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-acl-store-'));
    store = BuiltInStore.open(dir);
    rules = new AclRules(store, () => max);
  });
  beforeEach(() => {
    store.acl.purge();
    max = 3;
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('rules are stored normalised: one topic per rule, long action names, qos list, retain', () => {
    rules.put('username', 'u1', [
      { permission: 'allow', action: 'publish', topics: ['a/1', 'a/2'], qos: '0,1', retain: 'false' },
      { permission: 'deny', action: 'subscribe', topic: 'eq #' },
    ]);
    assert.deepEqual(rules.get('username', 'u1'), {
      who: 'u1',
      rules: [
        { topic: 'a/1', permission: 'allow', action: 'publish', qos: [0, 1], retain: false },
        { topic: 'a/2', permission: 'allow', action: 'publish', qos: [0, 1], retain: false },
        { topic: 'eq #', permission: 'deny', action: 'subscribe', qos: [0, 1, 2], retain: 'all' },
      ],
    });
  });

  test('bad rules are refused naming the rule and the field; the REST schema takes long action names only', () => {
    const refused = (raw: unknown, pattern: RegExp) =>
      assert.throws(
        () => rules.put('clientid', 'c1', raw),
        (e: Error) => e instanceof AclRuleError && e.code === 'BAD_REQUEST' && pattern.test(e.message),
        String(JSON.stringify(raw)),
      );
    refused([{ permission: 'allow', action: 'pub', topic: 't' }], /rules\[0\]\.action of Client 'c1': action must be "publish", "subscribe" or "all"/);
    refused([{ permission: 'maybe', action: 'publish', topic: 't' }], /rules\[0\]\.permission/);
    refused([{ permission: 'allow', action: 'publish' }], /rules\[0\]\.topic/);
    refused([{ permission: 'allow', action: 'publish', topic: 'a/#/b' }], /last level/);
    refused([{ permission: 'allow', action: 'publish', topic: 't', qos: 3 }], /rules\[0\]\.qos/);
    refused([{ permission: 'allow', action: 'publish', topic: 't', retain: 'sometimes' }], /rules\[0\]\.retain/);
    refused('not a list', /must be an array/);
    assert.equal(store.acl.get('clientid', 'c1'), undefined, 'nothing written');
  });

  test('max_rules per record, counted after splitting topics', () => {
    assert.throws(
      () => rules.put('username', 'u1', [{ permission: 'allow', action: 'all', topics: ['a', 'b', 'c', 'd'] }]),
      (e: Error) => e instanceof AclRuleError && e.message === "The rules length of User 'u1' exceeds the maximum limit.",
    );
    assert.throws(
      () => rules.setAll([{ permission: 'allow', action: 'all', topics: ['a', 'b', 'c', 'd'] }]),
      (e: Error) => e instanceof AclRuleError && e.message === 'The length of rules exceeds the maximum limit.',
    );
    max = 4;
    rules.setAll([{ permission: 'allow', action: 'all', topics: ['a', 'b', 'c', 'd'] }]);
    assert.equal(rules.getAll().length, 4);
  });

  test('POST semantics: every record or none, 409 naming the one that exists', () => {
    rules.add('clientid', [{ who: 'c1', rules: [] }]);
    assert.throws(
      () => rules.add('clientid', [{ who: 'c2', rules: [] }, { who: 'c1', rules: [] }]),
      (e: Error) => e instanceof AclRuleError && e.code === 'ALREADY_EXISTS' && e.message === "Client 'c1' already exist",
    );
    assert.equal(store.acl.get('clientid', 'c2'), undefined, 'c2 not written either');
    assert.throws(() => rules.get('clientid', 'c2'), (e: Error) => e instanceof AclRuleError && e.code === 'NOT_FOUND');
    assert.throws(() => rules.delete('username', 'nobody'), (e: Error) => e instanceof AclRuleError && e.message === 'Username Not Found');
  });

  test('paging and like search, ordered by name', () => {
    for (const name of ['dev-3', 'dev-1', 'sensor-1', 'dev-2']) rules.put('clientid', name, [{ permission: 'allow', action: 'all', topic: `t/${name}` }]);
    rules.put('username', 'dev-9', []);
    const first = rules.list('clientid', { page: 1, limit: 2, like: 'dev' });
    assert.deepEqual(first.data.map((r) => r.who), ['dev-1', 'dev-2']);
    assert.deepEqual(first.meta, { page: 1, limit: 2, count: 3, hasnext: true });
    const second = rules.list('clientid', { page: 2, limit: 2, like: 'dev' });
    assert.deepEqual(second.data.map((r) => r.who), ['dev-3']);
    assert.equal(second.meta.hasnext, false);
    assert.deepEqual(rules.list('clientid', { page: 1, limit: 10, like: '%' }).data, [], '% is literal');
    assert.equal(rules.list('clientid', { page: 1, limit: 10 }).meta.count, 4);
    assert.throws(() => rules.list('clientid', { page: 0, limit: 10 }), StoreInputError);
  });

  test('every write bumps the generation another process watches; in-process writes are announced', () => {
    const seen: Array<[string | undefined, string | undefined]> = [];
    const stop = store.acl.onChange((kind, who) => seen.push([kind, who]));
    const g0 = store.acl.generation();
    rules.put('clientid', 'c1', []);
    rules.delete('clientid', 'c1');
    rules.clearAll();
    store.acl.purge();
    stop();
    assert.equal(store.acl.generation(), g0 + 4);
    assert.deepEqual(seen, [['clientid', 'c1'], ['clientid', 'c1'], ['all', ''], [undefined, undefined]]);
    assert.equal(store.acl.delete('clientid', 'gone'), 'not_found');
    assert.equal(store.acl.generation(), g0 + 4, 'a delete that removed nothing changes nothing');
  });

  test('import: users, clients and all in one transaction, all checked before anything is written', () => {
    rules.put('username', 'old', [{ permission: 'deny', action: 'all', topic: '#' }]);
    const doc = {
      users: [{ username: 'old', rules: [{ permission: 'allow', action: 'all', topic: 'x' }] }, { username: 'u2', rules: [] }],
      clients: [{ clientid: 'c1', rules: [{ permission: 'allow', action: 'subscribe', topic: 's/#', qos: [1] }] }],
      all: [{ permission: 'deny', action: 'all', topic: '#' }],
    };
    assert.deepEqual(rules.import(doc), { users: 2, clients: 1, all: 1 });
    assert.equal(rules.get('username', 'old').rules[0]!.permission, 'allow', 'replaced');
    assert.equal(rules.getAll().length, 1);
    const bad = { clients: [{ clientid: 'c9', rules: [] }], users: [{ username: 'u3', rules: [{ permission: 'allow', action: 'teleport', topic: 't' }] }] };
    assert.throws(() => rules.import(bad), /rules\[0\]\.action of User 'u3'/);
    assert.equal(store.acl.get('clientid', 'c9'), undefined, 'nothing of a bad import is written');
    assert.throws(() => rules.import({ groups: [] }), /unknown key "groups"/);
    assert.throws(() => rules.import({ users: [{ username: 'a', rules: [] }, { username: 'a', rules: [] }] }), /appears twice/);
  });
});
