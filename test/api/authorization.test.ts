import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiNode, viewerAuth, type ApiNode } from './helpers.js';
import { connect, endClient, nextPacket, publish } from '../helpers/node.js';

/**
 * `/api/v5/authorization…` (emqx5-auth.md §9.1–9.3, issue 16 points 8 and 9) over HTTP against
 * a running node, with real MQTT clients where a decision matters.
 */

const RULES = '{allow, {username, "alice"}, all, ["alice/#"]}.\n{deny, all, subscribe, ["$SYS/#", "#"]}.\n{allow, all, publish, ["open/#"]}.\n';

async function withNode(t: { after(fn: () => Promise<void>): void }, conf = '', dataDir?: string): Promise<ApiNode> {
  const n = await startApiNode(conf, dataDir ? { dataDir } : {});
  t.after(() => n.stop());
  return n;
}

test('sources: add (first), read with the file rules, replace, move, order, delete; errors name the field', async (t) => {
  const n = await withNode(t);
  assert.deepEqual((await n.call('GET', '/authorization/sources')).body, { sources: [] });

  // A file source over the API: the rules text stored under <data_dir>/authz/acl.conf.
  assert.equal((await n.call('POST', '/authorization/sources', { type: 'file', enable: true, rules: RULES })).status, 204);
  const stored = join(n.dataDir, 'authz', 'acl.conf');
  assert.equal(readFileSync(stored, 'utf8'), RULES);
  // §9.1 / choices: POST puts the new source first.
  assert.equal((await n.call('POST', '/authorization/sources', { type: 'built_in_database' })).status, 204);
  let list = (await n.call('GET', '/authorization/sources')).body.sources;
  assert.deepEqual(list.map((s: { type: string }) => s.type), ['built_in_database', 'file']);
  assert.deepEqual(list[0], { type: 'built_in_database', enable: true, max_rules: 100 });
  assert.equal(list[1].rules, RULES, 'a file source answers its rules text');
  assert.equal(list[1].path, stored);

  // One source per type (§8.3).
  const dup = await n.call('POST', '/authorization/sources', { type: 'file', rules: '{allow, all}.' });
  assert.equal(dup.status, 400);
  assert.equal(dup.body.code, 'BAD_REQUEST');
  assert.match(dup.body.message, /duplicated_authz_source_type/);

  // Bodies that are wrong: 400 naming the field.
  const badField = await n.call('PUT', '/authorization/sources/built_in_database', { type: 'built_in_database', max_rules: 'many' });
  assert.equal(badField.status, 400);
  assert.match(badField.body.message, /^max_rules: /);
  const extra = await n.call('PUT', '/authorization/sources/built_in_database', { type: 'built_in_database', nonsense: 1 });
  assert.equal(extra.status, 400);
  assert.match(extra.body.message, /nonsense/);
  const noType = await n.call('POST', '/authorization/sources', { enable: true });
  assert.equal(noType.status, 400);
  assert.match(noType.body.message, /^type: /);
  const unknownType = await n.call('POST', '/authorization/sources', { type: 'mysql' });
  assert.equal(unknownType.status, 400);
  assert.match(unknownType.body.message, /^type: unknown authorization source type "mysql"/);
  assert.equal((await n.call('PUT', '/authorization/sources/file', { type: 'built_in_database' })).body.message, 'Type mismatch');
  assert.equal((await n.call('GET', '/authorization/sources/mysql')).status, 400, 'the path type is one of the known types');

  // The file rules upload: a text that does not parse is refused with its line and column; the running rules stay.
  const broken = await n.call('PUT', '/authorization/sources/file', { type: 'file', enable: true, rules: '{allow, all}.\n{deny, all, publish, ["a"]\n' });
  assert.equal(broken.status, 400);
  assert.match(broken.body.message, /^rules: line \d+, column \d+: /);
  assert.equal(readFileSync(stored, 'utf8'), RULES, 'the stored file is untouched');
  assert.equal((await n.call('GET', '/authorization/sources/file')).body.rules, RULES);
  const missing = await n.call('PUT', '/authorization/sources/file', { type: 'file', enable: true });
  assert.equal(missing.status, 400);
  assert.match(missing.body.message, /^rules: is required/);
  // The same source read and written back (path and rules) is accepted.
  const read = (await n.call('GET', '/authorization/sources/file')).body;
  assert.equal((await n.call('PUT', '/authorization/sources/file', { ...read, rules: '{allow, all}.\n' })).status, 204);
  assert.equal(readFileSync(stored, 'utf8'), '{allow, all}.\n');

  // Move (§9.1 positions) and order.
  const move = async (type: string, position: string) => (await n.call('POST', `/authorization/sources/${type}/move`, { position })).status;
  assert.equal(await move('file', 'front'), 204);
  list = (await n.call('GET', '/authorization/sources')).body.sources;
  assert.deepEqual(list.map((s: { type: string }) => s.type), ['file', 'built_in_database']);
  assert.equal(await move('file', 'after:built_in_database'), 204);
  assert.deepEqual(n.node.authz.sources().map((s) => s.type), ['built_in_database', 'file'], 'live at once');
  assert.equal(await move('file', 'before:built_in_database'), 204);
  assert.equal(await move('file', 'rear'), 204);
  const badPos = await n.call('POST', '/authorization/sources/file/move', { position: 'middle' });
  assert.deepEqual(badPos.body, { code: 'BAD_REQUEST', message: 'Invalid parameter. Unknow position' });
  assert.equal(await move('file', 'before:http'), 404);
  assert.equal((await n.call('PUT', '/authorization/sources/order', [{ type: 'file' }, { type: 'built_in_database' }])).status, 204);
  assert.deepEqual(n.node.authz.sources().map((s) => s.type), ['file', 'built_in_database']);
  const badOrder = await n.call('PUT', '/authorization/sources/order', [{ type: 'file' }]);
  assert.equal(badOrder.status, 400);
  assert.match(badOrder.body.message, /No positions are specified for authorization sources: built_in_database/);

  // Delete; then 404.
  assert.equal((await n.call('DELETE', '/authorization/sources/built_in_database')).status, 204);
  const gone = await n.call('GET', '/authorization/sources/built_in_database');
  assert.deepEqual(gone.body, { code: 'NOT_FOUND', message: 'Not found: built_in_database' });
  assert.equal((await n.call('DELETE', '/authorization/sources/built_in_database')).status, 404);
  assert.equal((await n.call('GET', '/authorization/sources/built_in_database/status')).status, 404);

  // Roles: a viewer reads, only an administrator writes.
  assert.equal((await n.call('GET', '/authorization/sources', undefined, viewerAuth)).status, 200);
  assert.equal((await n.call('GET', '/authorization/settings', undefined, viewerAuth)).status, 200);
  const denied = await n.call('DELETE', '/authorization/sources/file', undefined, viewerAuth);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.code, 'UNAUTHORIZED_ROLE');
  assert.equal((await n.call('DELETE', '/authorization/cache', undefined, viewerAuth)).status, 403);
});

