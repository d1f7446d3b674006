import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Authorizer, type AuthorizationSettings } from '../../src/authz/authorizer.js';
import { authorizationSources } from '../../src/authz/sources/index.js';
import { SourceRegistry, type AuthzSource, type AuthzSourceType, type SourceAnswer } from '../../src/authz/source.js';
import { fileSource } from '../../src/authz/sources/file/index.js';
import { builtInDatabaseSource, GENERATION_POLL_MS, type BuiltInDatabaseSource } from '../../src/authz/sources/built_in_database/index.js';
import { BuiltInStore } from '../../src/store/index.js';
import type { AuthzClient, AuthzDecision, AuthzRequest } from '../../src/authz/types.js';
import { Type } from '@sinclair/typebox';
import { LogCapture } from '../helpers/node.js';
import { authzClient as client, pub, sub } from './requests.js';

function settings(sources: Array<Record<string, unknown>>, extra: Partial<AuthorizationSettings> = {}): AuthorizationSettings {
  return {
    no_match: 'allow',
    deny_action: 'ignore',
    cache: { enable: true, max_size: 32, ttl: '1m', excludes: [] },
    sources: sources as AuthorizationSettings['sources'],
    ...extra,
  };
}

/** A source that answers what the test says, synchronously or later, and counts calls. */
interface Scripted {
  answer: () => SourceAnswer | Promise<SourceAnswer>;
  calls: number;
}
function scriptedType(type: string, script: Scripted, timeoutMs?: number): AuthzSourceType {
  return {
    type,
    schema: Type.Object({ type: Type.Literal(type), enable: Type.Boolean({ default: true }) }),
    async create(): Promise<AuthzSource> {
      return {
        authorize: () => {
          script.calls++;
          return script.answer();
        },
        update: async () => undefined,
        status: () => 'connected',
        destroy: async () => undefined,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      };
    },
  };
}

