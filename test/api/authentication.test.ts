import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILT_IN, BUILT_IN_PATH, startApiNode } from './helpers.js';
import { connackCode } from '../helpers/node.js';

const builtIn = (extra: Record<string, unknown> = {}) => ({
  mechanism: 'password_based',
  backend: 'built_in_database',
  password_hash_algorithm: { name: 'sha256', salt_position: 'suffix' },
  ...extra,
});

test('authenticators, positions, users, import and explain over the global and listener chains', async (t) => {
  const n = await startApiNode();
  t.after(() => n.stop());
  const url = `mqtt://127.0.0.1:${n.port()}`;

  await t.test('authenticator CRUD with EMQX codes', async () => {
    assert.deepEqual((await n.call('GET', '/authentication')).body, []);
    const badField = await n.call('POST', '/authentication', builtIn({ user_id_type: 'email' }));
    assert.equal(badField.status, 400);
    assert.match(badField.body.message, /^user_id_type: /);
    const noMechanism = await n.call('POST', '/authentication', { backend: 'built_in_database' });
    assert.equal(noMechanism.status, 400);
    assert.match(noMechanism.body.message, /mechanism: is required/);
    const badHash = await n.call('POST', '/authentication', builtIn({ password_hash_algorithm: { name: 'rot13' } }));
    assert.equal(badHash.status, 400);
    assert.match(badHash.body.message, /^password_hash_algorithm: /);
    assert.deepEqual((await n.call('GET', '/authentication')).body, [], 'failed POSTs changed nothing');
    const created = await n.call('POST', '/authentication', builtIn());
    assert.equal(created.status, 200);
    assert.equal(created.body.id, BUILT_IN);
    assert.equal(created.body.user_id_type, 'username', 'defaults filled');
    const dup = await n.call('POST', '/authentication', builtIn());
    assert.deepEqual([dup.status, dup.body], [409, { code: 'ALREADY_EXISTS', message: `Authenticator '${BUILT_IN}' already exist` }]);
    const unknownKey = await n.call('POST', '/authentication', builtIn({ bogus: 1 }));
    assert.equal(unknownKey.status, 409, 'duplicate id is checked first');
    assert.equal((await n.call('GET', `/authentication/${BUILT_IN_PATH}`)).body.id, BUILT_IN);
    assert.deepEqual((await n.call('GET', '/authentication/jwt')).body, { code: 'NOT_FOUND', message: "Authenticator 'jwt' does not exist" });
    const put = await n.call('PUT', `/authentication/${BUILT_IN_PATH}`, builtIn({ user_id_type: 'clientid', bogus: true }));
    assert.equal(put.status, 400);
    assert.match(put.body.message, /bogus: unknown key/);
    assert.equal((await n.call('GET', `/authentication/${BUILT_IN_PATH}`)).body.user_id_type, 'username', 'failed PUT changed nothing');
    const typeChange = await n.call('PUT', `/authentication/${BUILT_IN_PATH}`, { mechanism: 'jwt' });
    assert.deepEqual([typeChange.status, typeChange.body.message], [400, 'Change of authentication type is not allowed']);
    assert.equal((await n.call('PUT', '/authentication/jwt', { mechanism: 'jwt' })).status, 404);
    assert.equal((await n.call('PUT', `/authentication/${BUILT_IN_PATH}`, builtIn({ enable: false }))).status, 204);
    assert.equal((await n.call('GET', `/authentication/${BUILT_IN_PATH}`)).body.enable, false);
    assert.equal(await connackCode(url, { clientId: 'anon', protocolVersion: 5 }), 0, 'a disabled-only chain lets anonymous in, at once');
    assert.equal((await n.call('PUT', `/authentication/${BUILT_IN_PATH}`, builtIn())).status, 204);
    assert.equal(await connackCode(url, { clientId: 'anon', username: 'ghost', password: 'x', protocolVersion: 5 }), 0x87, 'the enabled chain refuses at once');
    assert.equal((await n.call('DELETE', '/authentication/jwt')).status, 204, 'delete is idempotent');
  });

  await t.test('users: CRUD, paging, filters and exact error texts', async () => {
    const users = `/authentication/${BUILT_IN_PATH}/users`;
    assert.deepEqual((await n.call('POST', users, { user_id: 'alice', password: 'pw-alice-1', is_superuser: true })).body, { user_id: 'alice', is_superuser: true });
    const dup = await n.call('POST', users, { user_id: 'alice', password: 'x' });
    assert.deepEqual([dup.status, dup.body], [409, { code: 'ALREADY_EXISTS', message: 'User already exists' }]);
    const noPassword = await n.call('POST', users, { user_id: 'bob' });
    assert.deepEqual([noPassword.status, noPassword.body], [400, { code: 'BAD_REQUEST', message: 'password: is required' }]);
    const wrongType = await n.call('POST', users, { user_id: 'bob', password: 'x', is_superuser: 'yes' });
    assert.match(wrongType.body.message, /^is_superuser: got "yes"/);
    assert.equal((await n.call('POST', users, { user_id: 'bob', password: 'pw-bob-1' })).status, 201);
    assert.deepEqual((await n.call('GET', `${users}/alice`)).body, { user_id: 'alice', is_superuser: true });
    assert.deepEqual((await n.call('GET', `${users}/nobody`)).body, { code: 'NOT_FOUND', message: 'User not found' });
    const onlyFlag = await n.call('PUT', `${users}/bob`, { is_superuser: true });
    assert.deepEqual([onlyFlag.status, onlyFlag.body.message], [400, 'password: is required']);
    assert.deepEqual((await n.call('PUT', `${users}/bob`, { password: 'pw-bob-2', is_superuser: true })).body, { user_id: 'bob', is_superuser: true });
    assert.equal((await n.call('PUT', `${users}/nobody`, { password: 'x' })).status, 404);
    const page = await n.call('GET', `${users}?page=1&limit=1`);
    assert.deepEqual(page.body.meta, { page: 1, limit: 1, hasnext: true, count: 2 });
    const like = await n.call('GET', `${users}?like_user_id=li`);
    assert.deepEqual(like.body.data.map((u: { user_id: string }) => u.user_id), ['alice']);
    assert.equal(like.body.meta.count, undefined, 'no count with a fuzzy filter');
    assert.equal((await n.call('GET', `${users}?limit=10001`)).body.code, 'INVALID_PARAMETER');
    assert.equal((await n.call('GET', `/authentication/jwt/users`)).status, 404, 'gatehouse-choices 6: unknown authenticator is 404');
    assert.equal((await n.call('DELETE', `${users}/bob`)).status, 204);
    assert.equal((await n.call('DELETE', `${users}/bob`)).status, 404);
    assert.equal(await connackCode(url, { clientId: 'c1', username: 'alice', password: 'pw-alice-1', protocolVersion: 5 }), 0);
  });

  await t.test('import_users: JSON body and multipart CSV, plain and hash', async () => {
    const path = `/authentication/${BUILT_IN_PATH}/import_users`;
    const json = await n.call('POST', `${path}?type=plain`, [{ user_id: 'j1', password: 'pj1' }, { user_id: 'j2', password: 'pj2', is_superuser: true }]);
    assert.deepEqual(json.body, { total: 2, success: 2, override: 0, skipped: 0, failed: 0 });
    const form = new FormData();
    form.append('filename', new Blob(['user_id,password,is_superuser\nc1,pc1,false\n"c,2",pc2,true\n']), 'users.csv');
    const res = await fetch(`${n.base}${path}?type=plain`, { method: 'POST', body: form, headers: { authorization: (await import('./helpers.js')).adminAuth } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { total: 2, success: 2, override: 0, skipped: 0, failed: 0 });
    assert.equal(await connackCode(url, { clientId: 'c2', username: 'c,2', password: 'pc2', protocolVersion: 5 }), 0);
    const txt = new FormData();
    txt.append('filename', new Blob(['x']), 'users.txt');
    const bad = await fetch(`${n.base}${path}`, { method: 'POST', body: txt, headers: { authorization: (await import('./helpers.js')).adminAuth } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /unsupported_file_format/);
    const missing = new FormData();
    missing.append('file', new Blob(['x']), 'users.csv');
    const noPart = await fetch(`${n.base}${path}`, { method: 'POST', body: missing, headers: { authorization: (await import('./helpers.js')).adminAuth } });
    assert.deepEqual(await noPart.json(), { code: 'BAD_REQUEST', message: 'Missing required parameter: filename' });
    const hashNoField = await n.call('POST', `${path}?type=hash`, [{ user_id: 'h1', password: 'x' }]);
    assert.equal(hashNoField.status, 400);
  });

  await t.test('positions and order', async () => {
    // A second authenticator type is not registered yet: exercise the rules on one entry and the errors.
    assert.equal((await n.call('PUT', `/authentication/${BUILT_IN_PATH}/position/front`)).status, 204);
    assert.equal((await n.call('PUT', `/authentication/${BUILT_IN_PATH}/position/rear`)).status, 204);
    assert.deepEqual((await n.call('PUT', `/authentication/${BUILT_IN_PATH}/position/middle`)).body, { code: 'BAD_REQUEST', message: "Invalid value for 'position'" });
    assert.equal((await n.call('PUT', `/authentication/${BUILT_IN_PATH}/position/before:jwt`)).status, 404);
    assert.equal((await n.call('PUT', `/authentication/jwt/position/front`)).status, 404);
    assert.equal((await n.call('PUT', '/authentication/order', [{ id: BUILT_IN }])).status, 204);
    const order = await n.call('PUT', '/authentication/order', [{ id: 'jwt' }]);
    assert.equal(order.status, 400);
    assert.match(order.body.message, /Authenticators: jwt are not found/);
    assert.match(order.body.message, /No positions are specified for authenticators: password_based:built_in_database/);
  });

  await t.test('status: counters and rates of real connections', async () => {
    assert.equal(await connackCode(url, { clientId: 'c3', username: 'alice', password: 'wrong', protocolVersion: 5 }), 0x86);
    const s = (await n.call('GET', `/authentication/${BUILT_IN_PATH}/status`)).body;
    assert.equal(s.status, 'connected');
    assert.ok(s.metrics.total >= 3 && s.metrics.failed >= 1 && s.metrics.success >= 2, JSON.stringify(s.metrics));
    assert.ok(s.metrics.rate_last5m > 0);
    assert.equal((await n.call('GET', '/authentication/jwt/status')).status, 404);
  });

  await t.test('listener chain: /listeners/{id}/authentication is used exclusively and at once', async () => {
    const base = '/listeners/tcp%3Adefault/authentication';
    assert.equal((await n.call('POST', base, builtIn({ user_id_type: 'clientid' }))).status, 200);
    assert.equal((await n.call('POST', `${base}/${BUILT_IN_PATH}/users`, { user_id: 'dev-1', password: 'pw-dev' })).status, 201);
    assert.equal(await connackCode(url, { clientId: 'dev-1', username: 'x', password: 'pw-dev', protocolVersion: 5 }), 0);
    assert.equal(await connackCode(url, { clientId: 'c1', username: 'alice', password: 'pw-alice-1', protocolVersion: 5 }), 0x87, 'global users no longer count here');
    assert.equal((await n.call('GET', '/listeners/tcp%3Anope/authentication')).status, 404);
    assert.equal((await n.call('GET', '/listeners/bogus/authentication')).status, 400);
    assert.equal((await n.call('DELETE', `${base}/${BUILT_IN_PATH}`)).status, 204);
    assert.equal(await connackCode(url, { clientId: 'c1', username: 'alice', password: 'pw-alice-1', protocolVersion: 5 }), 0, 'back to the global chain');
  });

  await t.test('explain matches what a real mqtt.js client then experiences', async () => {
    const cases = [
      { username: 'alice', password: 'pw-alice-1' },
      { username: 'alice', password: 'nope' },
      { username: 'stranger', password: 'x' },
    ];
    for (const c of cases) {
      const r = await n.call('POST', '/authentication/explain', { listener: 'tcp:default', clientid: 'exp', ...c });
      assert.equal(r.status, 200);
      assert.ok(!r.text.includes(c.password), 'the password is not echoed');
      assert.equal(r.body.chain, 'mqtt:global');
      assert.equal(r.body.steps[0].authenticator, BUILT_IN);
      assert.match(r.body.steps[0].request, /lookup username/);
      const real = await connackCode(url, { clientId: 'exp', ...c, protocolVersion: 5 });
      assert.equal(real, r.body.decision.connack.mqtt5, JSON.stringify(r.body));
      const real3 = await connackCode(url, { clientId: 'exp', ...c, protocolVersion: 4 });
      assert.equal(real3, r.body.decision.connack.mqtt3);
    }
    const before = (await n.call('GET', `/authentication/${BUILT_IN_PATH}/status`)).body.metrics.total;
    await n.call('POST', '/authentication/explain', { clientid: 'exp', username: 'alice', password: 'x' });
    assert.equal((await n.call('GET', `/authentication/${BUILT_IN_PATH}/status`)).body.metrics.total, before, 'dry run: no counters');
    assert.equal((await n.call('POST', '/authentication/explain', { listener: 'tcp:none', clientid: 'x' })).status, 404);
    const bad = await n.call('POST', '/authentication/explain', { username: 'x' });
    assert.deepEqual([bad.status, bad.body.message], [400, 'clientid: is required']);
  });

  await t.test('refusals are logged as one decision record', async () => {
    const line = n.logs.lines.find((l) => l['msg'] === 'connection refused' && l['username'] === 'alice' && l['reason'] === 'bad_username_or_password');
    assert.ok(line, 'refusal logged');
    assert.equal(line!['chain'], 'mqtt:global');
    assert.equal(line!['authenticator'], BUILT_IN);
    assert.ok(!n.logs.text().includes('pw-alice-1'), 'no password in logs');
  });

  await t.test('concurrent changes keep one consistent result', async () => {
    const users = `/authentication/${BUILT_IN_PATH}/users`;
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => n.call('POST', users, { user_id: `par-${i}`, password: `p${i}` })));
    assert.deepEqual(created.map((r) => r.status), Array(20).fill(201));
    const same = await Promise.all(Array.from({ length: 10 }, () => n.call('POST', users, { user_id: 'race', password: 'p' })));
    assert.deepEqual(same.map((r) => r.status).sort(), [201, ...Array(9).fill(409)]);
    const list = await n.call('GET', `${users}?like_user_id=par-&limit=100`);
    assert.equal(list.body.data.length, 20);
    const moves = await Promise.all(
      Array.from({ length: 20 }, (_, i) => n.call('PUT', `/authentication/${BUILT_IN_PATH}/position/${i % 2 ? 'front' : 'rear'}`)),
    );
    assert.deepEqual(moves.map((r) => r.status), Array(20).fill(204));
    const chain = (await n.call('GET', '/authentication')).body;
    assert.equal(chain.length, 1);
    assert.equal(n.node.authn.chain('mqtt:global')!.entries.length, 1, 'the live chain agrees');
    const posts = await Promise.all(Array.from({ length: 5 }, () => n.call('POST', '/listeners/tcp%3Adefault/authentication', builtIn())));
    assert.deepEqual(posts.map((r) => r.status).sort(), [200, 409, 409, 409, 409]);
  });
});