test('settings, sources and file rules persist across a restart (override file)', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-authz-api-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startApiNode('', { dataDir });
  try {
    const settings = { no_match: 'deny', deny_action: 'disconnect', cache: { enable: true, max_size: 8, ttl: '30s', excludes: ['nocache/#'] } };
    const put = await first.call('PUT', '/authorization/settings', settings);
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, settings);
    assert.equal(first.node.authz.denyAction, 'disconnect', 'live at once');
    const partial = await first.call('PUT', '/authorization/settings', { no_match: 'deny', deny_action: 'disconnect', cache: { max_size: 8, ttl: '30s', excludes: ['nocache/#'] } });
    assert.deepEqual(partial.body, settings, "the cache's missing fields take their defaults");
    const bad = await first.call('PUT', '/authorization/settings', { no_match: 'maybe', deny_action: 'ignore', cache: {} });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^no_match: /);
    const missing = await first.call('PUT', '/authorization/settings', { no_match: 'deny', cache: {} });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /deny_action/);
    const badExclude = await first.call('PUT', '/authorization/settings', { ...settings, cache: { ...settings.cache, excludes: ['a/#/b'] } });
    assert.equal(badExclude.status, 400);
    assert.match(badExclude.body.message, /excludes/);
    assert.equal((await first.call('POST', '/authorization/sources', { type: 'file', rules: RULES })).status, 204);
    assert.equal((await first.call('POST', '/authorization/sources', { type: 'built_in_database', enable: false, max_rules: 7 })).status, 204);
  } finally {
    await first.stop();
  }
  const second = await startApiNode('', { dataDir });
  try {
    const settings = (await second.call('GET', '/authorization/settings')).body;
    assert.equal(settings.no_match, 'deny');
    assert.equal(settings.cache.max_size, 8);
    const sources = (await second.call('GET', '/authorization/sources')).body.sources;
    assert.deepEqual(sources.map((s: { type: string }) => s.type), ['built_in_database', 'file']);
    assert.deepEqual(sources[0], { type: 'built_in_database', enable: false, max_rules: 7 });
    assert.equal(sources[1].rules, RULES);
    const status = (await second.call('GET', '/authorization/sources/built_in_database/status')).body;
    assert.equal(status.status, 'disabled');
  } finally {
    await second.stop();
  }
});

