import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Authorizer, type AuthorizationSettings } from '../../src/authz/authorizer.js';
import { authorizationSources } from '../../src/authz/sources/index.js';
import { BuiltInStore } from '../../src/store/index.js';
import type { AuthzClient, AuthzRequest } from '../../src/authz/types.js';
import { authzClient as client } from './requests.js';

/**
 * The synchronous fast path (issue 16 point 1): with every source asked answering from memory
 * (superuser, client ACL, cache hit, file, built-in database, no source), a decision makes no
 * promise and allocates nothing. Measured as garbage collections: a million decisions that
 * allocated even 16 bytes each would need young-generation collections; these need none.
 */
describe('authorization fast path: no promise, no allocation', () => {
  let dir: string;
  let store: BuiltInStore;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-authz-fast-'));
    store = BuiltInStore.open(dir);
    file = join(dir, 'acl.conf');
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) lines.push(`{allow, {username, "user${i}"}, publish, ["t/${i}/#", "\${username}/x/${i}"]}.`);
    lines.push('{allow, {ipaddr, "127.0.0.1"}, all, ["#"]}.', '{deny, all, publish, ["closed/#"]}.', '{allow, all, all, ["${clientid}/#"]}.', '{allow, all}.');
    writeFileSync(file, lines.join('\n'));
    store.acl.put('username', 'u1', [{ topic: 'db/${username}/#', permission: 'allow', action: 'all', qos: [0, 1, 2], retain: 'all' }]);
    store.acl.put('all', '', [{ topic: 'db/closed', permission: 'deny', action: 'publish', qos: [0, 1, 2], retain: 'all' }]);
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function gcsPerMillion(sources: Array<Record<string, unknown>>, cache: boolean, who: AuthzClient, topics: string[]): Promise<number> {
    const a = new Authorizer({ logger: pino({ level: 'silent' }), registry: authorizationSources(), store, baseDir: dir, dataDir: dir });
    const settings: AuthorizationSettings = {
      no_match: 'allow',
      deny_action: 'ignore',
      cache: { enable: cache, max_size: 32, ttl: '1m', excludes: [] },
      sources: sources as AuthorizationSettings['sources'],
    };
    await a.configure(settings);
    try {
      const request: AuthzRequest = { action: 'publish', topic: topics[0]!, qos: 1, retain: false };
      const round = (n: number) => {
        for (let i = 0; i < n; i++) {
          request.topic = topics[i % topics.length]!;
          request.action = (i & 4) === 0 ? 'publish' : 'subscribe';
          const d = a.authorize(who, request);
          if (d instanceof Promise) throw new Error('a promise on the fast path');
        }
      };
      round(200_000); // warm up: compile, fill caches and plans
      const profiler = new v8.GCProfiler();
      profiler.start();
      round(1_000_000);
      return profiler.stop().statistics.length;
    } finally {
      await a.destroy();
    }
  }

  const topics = ['some/topic', 'closed/x', 'u1/x/3', 'c1/up', 'db/u1/a', 'db/closed'];
  const fileSource = { type: 'file', enable: true, path: '' };
  const builtIn = { type: 'built_in_database', enable: true };

  test('no source, superuser, client ACL', async () => {
    assert.equal(await gcsPerMillion([], true, client(), topics), 0, 'no source');
    assert.equal(await gcsPerMillion([{ ...fileSource, path: file }], true, client({ isSuperuser: true }), topics), 0, 'superuser');
    const acl = { source: 'jwt', rules: [{ permission: 'allow', action: 'all', topic: '${clientid}/#' }, { permission: 'deny', action: 'all', topic: '#' }] };
    assert.equal(await gcsPerMillion([], false, client({ acl }), topics), 0, 'client ACL');
  });

  test('file and built-in database sources, cache off and cache hits', async () => {
    assert.equal(await gcsPerMillion([{ ...fileSource, path: file }], false, client(), topics), 0, 'file, cache off');
    assert.equal(await gcsPerMillion([builtIn], false, client(), topics), 0, 'built-in database, cache off');
    assert.equal(await gcsPerMillion([builtIn, { ...fileSource, path: file }], true, client(), topics), 0, 'both, cache hits');
  });
});
