import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApi } from '../../src/api/index.js';
import { adminAuth, startApiNode, viewerAuth } from './helpers.js';

test('API access: keys, login tokens, roles, generated admin password, OpenAPI', async (t) => {
  const n = await startApiNode();
  t.after(() => n.stop());

  await t.test('nothing under /api/v5 answers without credentials', async () => {
    for (const path of ['/authentication', '/listeners', '/metrics', '/no/such/thing']) {
      const r = await n.call('GET', path, undefined, '');
      assert.equal(r.status, 401, path);
      assert.equal(r.body.code, 'AUTHORIZATION_HEADER_ERROR');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic Realm=/);
    }
    const bad = await n.call('GET', '/listeners', undefined, 'Basic ' + Buffer.from('ops:wrong').toString('base64'));
    assert.deepEqual([bad.status, bad.body.code], [401, 'BAD_API_KEY_OR_SECRET']);
    const token = await n.call('GET', '/listeners', undefined, 'Bearer not-a-token');
    assert.deepEqual([token.status, token.body.code], [401, 'BAD_TOKEN']);
    const scheme = await n.call('GET', '/listeners', undefined, 'Digest abc');
    assert.equal(scheme.body.code, 'AUTHORIZATION_HEADER_ERROR');
  });

  await t.test('a viewer reads but may not change anything', async () => {
    assert.equal((await n.call('GET', '/authentication', undefined, viewerAuth)).status, 200);
    const r = await n.call('POST', '/authentication', { mechanism: 'password_based', backend: 'built_in_database' }, viewerAuth);
    assert.deepEqual([r.status, r.body.code], [403, 'UNAUTHORIZED_ROLE']);
    assert.equal((await n.call('GET', '/authentication')).body.length, 0, 'the refused POST changed nothing');
  });

  await t.test('generated admin password: printed once, stored hashed, gives a bearer token', async () => {
    const lines = n.logs.lines.filter((l) => typeof l['initial_admin_password'] === 'string');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!['level'], 40);
    const password = lines[0]!['initial_admin_password'] as string;
    const stored = n.node.store.meta.get('dashboard.admin_password') ?? '';
    assert.ok(stored.length > 0 && !stored.includes(password), 'only a hash is stored');
    const wrong = await n.call('POST', '/login', { username: 'admin', password: 'public' }, '');
    assert.deepEqual([wrong.status, wrong.body], [401, { code: 'BAD_USERNAME_OR_PWD', message: 'Auth failed' }]);
    const missing = await n.call('POST', '/login', { username: 'admin' }, '');
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /password/);
    const ok = await n.call('POST', '/login', { username: 'admin', password }, '');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.license.edition, 'ce');
    const bearer = `Bearer ${ok.body.token}`;
    assert.equal((await n.call('GET', '/listeners', undefined, bearer)).status, 200);
    const byKey = await n.call('POST', '/logout', { username: 'admin' }, adminAuth);
    assert.deepEqual([byKey.status, byKey.body.code], [401, 'API_KEY_NOT_ALLOW']);
    assert.equal((await n.call('POST', '/logout', { username: 'admin' }, bearer)).status, 204);
    assert.equal((await n.call('GET', '/listeners', undefined, bearer)).body.code, 'BAD_TOKEN');
  });

  await t.test('OpenAPI document without credentials, generated from the route schemas', async () => {
    const res = await fetch(n.base.replace('/api/v5', '/api-docs'));
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> };
    assert.equal(doc.openapi, '3.1.0');
    const users = doc.paths['/api/v5/authentication/{id}/users']!;
    assert.ok(users['post']!.requestBody, 'request schema');
    assert.ok(users['post']!.responses['201'] && users['post']!.responses['409']);
    for (const p of ['/api/v5/listeners/{listener_id}/authentication', '/api/v5/gateways/{name}/listeners', '/api/v5/gateway/{name}/authentication/users', '/api/v5/prometheus/stats', '/api/v5/authentication/explain']) {
      assert.ok(doc.paths[p], p);
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} has response schemas`);
    }
  });

  await t.test('inject(): the same app without a socket', async () => {
    const app = await buildApi(n.node, { baseDir: n.dataDir });
    t.after(() => app.close());
    const r = await app.inject({ method: 'GET', url: '/api/v5/authentication', headers: { authorization: adminAuth } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), []);
    const bad = await app.inject({ method: 'PUT', url: '/api/v5/authentication/order', headers: { authorization: adminAuth }, payload: [{ idx: 1 }] });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /^0\.id: is required|0\.idx: unknown key|0\.id/);
  });
});