test('built-in database rules (§9.3): paging, like search, 409, 404, max_rules, purge; a change drops cached decisions at once', async (t) => {
  const n = await withNode(t, 'authorization { no_match = deny, sources = [{ type = built_in_database, max_rules = 3 }] }');
  const base = '/authorization/sources/built_in_database/rules';
  const rule = (topic: string, permission = 'allow', action = 'all') => ({ topic, permission, action });

  const users = Array.from({ length: 5 }, (_, i) => ({ username: `user-${i}`, rules: [rule(`u/${i}/#`)] }));
  assert.equal((await n.call('POST', `${base}/users`, users)).status, 204);
  const page = (await n.call('GET', `${base}/users?page=2&limit=2`)).body;
  assert.deepEqual(page.meta, { page: 2, limit: 2, count: 5, hasnext: true });
  assert.deepEqual(page.data.map((r: { username: string }) => r.username), ['user-2', 'user-3']);
  assert.deepEqual(page.data[0].rules, [{ topic: 'u/2/#', permission: 'allow', action: 'all', qos: [0, 1, 2], retain: 'all' }]);
  const like = (await n.call('GET', `${base}/users?like_username=r-4`)).body;
  assert.deepEqual(like.data.map((r: { username: string }) => r.username), ['user-4']);
  const badPage = await n.call('GET', `${base}/users?page=0`);
  assert.deepEqual(badPage.body, { code: 'INVALID_PARAMETER', message: 'page_limit_invalid' });
  const again = await n.call('POST', `${base}/users`, [users[1]]);
  assert.deepEqual(again.body, { code: 'ALREADY_EXISTS', message: "User 'user-1' already exist" });
  assert.equal(again.status, 409);
  const tooMany = await n.call('PUT', `${base}/users/user-1`, { username: 'user-1', rules: [rule('a'), rule('b'), rule('c'), rule('d')] });
  assert.deepEqual(tooMany.body, { code: 'BAD_REQUEST', message: "The rules length of User 'user-1' exceeds the maximum limit." });
  const badRule = await n.call('POST', `${base}/clients`, [{ clientid: 'c9', rules: [{ topic: 't', permission: 'maybe', action: 'all' }] }]);
  assert.equal(badRule.status, 400);
  assert.match(badRule.body.message, /rules\.0\.permission/);
  assert.equal((await n.call('GET', `${base}/users/nobody`)).status, 404);
  assert.deepEqual((await n.call('DELETE', `${base}/users/nobody`)).body, { code: 'NOT_FOUND', message: 'Username Not Found' });
  assert.equal((await n.call('DELETE', `${base}/users/user-0`)).status, 204);
  assert.equal((await n.call('GET', `${base}/users`)).body.meta.count, 4);
  assert.equal((await n.call('PUT', `${base}/users/user-1`, { username: 'someone-else', rules: [] })).status, 400);

  // The all record.
  assert.deepEqual((await n.call('GET', `${base}/all`)).body, { rules: [] });
  assert.equal((await n.call('POST', `${base}/all`, { rules: [rule('everyone/#', 'allow', 'publish')] })).status, 204);
  assert.equal((await n.call('GET', `${base}/all`)).body.rules.length, 1);

  // A connected client: its decision is cached; a rule change for it drops the entry at once.
  const c = await connect(`mqtt://127.0.0.1:${n.port()}`, { clientId: 'dev-1', protocolVersion: 5 });
  t.after(() => endClient(c));
  const puback = async (topic: string) => {
    const ack = nextPacket(c, 'puback');
    c.publish(topic, 'x', { qos: 1 });
    return (await ack).reasonCode ?? 0;
  };
  assert.equal(await puback('dev/1/up'), 0x87, 'no rule: no_match = deny');
  const cached = (await n.call('GET', '/clients/dev-1/authorization/cache')).body;
  assert.deepEqual(
    cached.map((e: { topic: string; result: string; access: unknown }) => [e.topic, e.result, e.access]),
    [['dev/1/up', 'deny', { action: 'publish', qos: 1, retain: false }]],
  );
  assert.equal(typeof cached[0].updated_time, 'number');
  assert.equal((await n.call('POST', `${base}/clients`, [{ clientid: 'dev-1', rules: [rule('dev/1/#', 'allow', 'publish')] }])).status, 204);
  assert.deepEqual((await n.call('GET', '/clients/dev-1/authorization/cache')).body, [], 'the write dropped the cached decision');
  assert.equal(await puback('dev/1/up'), 0, 'the new rule applies to the next publish');
  const one = (await n.call('GET', `${base}/clients/dev-1`)).body;
  assert.deepEqual(one, { clientid: 'dev-1', rules: [{ topic: 'dev/1/#', permission: 'allow', action: 'publish', qos: [0, 1, 2], retain: 'all' }] });
  assert.equal((await n.call('DELETE', `${base}/clients/dev-1`)).status, 204);
  assert.equal(await puback('dev/1/up'), 0x87, 'deleted at once');

  // Purge only when the source is disabled.
  assert.deepEqual((await n.call('DELETE', base)).body, { code: 'BAD_REQUEST', message: "'built_in_database' type source must be disabled before purge." });
  assert.equal((await n.call('PUT', '/authorization/sources/built_in_database', { type: 'built_in_database', enable: false, max_rules: 3 })).status, 204);
  assert.equal((await n.call('GET', `${base}/users`)).body.meta.count, 4, 'rules stay manageable while the source is disabled');
  assert.equal((await n.call('DELETE', base)).status, 204);
  assert.equal((await n.call('GET', `${base}/users`)).body.meta.count, 0);
  assert.equal((await n.call('DELETE', '/authorization/sources/built_in_database')).status, 204);
  assert.deepEqual((await n.call('GET', `${base}/users`)).body, { code: 'NOT_FOUND', message: 'Not found: built_in_database' });
});