describe('the authorizer (§8.1)', () => {
  let dir: string;
  let store: BuiltInStore;
  let logs: LogCapture;
  const made: Authorizer[] = [];
  /** The authorizer's clock: moved by hand. */
  const clock = { now: 1_000_000 };
  const acl = (text: string) => {
    const file = join(dir, `acl-${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(file, text);
    return { type: 'file', enable: true, path: file };
  };
  async function authorizer(s: AuthorizationSettings, registry: SourceRegistry = authorizationSources()): Promise<Authorizer> {
    const a = new Authorizer({ logger: logs.logger, registry, store, baseDir: dir, dataDir: dir, clock });
    await a.configure(s);
    made.push(a);
    return a;
  }
  /** The decision, which must have been answered synchronously. */
  function sync(a: Authorizer, c: AuthzClient, r: AuthzRequest): AuthzDecision {
    const d = a.authorize(c, r);
    assert.ok(!(d instanceof Promise), 'answered synchronously');
    return d;
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-authz-'));
    store = BuiltInStore.open(dir);
  });
  beforeEach(() => {
    logs = new LogCapture();
    store.acl.purge();
  });
  after(async () => {
    for (const a of made) await a.destroy();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no source: no_match decides, synchronously (allow by default, deny when set)', async () => {
    const open = await authorizer(settings([]));
    const d = sync(open, client(), pub('a/b'));
    assert.deepEqual({ ...d }, { result: 'allow', from: 'default', reason: 'no source matched (authorization.no_match = allow)' });
    assert.equal(sync(open, client(), pub('a/b')), d, 'the same decision object: nothing allocated');
    assert.equal(open.metrics.get('authorization.nomatch'), 2);
    assert.equal(open.metrics.get('authorization.allow'), 2);
    const closed = await authorizer(settings([], { no_match: 'deny' }));
    assert.equal(sync(closed, client(), sub('a/#')).result, 'deny');
  });

  test('$SYS/ publishes are the broker\'s, even for a superuser; subscribing is up to the rules', async () => {
    const a = await authorizer(settings([]));
    assert.equal(sync(a, client({ isSuperuser: true }), pub('$SYS/x')).from, 'reserved');
    assert.equal(sync(a, client(), sub('$SYS/#')).result, 'allow');
  });

  test('superuser → allow before everything else', async () => {
    const a = await authorizer(settings([acl('{deny, all}.')], { no_match: 'deny' }));
    const d = sync(a, client({ isSuperuser: true }), pub('t'));
    assert.deepEqual({ ...d }, { result: 'allow', from: 'superuser' });
    assert.equal(a.metrics.get('authorization.superuser'), 1);
    assert.equal(sync(a, client(), pub('t')).result, 'deny');
  });

  test("the client's own ACL: list form first-match, falls through on nomatch", async () => {
    const a = await authorizer(settings([acl('{allow, all, all, ["from/file"]}.\n{deny, all}.')]));
    const c = client({
      acl: {
        source: 'jwt',
        rules: [
          { permission: 'allow', action: 'publish', topic: 'own/${clientid}/#' },
          { permission: 'deny', action: 'all', topics: ['from/file', 'blocked/#'] },
        ],
      },
    });
    const allowed = sync(a, c, pub('own/c1/x'));
    assert.deepEqual({ ...allowed }, { result: 'allow', from: 'jwt', rule: 'jwt acl rule 1: allow publish own/${clientid}/#' });
    assert.equal(sync(a, c, pub('own/c2/x')).result, 'deny', 'nomatch in the ACL, the file denies');
    assert.equal(sync(a, c, pub('from/file')).from, 'jwt', 'the ACL comes before the sources');
    assert.equal(sync(a, c, pub('from/file')).result, 'deny');
    assert.equal(sync(a, client(), pub('from/file')).result, 'allow');
  });

  test("the client's own ACL: map form is an allow-list (no match → deny); expiry denies everything", async () => {
    const a = await authorizer(settings([]));
    const mapped = client({ acl: { source: 'jwt', rules: [], map: { pub: ['up/${username}'], sub: ['down/#'], all: ['both/+'] } } });
    assert.equal(sync(a, mapped, pub('up/u1')).result, 'allow');
    assert.equal(sync(a, mapped, sub('up/u1')).result, 'deny', 'pub entries are for publish only');
    assert.equal(sync(a, mapped, sub('down/x')).result, 'allow');
    assert.equal(sync(a, mapped, pub('both/x')).result, 'allow');
    assert.equal(sync(a, mapped, sub('both/x')).result, 'allow');
    const denied = sync(a, mapped, pub('other'));
    assert.deepEqual({ ...denied }, { result: 'deny', from: 'jwt', rule: 'jwt acl: no pub, sub or all entry matched' });
    const expiring = client({ acl: { source: 'jwt', rules: [{ permission: 'allow', action: 'all', topic: '#' }], expireAt: clock.now + 1000 } });
    assert.equal(sync(a, expiring, pub('x')).result, 'allow');
    clock.now += 1000;
    const expired = sync(a, expiring, pub('x'));
    assert.equal(expired.result, 'deny');
    assert.match(expired.rule!, /jwt acl expired at/);
  });

  test('an ACL that cannot be read denies everything (fail closed), logged once', async () => {
    const a = await authorizer(settings([]));
    const bad = client({ acl: { source: 'http', rules: [{ permission: 'allow', action: 'teleport', topic: '#' }] } });
    assert.equal(sync(a, bad, pub('x')).result, 'deny');
    assert.equal(sync(a, bad, sub('y')).result, 'deny');
    assert.equal(logs.lines.filter((l) => String(l['msg']).includes('cannot be read')).length, 1);
  });

  test('sources in order: first allow or deny wins, nomatch and ignore go on, disabled ones are skipped', async () => {
    const first: Scripted = { answer: () => 'nomatch', calls: 0 };
    const second: Scripted = { answer: () => 'ignore', calls: 0 };
    const third: Scripted = { answer: () => ({ permission: 'deny', rule: 'third says no' }), calls: 0 };
    const off: Scripted = { answer: () => ({ permission: 'allow' }), calls: 0 };
    const registry = new SourceRegistry()
      .register(scriptedType('first', first))
      .register(scriptedType('off', off))
      .register(scriptedType('second', second))
      .register(scriptedType('third', third));
    const a = await authorizer(
      settings([{ type: 'first' }, { type: 'off', enable: false }, { type: 'second' }, { type: 'third' }], { cache: { enable: false, max_size: 32, ttl: '1m', excludes: [] } }),
      registry,
    );
    const d = sync(a, client(), pub('t'));
    assert.deepEqual({ ...d }, { result: 'deny', from: 'third', rule: 'third says no' });
    assert.deepEqual([first.calls, off.calls, second.calls, third.calls], [1, 0, 1, 1]);
    const status = Object.fromEntries(a.sources().map((s) => [s.type, { status: s.status, ...s.metrics.snapshot() }]));
    assert.deepEqual(status['first'], { status: 'connected', total: 1, allow: 0, deny: 0, nomatch: 1, ignore: 0 });
    assert.deepEqual(status['second'], { status: 'connected', total: 1, allow: 0, deny: 0, nomatch: 0, ignore: 1 });
    assert.deepEqual(status['third'], { status: 'connected', total: 1, allow: 0, deny: 1, nomatch: 0, ignore: 0 });
    assert.equal(status['off']!.status, 'disabled');
    assert.equal(a.metrics.get('authorization.matched.deny'), 1);
  });

  test('a source that throws, rejects or times out counts as nomatch, logged and counted; the next decides', async () => {
    const throws: Scripted = { answer: () => { throw new Error('boom'); }, calls: 0 };
    const rejects: Scripted = { answer: () => Promise.reject(new Error('backend down')), calls: 0 };
    const slow: Scripted = { answer: () => new Promise(() => undefined), calls: 0 };
    const late: Scripted = { answer: () => new Promise((r) => setTimeout(() => r({ permission: 'allow', rule: 'late allow' }), 5)), calls: 0 };
    const registry = new SourceRegistry()
      .register(scriptedType('throws', throws))
      .register(scriptedType('rejects', rejects))
      .register(scriptedType('slow', slow, 50))
      .register(scriptedType('late', late));
    const a = await authorizer(settings([{ type: 'throws' }, { type: 'rejects' }, { type: 'slow' }, { type: 'late' }], { no_match: 'deny' }), registry);
    const c = client();
    const pending = a.authorize(c, pub('t'));
    assert.ok(pending instanceof Promise, 'an asynchronous source makes the answer a promise');
    assert.deepEqual({ ...(await pending) }, { result: 'allow', from: 'late', rule: 'late allow' });
    const failures = logs.lines.filter((l) => l['msg'] === 'authorization source failed: counted as nomatch').map((l) => [l['source'], l['result']]);
    assert.deepEqual(failures, [['throws', 'error'], ['rejects', 'error'], ['slow', 'timeout']]);
    for (const type of ['throws', 'rejects', 'slow']) assert.equal(a.sources().find((s) => s.type === type)!.metrics.get('nomatch'), 1, type);
    // Cached: the second answer is synchronous and asks nobody.
    const again = a.authorize(c, pub('t'));
    assert.ok(!(again instanceof Promise));
    assert.equal(late.calls, 1);
  });

  test('cache (§8.7): hit, miss, per action/QoS/retain, TTL, excludes, max_size', async () => {
    const counter: Scripted = { answer: () => ({ permission: 'allow', rule: 'r' }), calls: 0 };
    const registry = new SourceRegistry().register(scriptedType('counter', counter));
    const a = await authorizer(settings([{ type: 'counter' }], { cache: { enable: true, max_size: 3, ttl: '10s', excludes: ['nocache/#'] } }), registry);
    const c = client();
    sync(a, c, pub('t'));
    sync(a, c, pub('t'));
    assert.equal(counter.calls, 1);
    assert.deepEqual([a.metrics.get('authorization.cache_miss'), a.metrics.get('authorization.cache_hit')], [1, 1]);
    sync(a, c, pub('t', 1));
    sync(a, c, pub('t', 0, true));
    assert.equal(counter.calls, 3, 'QoS and retain are part of the key');
    sync(a, client({ clientid: 'c2' }), pub('t'));
    assert.equal(counter.calls, 4, 'per client');
    sync(a, c, pub('nocache/x'));
    sync(a, c, pub('nocache/x'));
    assert.equal(counter.calls, 6, 'excluded topics are never cached');
    clock.now += 10_001;
    sync(a, c, pub('t'));
    assert.equal(counter.calls, 7, 'expired after the TTL');
    // max_size 3: t (qos 0), then u and v push the oldest topic out.
    sync(a, c, pub('u'));
    sync(a, c, pub('v'));
    sync(a, c, pub('w'));
    const before = counter.calls;
    sync(a, c, pub('w'));
    assert.equal(counter.calls, before, 'the newest is cached');
    assert.ok((a.cachedDecisions('c1') ?? []).length <= 3);
    assert.deepEqual(
      a.cachedDecisions('c1')!.find((e) => e.topic === 'w'),
      { access: { action: 'publish', qos: 0, retain: false }, topic: 'w', result: 'allow', updated_time: clock.now },
    );
  });

  test('cache invalidation: all clients or one, and on a rule change', async () => {
    const counter: Scripted = { answer: () => ({ permission: 'allow' }), calls: 0 };
    const a = await authorizer(settings([{ type: 'counter' }]), new SourceRegistry().register(scriptedType('counter', counter)));
    const c1 = client();
    const c2 = client({ clientid: 'c2' });
    sync(a, c1, pub('t'));
    sync(a, c2, pub('t'));
    a.invalidate('c1');
    sync(a, c1, pub('t'));
    sync(a, c2, pub('t'));
    assert.equal(counter.calls, 3, 'only c1 asked again');
    a.invalidate();
    sync(a, c1, pub('t'));
    sync(a, c2, pub('t'));
    assert.equal(counter.calls, 5);
  });

  test('shared subscriptions are checked against their real filter (§8.2)', async () => {
    const a = await authorizer(settings([acl('{allow, all, subscribe, ["real/#"]}.\n{deny, all}.')]));
    assert.equal(sync(a, client(), sub('$share/g/real/x')).result, 'allow');
    assert.equal(sync(a, client(), sub('$queue/real/x')).result, 'allow');
    assert.equal(sync(a, client(), sub('$share/g/other')).result, 'deny');
  });

  test('built_in_database: clientid record, then username record, then all (§8.8), answered from memory', async () => {
    const a = await authorizer(settings([{ type: 'built_in_database' }], { no_match: 'deny' }));
    const rules = (a.source('built_in_database') as BuiltInDatabaseSource).rules;
    rules.put('clientid', 'c1', [{ permission: 'deny', action: 'publish', topic: 'shared/x' }]);
    rules.put('username', 'u1', [{ permission: 'allow', action: 'all', topic: 'shared/#' }, { permission: 'allow', action: 'subscribe', topic: 'mine/${username}', qos: [0, 1] }]);
    rules.setAll([{ permission: 'allow', action: 'publish', topic: 'everyone/#', retain: false }]);
    const c = client();
    const d = sync(a, c, pub('shared/x'));
    assert.deepEqual({ ...d }, { result: 'deny', from: 'built_in_database', rule: 'built_in_database clientid c1 rule 1: deny publish shared/x' });
    assert.equal(sync(a, c, pub('shared/y')).result, 'allow', 'from the username record');
    assert.equal(sync(a, client({ clientid: 'other' }), pub('shared/x')).result, 'allow');
    assert.equal(sync(a, c, sub('mine/u1', 1)).result, 'allow');
    assert.equal(sync(a, c, sub('mine/u1', 2)).result, 'deny', 'qos [0,1] only');
    assert.equal(sync(a, client({ clientid: 'x', username: 'y' }), pub('everyone/t')).result, 'allow');
    assert.equal(sync(a, client({ clientid: 'x', username: 'y' }), pub('everyone/t', 0, true)).result, 'deny', 'retain false only');
    assert.equal(sync(a, client({ clientid: 'x', username: undefined }), pub('shared/y')).result, 'deny');
    // A change takes effect at once, cached decisions included.
    rules.put('clientid', 'c1', []);
    assert.equal(sync(a, c, pub('shared/x')).result, 'allow');
  });

  test("built_in_database: another process's write (gatehouse acl) is seen within the poll interval", async () => {
    const a = await authorizer(settings([{ type: 'built_in_database' }], { no_match: 'deny' }));
    assert.equal(sync(a, client(), pub('cli/t')).result, 'deny');
    const other = BuiltInStore.open(dir);
    try {
      other.acl.put('clientid', 'c1', [{ topic: 'cli/t', permission: 'allow', action: 'publish', qos: [0, 1, 2], retain: 'all' }]);
    } finally {
      other.close();
    }
    await new Promise((r) => setTimeout(r, GENERATION_POLL_MS + 300));
    assert.equal(sync(a, client(), pub('cli/t')).result, 'allow');
  });

  test('explain records each step and agrees with the decision, counting nothing', async () => {
    const a = await authorizer(settings([{ type: 'built_in_database' }, acl('{deny, all, publish, ["secret/#"]}.')]));
    const c = client({ acl: { source: 'jwt', rules: [{ permission: 'allow', action: 'subscribe', topic: 'x' }] } });
    const before = a.metrics.snapshot();
    const { decision, steps } = await a.explain(c, pub('secret/plans'));
    assert.deepEqual(a.metrics.snapshot(), before);
    assert.equal(decision.result, 'deny');
    assert.deepEqual(
      steps.map((s) => [s.step, s.source ?? '', s.result]),
      [
        ['superuser', '', 'skipped'],
        ['client_acl', 'jwt', 'nomatch'],
        ['cache', '', 'miss'],
        ['source', 'built_in_database', 'nomatch'],
        ['source', 'file', 'deny'],
      ],
    );
    assert.match(steps.at(-1)!.rule!, /acl-.*\.conf:1 \{deny, all, publish, \["secret\/#"\]\}/);
    assert.equal(sync(a, c, pub('secret/plans')).result, decision.result);
    const cached = await a.explain(c, pub('secret/plans'));
    assert.deepEqual(cached.steps.at(-1), { step: 'cache', result: 'hit', detail: 'cached deny from file', rule: steps.at(-1)!.rule });
  });

  test('configure: a source that cannot be made leaves the running ones; duplicates are refused', async () => {
    const a = await authorizer(settings([acl('{deny, all}.')]));
    await assert.rejects(a.configure(settings([acl('{allow, all}.'), { type: 'file', path: join(dir, 'missing.conf') }])), /duplicated_authz_source_type/);
    await assert.rejects(a.configure(settings([{ type: 'file', path: join(dir, 'missing.conf') }])), /cannot read .*missing\.conf/);
    assert.equal(sync(a, client(), pub('t')).result, 'deny', 'the old rules still answer');
    await a.configure(settings([acl('{allow, all}.')]));
    assert.equal(sync(a, client(), pub('t')).result, 'allow', 'new rules, cache dropped');
  });

  test('the registry refuses a type registered twice', () => {
    assert.throws(() => new SourceRegistry().register(fileSource).register(fileSource), /registered twice/);
    assert.deepEqual(authorizationSources().names(), ['file', 'built_in_database']);
    assert.ok(builtInDatabaseSource.schema);
  });
});
