import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApiNode, adminAuth, BUILT_IN_PATH, type ApiNode } from './helpers.js';
import { schemaProblems } from '../../src/config/load.js';
import { GatehouseConfig } from '../../src/config/schema.js';
import { isSecretPath, redact, SECRET_KEYS } from '../../src/secrets.js';
import { createLogger } from '../../src/logging/index.js';
import { Writable } from 'node:stream';

/**
 * Issue 12, point 6: a validation error names the field and what was expected, never the
 * value of a secret. Every API endpoint that takes a secret gets one of the wrong type (each
 * with its own marker text), and the marker must appear nowhere in the answer or the log.
 */

let n = 0;
/** A fresh, recognisable secret text. */
const marker = () => `S3cr3t-Marker-${++n}-${Math.random().toString(36).slice(2, 8)}`;

describe('errors never echo secrets', () => {
  let api: ApiNode;
  before(async () => {
    api = await startApiNode(`
      authentication = [{ mechanism = password_based, backend = built_in_database }]
      gateway.stomp {
        authentication { mechanism = password_based, backend = built_in_database }
        listeners.tcp.default.bind = "127.0.0.1:0"
      }
      dashboard.default_password = "Admin-Pass-1"
    `);
    assert.equal((await api.call('POST', `/authentication/${BUILT_IN_PATH}/users`, { user_id: 'known', password: 'p' })).status, 201);
    assert.equal((await api.call('POST', `/gateways/stomp/authentication/users`, { user_id: 'known', password: 'p' })).status, 201);
  });
  after(async () => {
    await api.stop();
  });

  /** Sends `body` (built around a fresh marker) and checks the 400 and the log for the marker. */
  async function refusesWithoutEcho(method: string, path: string, body: (secret: string) => unknown, field: RegExp, auth: string = adminAuth): Promise<void> {
    const secret = marker();
    const from = api.logs.lines.length;
    const res = await api.call(method, path, body(secret), auth);
    assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
    assert.match(String(res.body?.message), field, 'the message names the field');
    assert.ok(!res.text.includes(secret), `${method} ${path} echoed the secret: ${res.text}`);
    const logged = api.logs.lines.slice(from).map((l) => JSON.stringify(l)).join('\n');
    assert.ok(!logged.includes(secret), `${method} ${path} logged the secret: ${logged}`);
  }

  const users = `/authentication/${BUILT_IN_PATH}/users`;
  const cases: Array<[string, string, (s: string) => unknown, RegExp]> = [
    ['POST', users, (s) => ({ user_id: 'u1', password: [s] }), /^password: got an array \(not shown\), expected string$/],
    ['POST', users, (s) => ({ user_id: 'u1', password: { nested: s } }), /^password: .*expected string$/],
    ['PUT', `${users}/known`, (s) => ({ password: [s] }), /^password: .*expected string$/],
    ['POST', users, (s) => [{ user_id: 'u1', password: s }], /^\(body\): /],
    ['POST', `/listeners/tcp%3Adefault/authentication/${BUILT_IN_PATH}/users`, (s) => ({ user_id: 'u', password: [s] }), /password/],
    ['POST', `/gateways/stomp/authentication/users`, (s) => ({ user_id: 'u', password: [s] }), /password/],
    ['PUT', `/gateways/stomp/authentication/users/known`, (s) => ({ password: [s] }), /password/],
    ['POST', '/authentication/explain', (s) => ({ clientid: 'c', username: 'known', password: [s] }), /password/],
    ['PUT', `/authentication/${BUILT_IN_PATH}`, (s) => ({ mechanism: 'password_based', backend: 'built_in_database', password_hash_algorithm: { name: 'sha256', salt: [s] } }), /salt/],
    ['POST', '/listeners/tcp%3Adefault/authentication', (s) => ({ mechanism: 'password_based', backend: 'built_in_database', password_hash_algorithm: { name: 'plain', salt: s } }), /salt/],
    ['POST', '/listeners', (s) => ({ type: 'ssl', name: 'bad1', bind: '127.0.0.1:0', ssl_options: { password: [s] } }), /ssl_options\.password/],
    ['POST', '/listeners', (s) => ({ type: 'ssl', name: 'bad2', bind: '127.0.0.1:0', ssl_options: { keyfile: [`-----BEGIN PRIVATE KEY-----\n${s}\n-----END PRIVATE KEY-----`] } }), /ssl_options\.keyfile/],
    ['PUT', '/listeners/tcp%3Adefault', (s) => ({ ssl_options: { password: 7, keyfile_password: [s] } }), /./],
    ['POST', '/gateways/stomp/listeners', (s) => ({ type: 'ssl', name: 'bad3', bind: '127.0.0.1:0', ssl_options: { password: [s] } }), /password/],
  ];
  for (const [method, path, body, field] of cases) {
    test(`${method} ${path} with ${JSON.stringify(body('X')).slice(0, 60)}`, async () => {
      await refusesWithoutEcho(method, path, body, field);
    });
  }

  test('POST /login with a wrong-typed password (no credentials needed)', async () => {
    await refusesWithoutEcho('POST', '/login', (s) => ({ username: 'admin', password: [s] }), /password/, '');
  });

  test('a body that is not valid JSON is refused without quoting it', async () => {
    const secret = marker();
    const res = await fetch(`${api.base}${users}`, {
      method: 'POST',
      headers: { authorization: adminAuth, 'content-type': 'application/json' },
      body: `{"user_id": "u", "password": ${secret}}`,
    });
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.match(text, /body is not valid JSON/);
    assert.ok(!text.includes(secret), text);
  });

  test('an Authorization header that is not accepted is not repeated', async () => {
    const secret = marker();
    const res = await api.call('GET', '/listeners', undefined, `Basic ${Buffer.from(`ops:${secret}`).toString('base64')}`);
    assert.equal(res.status, 401);
    assert.ok(!res.text.includes(secret) && !res.text.includes(Buffer.from(`ops:${secret}`).toString('base64')));
  });
});

describe('one list of secret fields for answers, logs and messages', () => {
  test('schemaProblems hides secrets at any depth, keeps other values', () => {
    const secret = marker();
    const problems = schemaProblems(GatehouseConfig, {
      dashboard: { default_password: [secret] },
      mqtt: { idle_timeout: true },
    });
    const text = problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    assert.ok(!text.includes(secret), text);
    assert.match(text, /dashboard\.default_password: got an array \(not shown\)/);
    assert.match(text, /mqtt\.idle_timeout: got true/, 'a value that is not secret is still shown');
  });

  test('every secret key is masked by redact and by the logger', () => {
    for (const key of SECRET_KEYS) {
      const secret = marker();
      assert.equal(JSON.stringify(redact({ [key]: secret, deeper: { [key]: secret } })).includes(secret), false, `redact leaves ${key}`);
      assert.ok(isSecretPath(`a.${key}.0`), `isSecretPath(${key})`);
      let out = '';
      const sink = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
      const logger = createLogger({ enable: true, level: 'info', formatter: 'json' }, sink);
      logger.info({ [key]: secret, a: { [key]: secret }, b: { c: { [key]: secret } } }, 'x');
      assert.ok(out.includes('"msg":"x"'), 'the line was written');
      assert.ok(!out.includes(secret), `the log shows ${key}: ${out}`);
    }
  });
});
