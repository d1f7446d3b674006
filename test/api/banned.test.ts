import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { BuiltInStore } from '../../src/store/index.js';
import { BannedList } from '../../src/access/banned/list.js';
import { ApiAccess } from '../../src/api/access.js';
import type { ApiContext } from '../../src/api/context.js';
import { installErrorHandler } from '../../src/api/errors.js';
import { installAccessControl } from '../../src/api/login.js';
import { installOpenApi } from '../../src/api/openapi.js';
import { installValidator } from '../../src/api/validation.js';
import { bannedRoutes } from '../../src/api/banned.js';
import { ADMIN_KEY, ADMIN_SECRET, adminAuth, VIEWER_KEY, VIEWER_SECRET, viewerAuth } from './helpers.js';

/**
 * The banned routes on an app assembled as buildApiApp does (validator, error handler, OpenAPI,
 * access control), registered under /api/v5 the way the lead will register them.
 */
async function bannedApi(dir: string): Promise<{ app: FastifyInstance; list: BannedList; store: BuiltInStore; base: string }> {
  const store = BuiltInStore.open(join(dir, 'data'));
  const keys = join(dir, 'keys.txt');
  writeFileSync(keys, `${ADMIN_KEY}:${ADMIN_SECRET}:administrator\n${VIEWER_KEY}:${VIEWER_SECRET}:viewer\n`);
  const logger = pino({ level: 'silent' });
  const access = await ApiAccess.create({ logger, meta: store.meta, username: 'admin', password: 'admin-Pw-1234', apiKeyFile: keys, baseDir: dir });
  const list = new BannedList({ records: store.banned });
  const app = Fastify();
  installValidator(app);
  installErrorHandler(app, logger);
  installOpenApi(app, '0.0.0');
  installAccessControl(app, { access } as unknown as ApiContext);
  await app.register(bannedRoutes, { prefix: '/api/v5', banned: list });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return { app, list, store, base: `http://127.0.0.1:${addr.port}/api/v5` };
}

