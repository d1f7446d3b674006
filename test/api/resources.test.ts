import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_SECRET, BUILT_IN_PATH, VIEWER_SECRET, startApiNode, viewerAuth } from './helpers.js';
import { connect, connackCode, endClient } from '../helpers/node.js';

const STOMP = `
gateway.stomp {
  clientinfo_override.password = "override-secret-77"
  listeners.tcp.default.bind = "127.0.0.1:0"
}`;

test('listeners, gateways, metrics, and no secret in any answer', async (t) => {
  const n = await startApiNode(STOMP);
  t.after(() => n.stop());
  const answers: string[] = [];
  const call = async (method: string, path: string, body?: unknown, auth?: string) => {
    const r = await n.call(method, path, body, auth);
    answers.push(`${method} ${path} -> ${r.text}`);
    return r;
  };

  await t.test('listeners: list, create, update live, start/stop/restart, delete', async () => {
    const list = (await call('GET', '/listeners')).body as Array<{ id: string; authentication?: unknown }>;
    assert.deepEqual(list.map((l) => l.id).sort(), ['tcp:default', 'ws:default']);
    assert.ok(list.every((l) => l.authentication === undefined), 'listener chains are not in listener answers');
    const created = await call('POST', '/listeners', { type: 'tcp', name: 'api', bind: '127.0.0.1:0', mountpoint: 'api/' });
    assert.equal(created.status, 200);
    assert.equal(created.body.running, true);
    const port = n.node.address('tcp:api').port;
    const client = await connect(`mqtt://127.0.0.1:${port}`, { clientId: 'on-api' });
    assert.equal((await call('GET', '/listeners/tcp%3Aapi')).body.status.current_connections, 1);
    assert.equal((await call('POST', '/listeners/tcp%3Aapi', { bind: '127.0.0.1:0' })).body.code, 'BAD_LISTENER_ID');
    const badBody = await call('PUT', '/listeners/tcp%3Aapi', { max_connections: -3 });
    assert.equal(badBody.status, 400);
    assert.match(badBody.body.message, /^max_connections: /);
    assert.equal((await call('PUT', '/listeners/tcp%3Aapi', { mountpoint: 'changed/' })).body.mountpoint, 'changed/');
    assert.ok(client.connected, 'an in-place change keeps connected clients');
    await endClient(client);
    assert.equal((await call('POST', '/listeners/tcp%3Aapi/restart')).status, 200);
    assert.equal((await call('POST', '/listeners/tcp%3Aapi/stop')).status, 200);
    assert.equal((await call('GET', '/listeners/tcp%3Aapi')).body.running, false);
    assert.equal((await call('POST', '/listeners/tcp%3Aapi/start')).status, 200);
    assert.equal(n.node.listeners.get('tcp:api')?.running, true);
    assert.equal((await call('DELETE', '/listeners/tcp%3Aapi')).status, 204);
    assert.equal(n.node.listeners.has('tcp:api'), false);
    assert.equal((await call('GET', '/listeners/tcp%3Aapi')).status, 404);
    assert.equal((await call('DELETE', '/listeners/tcp%3Aapi')).status, 404);
    assert.equal((await call('POST', '/listeners/tcp%3Aapi/start')).status, 404);
    assert.equal((await call('GET', '/listeners/quic%3Ax')).body.code, 'BAD_LISTENER_ID');
    const ssl = await call('POST', '/listeners/ssl%3Acold', { enable: false, bind: '127.0.0.1:0', ssl_options: { password: 'keypass-SECRET-31' } });
    assert.equal(ssl.status, 200);
    assert.equal(ssl.body.ssl_options.password, '******');
    assert.equal((await call('PUT', '/listeners/ssl%3Acold', { ssl_options: { password: '******', depth: 3 } })).status, 200);
    const again = (await call('GET', '/listeners/ssl%3Acold')).body;
    assert.equal(again.ssl_options.depth, 3);
    assert.equal((await n.call('GET', '/listeners', undefined, viewerAuth)).status, 200);
  });

  await t.test('gateways: stomp config, listeners and authentication (singular path too)', async () => {
    const gws = (await call('GET', '/gateways')).body;
    assert.equal(gws[0].name, 'stomp');
    assert.equal(gws[0].status, 'running');
    const gw = (await call('GET', '/gateways/stomp')).body;
    assert.equal(gw.clientinfo_override.password, '******');
    assert.equal(gw.listeners[0].id, 'stomp:tcp:default');
    assert.equal((await call('GET', '/gateway/stomp')).status, 200);
    assert.equal((await call('GET', '/gateways/mqttsn')).body.code, 'RESOURCE_NOT_FOUND');
    assert.equal((await call('GET', '/gateways/stomp/authentication')).status, 204);
    const auth = await call('POST', '/gateways/stomp/authentication', { mechanism: 'password_based', backend: 'built_in_database' });
    assert.equal(auth.status, 201);
    assert.equal(auth.body.id, 'password_based:built_in_database');
    const again = await call('POST', '/gateways/stomp/authentication', { mechanism: 'password_based', backend: 'built_in_database' });
    assert.deepEqual([again.status, again.body.message], [400, 'The authentication already exist on stomp']);
    assert.equal((await call('POST', '/gateway/stomp/authentication/users', { user_id: 'st', password: 'pw-stomp-1' })).status, 201);
    assert.equal((await call('GET', '/gateways/stomp/authentication/users')).body.data[0].user_id, 'st');
    assert.equal(n.node.authn.chain('stomp:global')?.entries.length, 1, 'live');
    assert.equal((await call('PUT', '/gateways/stomp/authentication', { mechanism: 'password_based', backend: 'built_in_database', enable: false })).status, 200);
    assert.equal(n.node.authn.chain('stomp:global')?.entries[0]?.enable, false);
    const l = await call('POST', '/gateways/stomp/listeners', { type: 'tcp', name: 'second', bind: '127.0.0.1:0' });
    assert.equal(l.status, 201);
    assert.equal(n.node.listeners.get('stomp:tcp:second')?.running, true);
    assert.equal((await call('POST', '/gateways/stomp/listeners', { type: 'tcp', name: 'second', bind: '127.0.0.1:0' })).body.message, 'Listener name has occupied');
    assert.equal((await call('POST', '/gateways/stomp/listeners/stomp%3Atcp%3Asecond/authentication', { mechanism: 'password_based', backend: 'built_in_database' })).status, 201);
    assert.equal(n.node.authn.chain('stomp:tcp:second')?.entries.length, 1);
    assert.equal((await call('GET', '/gateways/stomp/listeners/stomp%3Atcp%3Anope')).body.code, 'RESOURCE_NOT_FOUND');
    assert.equal((await call('DELETE', '/gateways/stomp/listeners/stomp%3Atcp%3Asecond')).status, 204);
    assert.equal(n.node.listeners.has('stomp:tcp:second'), false);
    assert.equal((await call('PUT', '/gateways/stomp/enable/false')).status, 204);
    assert.equal(n.node.listeners.get('stomp:tcp:default')?.running, false);
    assert.equal((await call('PUT', '/gateways/stomp/enable/true')).status, 204);
    assert.equal(n.node.listeners.get('stomp:tcp:default')?.running, true);
    assert.equal((await call('DELETE', '/gateways/stomp/authentication')).status, 204);
    assert.equal(n.node.authn.chain('stomp:global'), undefined);
  });

  await t.test('metrics and Prometheus: counters, per-listener connections, decision latency histograms', async () => {
    await call('POST', '/authentication', { mechanism: 'password_based', backend: 'built_in_database' });
    await call('POST', `/authentication/${BUILT_IN_PATH}/users`, { user_id: 'm', password: 'pw-metrics-9' });
    const c = await connect(`mqtt://127.0.0.1:${n.port()}`, { clientId: 'm1', username: 'm', password: 'pw-metrics-9' });
    assert.equal(await connackCode(`mqtt://127.0.0.1:${n.port()}`, { clientId: 'm2', username: 'm', password: 'no', protocolVersion: 5 }), 0x86);
    const m = (await call('GET', '/metrics')).body[0];
    assert.ok(m['authentication.success'] >= 1 && m['authentication.failure'] >= 1 && m['client.authenticate'] >= 2, JSON.stringify(m));
    assert.equal((await call('GET', '/metrics?aggregate=true')).body['authentication.failure'], m['authentication.failure']);
    const prom = await call('GET', '/prometheus/stats');
    assert.match(prom.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(prom.text, /gatehouse_listener_connections\{listener="tcp:default",type="tcp",protocol="mqtt"\} 1/);
    assert.match(prom.text, /gatehouse_authentication_decision_seconds_count\{listener="tcp:default",chain="mqtt:global",result="deny"\} 1/);
    assert.match(prom.text, /gatehouse_authenticator_seconds_bucket\{le="0.005",chain="mqtt:global",authenticator="password_based:built_in_database",result="allow"\}/);
    assert.match(prom.text, /emqx_authentication_failure [1-9]/);
    assert.match(prom.text, /emqx_authn_total\{chain="mqtt:global",id="password_based:built_in_database"\} [2-9]/);
    await endClient(c);
  });

  await t.test('no secret in any answer (every GET after the POSTs above)', async () => {
    const gets = [
      '/authentication',
      `/authentication/${BUILT_IN_PATH}`,
      `/authentication/${BUILT_IN_PATH}/status`,
      `/authentication/${BUILT_IN_PATH}/users`,
      `/authentication/${BUILT_IN_PATH}/users/m`,
      '/listeners',
      '/listeners/tcp%3Adefault',
      '/listeners/ssl%3Acold',
      '/listeners/tcp%3Adefault/authentication',
      '/gateways',
      '/gateways/stomp',
      '/gateways/stomp/listeners',
      '/gateways/stomp/listeners/stomp%3Atcp%3Adefault',
      '/gateways/stomp/authentication',
      '/metrics',
      '/prometheus/stats',
    ];
    for (const g of gets) {
      const r = await call('GET', g);
      assert.ok(r.status === 200 || r.status === 204, `${g}: ${r.status}`);
    }
    const docs = await fetch(n.base.replace('/api/v5', '/api-docs'));
    // The OpenAPI document names each backend's fields (password_hash_algorithm among them):
    // checked for secrets with the answers, not for field names.
    const docsText = await docs.text();
    const stored = n.node.store.users.get('mqtt:global', 'm')!;
    const admin = n.node.store.meta.get('dashboard.admin_password')!;
    const adminHash = (JSON.parse(admin) as { password_hash: string; salt: string });
    const secrets = ['pw-metrics-9', 'pw-stomp-1', 'keypass-SECRET-31', 'override-secret-77', ADMIN_SECRET, VIEWER_SECRET, stored.password_hash, adminHash.password_hash];
    if (typeof stored.salt === 'string' && stored.salt.length >= 8) secrets.push(stored.salt);
    if (adminHash.salt.length >= 8) secrets.push(adminHash.salt);
    const generated = n.logs.lines.find((l) => 'initial_admin_password' in l)!['initial_admin_password'] as string;
    secrets.push(generated);
    const all = [...answers, docsText].join('\n');
    for (const s of secrets) assert.ok(!all.includes(s), `secret ${s.slice(0, 3)}… leaked`);
    assert.ok(answers.length > 40);
    assert.ok(!/password_hash|"salt"/.test(answers.join('\n')), 'no hash or salt fields');
  });
});