test('cache endpoints and source status: a cached decision appears and disappears; counters and rates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-authz-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const n = await withNode(t);
  assert.equal((await n.call('POST', '/authorization/sources', { type: 'file', rules: RULES })).status, 204);
  assert.deepEqual((await n.call('GET', '/clients/nobody/authorization/cache')).body, { code: 'CLIENTID_NOT_FOUND', message: 'Client ID not found' });
  assert.equal((await n.call('DELETE', '/clients/nobody/authorization/cache')).status, 404);
  const c = await connect(`mqtt://127.0.0.1:${n.port()}`, { clientId: 'cache-1', username: 'bob' });
  t.after(() => endClient(c));
  assert.deepEqual((await n.call('GET', '/clients/cache-1/authorization/cache')).body, [], 'connected, nothing cached yet');
  await publish(c, 'open/a', 'x', { qos: 1 });
  await publish(c, 'open/b', 'x', { qos: 1 });
  const topics = async () => ((await n.call('GET', '/clients/cache-1/authorization/cache')).body as Array<{ topic: string }>).map((e) => e.topic).sort();
  assert.deepEqual(await topics(), ['open/a', 'open/b']);
  assert.equal((await n.call('DELETE', '/clients/cache-1/authorization/cache')).status, 204);
  assert.deepEqual(await topics(), []);
  await publish(c, 'open/a', 'x', { qos: 1 });
  assert.deepEqual(await topics(), ['open/a']);
  assert.equal((await n.call('DELETE', '/authorization/cache')).status, 204);
  assert.deepEqual(await topics(), []);

  const status = (await n.call('GET', '/authorization/sources/file/status')).body;
  assert.equal(status.status, 'connected');
  assert.equal(status.metrics.total, 3, 'three decisions asked the file');
  assert.equal(status.metrics.allow, 3);
  assert.deepEqual(Object.keys(status.metrics).sort(), ['allow', 'deny', 'ignore', 'nomatch', 'rate', 'rate_last5m', 'rate_max', 'total']);
  assert.equal(status.node_metrics[0].metrics.total, 3);
  assert.deepEqual(status.resource_metrics, {});
});