describe('/api/v5/banned (EMQX emqx_mgmt_api_banned)', () => {
  let dir: string;
  let api: Awaited<ReturnType<typeof bannedApi>>;
  const call = async (method: string, path: string, body?: unknown, auth = adminAuth) => {
    const headers: Record<string, string> = { authorization: auth };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(api.base + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-api-banned-'));
    api = await bannedApi(dir);
  });
  after(async () => {
    await api.app.close();
    api.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('POST answers 200 with the entry: defaults, canonical who, RFC 3339 times', async () => {
    const r = await call('POST', '/banned', { as: 'peerhost', who: '2001:DB8::1', reason: 'scanner', until: '2099-01-01T00:00:00Z' });
    assert.equal(r.status, 200);
    assert.equal(r.body.as, 'peerhost');
    assert.equal(r.body.who, '2001:db8::1');
    assert.equal(r.body.by, 'mgmt_api');
    assert.equal(r.body.reason, 'scanner');
    assert.equal(Date.parse(r.body.until), Date.parse('2099-01-01T00:00:00Z'));
    assert.ok(Math.abs(Date.parse(r.body.at) - Date.now()) < 5000);
    const forever = await call('POST', '/banned', { as: 'clientid', who: 'c-forever', by: 'ops' });
    assert.deepEqual([forever.body.until, forever.body.by, forever.body.reason], ['infinity', 'ops', '']);
    assert.ok(api.list.match({ clientid: 'c-forever', peerhost: '1.1.1.1' }), 'the running list bans at once');
  });

  test('a duplicate still in force: 400 ALREADY_EXISTS with the existing entry (EMQX 5.8.9)', async () => {
    await call('POST', '/banned', { as: 'username', who: 'dup', reason: 'first' });
    const r = await call('POST', '/banned', { as: 'username', who: 'dup', reason: 'second' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'ALREADY_EXISTS');
    assert.equal(JSON.parse(r.body.message).reason, 'first');
  });

  test('bad input: 400 BAD_REQUEST naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ as: 'ip', who: 'x' }, /^as\b/],
      [{ as: 'clientid' }, /who/],
      [{ as: 'peerhost', who: '300.1.1.1' }, /^who: bad peerhost/],
      [{ as: 'peerhost_net', who: '10.0.0.0/40' }, /^who: bad peerhost_net/],
      [{ as: 'clientid_re', who: '(' }, /^who: not a valid regular expression/],
      [{ as: 'clientid', who: 'c', until: 1 }, /^until: cannot create an expired ban/],
      [{ as: 'clientid', who: 'c', at: 'noon' }, /^at: /],
      [{ as: 'clientid', who: 'c', untill: 5 }, /untill/],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', '/banned', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, 'BAD_REQUEST');
      assert.match(r.body.message, message, JSON.stringify(body));
    }
    const notJson = await fetch(api.base + '/banned', { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: '{"as":' });
    assert.equal(notJson.status, 400);
  });

  test('GET pages with data and meta {page, limit, count, hasnext}; one filter; paging errors as EMQX', async () => {
    await call('DELETE', '/banned');
    for (let i = 0; i < 5; i++) await call('POST', '/banned', { as: 'clientid', who: `page-${i}` });
    await call('POST', '/banned', { as: 'clientid_re', who: '^page-' });
    const p = await call('GET', '/banned?page=2&limit=2');
    assert.equal(p.status, 200);
    assert.deepEqual(p.body.data.map((e: { who: string }) => e.who), ['page-2', 'page-3']);
    assert.deepEqual(p.body.meta, { page: 2, limit: 2, count: 6, hasnext: true });
    const exact = await call('GET', '/banned?clientid=page-1');
    assert.deepEqual([exact.body.data.length, exact.body.meta.count, exact.body.meta.hasnext], [1, 1, false]);
    const like = await call('GET', '/banned?like_clientid=page-[34]');
    assert.deepEqual(like.body.data.map((e: { who: string }) => e.who), ['page-3', 'page-4']);
    const two = await call('GET', '/banned?clientid=a&username=b');
    assert.deepEqual([two.status, two.body.code, two.body.message], [400, 'BAD_REQUEST', 'too_many_filters']);
    assert.equal((await call('GET', '/banned?like_username=(')).status, 400);
    const badPage = await call('GET', '/banned?page=0');
    assert.deepEqual([badPage.status, badPage.body.code], [400, 'INVALID_PARAMETER']);
  });

  test('DELETE one: 204, then 404 NOT_FOUND; the who may be percent-encoded (a CIDR) or spelled differently', async () => {
    await call('POST', '/banned', { as: 'peerhost_net', who: '10.9.0.0/16' });
    await call('POST', '/banned', { as: 'peerhost', who: '2001:db8::99' });
    assert.equal((await call('DELETE', `/banned/peerhost_net/${encodeURIComponent('10.9.0.0/16')}`)).status, 204);
    assert.equal((await call('DELETE', `/banned/peerhost/${encodeURIComponent('2001:DB8:0::99')}`)).status, 204);
    const again = await call('DELETE', `/banned/peerhost_net/${encodeURIComponent('10.9.0.0/16')}`);
    assert.deepEqual([again.status, again.body.code, again.body.message], [404, 'NOT_FOUND', 'peerhost_net: 10.9.0.0/16 not found']);
    assert.equal((await call('DELETE', '/banned/ip/x')).status, 400);
    assert.equal(api.list.match({ clientid: 'z', peerhost: '10.9.1.1' }), undefined);
  });

  test('DELETE /banned clears: 204, and the list is empty', async () => {
    await call('POST', '/banned', { as: 'username', who: 'to-clear' });
    assert.equal((await call('DELETE', '/banned')).status, 204);
    assert.equal((await call('GET', '/banned')).body.meta.count, 0);
    assert.equal(api.list.size, 0);
  });

  test('viewers read, administrators write; no credentials, no answer', async () => {
    assert.equal((await call('GET', '/banned', undefined, viewerAuth)).status, 200);
    for (const [method, path, body] of [['POST', '/banned', { as: 'clientid', who: 'v' }], ['DELETE', '/banned', undefined], ['DELETE', '/banned/clientid/v', undefined]] as const) {
      const r = await call(method, path, body, viewerAuth);
      assert.deepEqual([r.status, r.body.code], [403, 'UNAUTHORIZED_ROLE'], `${method} ${path}`);
    }
    assert.equal((await call('GET', '/banned', undefined, '')).status, 401);
  });

  test('inject() works the same, and OpenAPI shows the routes from their schemas', async () => {
    const r = await api.app.inject({ method: 'POST', url: '/api/v5/banned', headers: { authorization: adminAuth }, payload: { as: 'username_re', who: '^bot' } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().who, '^bot');
    const doc = (await api.app.inject({ method: 'GET', url: '/api-docs' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    assert.deepEqual(Object.keys(doc.paths['/api/v5/banned']!).sort(), ['delete', 'get', 'post']);
    assert.ok(doc.paths['/api/v5/banned/{as}/{who}']!['delete']!.responses['404']);
  });
});