test('explain agrees with what a real client gets, steps included, and moves no counter', async (t) => {
  const n = await withNode(
    t,
    `authorization { no_match = deny, sources = [{ type = built_in_database }] }
     authentication = [{ mechanism = password_based, backend = built_in_database }]`,
  );
  assert.equal((await n.call('POST', '/authorization/sources', { type: 'file', rules: RULES })).status, 204);
  assert.equal((await n.call('POST', '/authentication/password_based%3Abuilt_in_database/users', { user_id: 'alice', password: 'pw-alice' })).status, 201);
  assert.equal((await n.call('POST', '/authentication/password_based%3Abuilt_in_database/users', { user_id: 'root', password: 'pw-root', is_superuser: true })).status, 201);
  assert.equal(
    (await n.call('POST', '/authorization/sources/built_in_database/rules/users', [{ username: 'alice', rules: [{ topic: 'shared/${username}', permission: 'allow', action: 'subscribe' }] }])).status,
    204,
  );

  const explain = async (body: Record<string, unknown>) => {
    const r = await n.call('POST', '/authorization/explain', body);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };
  const before = { ...n.node.authz.metrics.snapshot() };
  const beforeFile = n.node.authz.sources().find((s) => s.type === 'file')!.metrics.snapshot();

  // Steps: the file matches for alice; the rule is named.
  const e = await explain({ clientid: 'a-1', username: 'alice', password: 'pw-alice', action: 'publish', topic: 'alice/x', qos: 1 });
  assert.deepEqual(e.authentication, { result: 'allow', authenticator: 'password_based:built_in_database', is_superuser: false, acl: false });
  assert.deepEqual(e.decision.result, 'allow');
  assert.equal(e.decision.from, 'file');
  assert.match(e.decision.rule, /acl\.conf:1/);
  assert.deepEqual(e.steps.map((s: { step: string; source?: string; result: string }) => `${s.step}${s.source ? `:${s.source}` : ''}=${s.result}`), ['superuser=skipped', 'cache=miss', 'source:file=allow']);
  const none = await explain({ clientid: 'a-1', username: 'alice', action: 'publish', topic: 'elsewhere/x' });
  assert.deepEqual(none.steps.map((s: { step: string; result: string }) => `${s.step}=${s.result}`), ['superuser=skipped', 'cache=miss', 'source=nomatch', 'source=nomatch', 'no_match=deny']);
  assert.match(none.steps[2].detail, /none of the 3 rules/);
  assert.equal(none.decision.from, 'default');
  assert.equal(none.decision.deny_action, 'ignore');
  // A wrong password: the client would not connect.
  const refused = await explain({ clientid: 'a-1', username: 'alice', password: 'nope', action: 'publish', topic: 'alice/x' });
  assert.equal(refused.decision.from, 'authentication');
  assert.equal(refused.authentication.result, 'deny');
  assert.doesNotMatch(JSON.stringify(refused), /nope/);
  // Superuser, and the client's own ACL (JWT map form) described without a password.
  assert.deepEqual((await explain({ clientid: 'r', username: 'root', password: 'pw-root', action: 'subscribe', topic: '#' })).decision, { result: 'allow', from: 'superuser' });
  const acl = await explain({ clientid: 'j', acl: { pub: ['jwt/${clientid}'] }, action: 'publish', topic: 'jwt/j' });
  assert.equal(acl.decision.from, 'acl');
  assert.equal(acl.steps[1].step, 'client_acl');
  const expired = await explain({ clientid: 'j', acl: { pub: ['jwt/#'], expire: 1 }, action: 'publish', topic: 'jwt/j' });
  assert.equal(expired.decision.result, 'deny');
  assert.match(expired.decision.rule, /expired/);

  // Bodies that are wrong: 400 naming the field.
  const bad = await n.call('POST', '/authorization/explain', { clientid: 'x', action: 'read', topic: 't' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /^action: /);
  assert.match((await n.call('POST', '/authorization/explain', { clientid: 'x', action: 'publish' })).body.message, /^topic: is required/);
  assert.equal((await n.call('POST', '/authorization/explain', { clientid: 'x', password: 'p', is_superuser: true, action: 'publish', topic: 't' })).status, 400);
  assert.equal((await n.call('POST', '/authorization/explain', { listener: 'tcp:nope', clientid: 'x', action: 'publish', topic: 't' })).status, 404);

  // No side effects: no counter moved, nothing cached.
  assert.deepEqual(n.node.authz.metrics.snapshot(), before);
  assert.deepEqual(n.node.authz.sources().find((s) => s.type === 'file')!.metrics.snapshot(), beforeFile);

  // Agreement with a real client (mqtt.js, MQTT 5) with the same identity.
  const c = await connect(`mqtt://127.0.0.1:${n.port()}`, { clientId: 'a-1', username: 'alice', password: 'pw-alice', protocolVersion: 5 });
  t.after(() => endClient(c));
  const asks: Array<{ action: 'publish' | 'subscribe'; topic: string; qos: 0 | 1 | 2 }> = [
    { action: 'publish', topic: 'alice/x', qos: 1 },
    { action: 'publish', topic: 'open/x', qos: 1 },
    { action: 'publish', topic: 'elsewhere/x', qos: 1 },
    { action: 'publish', topic: 'bob/x', qos: 2 },
    { action: 'subscribe', topic: 'alice/#', qos: 1 },
    { action: 'subscribe', topic: 'shared/alice', qos: 1 },
    { action: 'subscribe', topic: 'shared/bob', qos: 0 },
    { action: 'subscribe', topic: 'open/#', qos: 0 },
  ];
  const results: string[] = [];
  for (const ask of asks) {
    const explained = await explain({ clientid: 'a-1', username: 'alice', password: 'pw-alice', ...ask });
    let allowed: boolean;
    if (ask.action === 'publish') {
      const ack = nextPacket(c, ask.qos === 1 ? 'puback' : 'pubrec');
      c.publish(ask.topic, 'x', { qos: ask.qos });
      allowed = ((await ack).reasonCode ?? 0) < 0x80;
    } else {
      const suback = nextPacket(c, 'suback');
      c.subscribe(ask.topic, { qos: ask.qos });
      allowed = ((await suback).granted as number[])[0]! < 0x80;
    }
    assert.equal(explained.decision.result === 'allow', allowed, `${ask.action} ${ask.topic}: explain says ${explained.decision.result}`);
    results.push(`${explained.decision.result}:${explained.decision.from}`);
  }
  // Both outcomes and several deciders were compared (the file comes first: its `#` deny hides shared/alice).
  assert.deepEqual(results, ['allow:file', 'allow:file', 'deny:default', 'deny:default', 'allow:file', 'deny:file', 'deny:file', 'deny:file']);
});

test('/api-docs shows each source type fragment for the source bodies and the rule and explain schemas', async (t) => {
  const n = await withNode(t);
  const doc = (await (await fetch(`http://127.0.0.1:${n.node.api!.address.port}/api-docs`)).json()) as { paths: Record<string, Record<string, any>> };
  const post = doc.paths['/api/v5/authorization/sources']!['post'];
  const shapes = post.requestBody.content['application/json'].schema.oneOf as Array<{ properties: Record<string, unknown> }>;
  const byType = new Map(shapes.map((s) => [(s.properties['type'] as { const: string }).const, Object.keys(s.properties).sort()]));
  assert.deepEqual(byType.get('file'), ['enable', 'path', 'rules', 'type']);
  assert.deepEqual(byType.get('built_in_database'), ['enable', 'max_rules', 'type']);
  const get = doc.paths['/api/v5/authorization/sources/{type}']!['get'];
  assert.ok(JSON.stringify(get.responses['200']).includes('max_rules'));
  for (const p of [
    '/api/v5/authorization/settings',
    '/api/v5/authorization/sources/{type}/move',
    '/api/v5/authorization/sources/{type}/status',
    '/api/v5/authorization/sources/order',
    '/api/v5/authorization/cache',
    '/api/v5/clients/{clientid}/authorization/cache',
    '/api/v5/authorization/sources/built_in_database/rules/users/{username}',
    '/api/v5/authorization/sources/built_in_database/rules/clients',
    '/api/v5/authorization/sources/built_in_database/rules/all',
    '/api/v5/authorization/explain',
  ]) {
    assert.ok(doc.paths[p], `${p} documented`);
  }
  assert.ok(!existsSync(join(n.dataDir, 'authz')), 'nothing written by reading');
});
