import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Template, placeholderValue, sqlTemplate } from '../../src/authn/placeholders.js';
import type { ClientCredential } from '../../src/authn/types.js';

const client: ClientCredential = {
  listener: 'ssl:default',
  protocol: 'mqtt',
  clientid: "c'1; DROP TABLE users; --",
  username: 'alice',
  password: Buffer.from('p@ss w0rd'),
  peerhost: '10.1.2.3',
  peerport: 40001,
  sockport: 8883,
  zone: 'default',
  mountpoint: '',
  cert_subject: 'CN=device-001,O=Gatehouse Dev',
  cert_common_name: 'device-001',
  cert_pem: 'MIIBdGVzdA==',
  client_attrs: { site: 'north' },
  enable_authn: true,
};

describe('placeholders (§5)', () => {
  test('every authn placeholder resolves from the credential', () => {
    const names = ['clientid', 'username', 'password', 'peerhost', 'peerport', 'cert_subject', 'cert_common_name', 'cert_pem', 'client_attrs.site'];
    const t = Template.compile(names.map((n) => `\${${n}}`).join('|'), 'authn');
    assert.deepEqual(t.values(client), [client.clientid, 'alice', 'p@ss w0rd', '10.1.2.3', '40001', client.cert_subject, 'device-001', 'MIIBdGVzdA==', 'north']);
  });

  test('absent values render as the empty string in backend templates', () => {
    const { username: _u, cert_common_name: _c, ...bare } = client;
    const t = Template.compile('u=${username};cn=${cert_common_name};x=${client_attrs.missing}', 'authn');
    assert.equal(t.render(bare), 'u=;cn=;x=');
    assert.deepEqual(t.values(bare), ['', '', '']);
  });

  test('placeholders not allowed in a context stay literal and are reported', () => {
    const t = Template.compile('${clientid}/${password}/${peerhost}', 'jwt_claims');
    assert.equal(t.render(client), `${client.clientid}/\${password}/\${peerhost}`);
    assert.deepEqual(t.rejected, ['password', 'peerhost']);
  });

  test('${$} is a literal dollar', () => {
    assert.equal(Template.compile('${$}{username} and ${username}', 'authn').render(client), '${username} and alice');
  });

  test('a leading dot and spaces inside the braces are accepted', () => {
    assert.equal(Template.compile('${ .username }', 'authn').render(client), 'alice');
  });

  test('render applies an encoder to values only (URL components)', () => {
    const t = Template.compile('/auth/${username}?pw=${password}', 'authn');
    assert.equal(t.render(client, encodeURIComponent), '/auth/alice?pw=p%40ss%20w0rd');
    assert.equal(t.renderMasked(client), '/auth/alice?pw=******');
  });

  test('SQL: placeholders become bind markers, values are parameters (never spliced)', () => {
    const my = sqlTemplate('SELECT password_hash, salt FROM users WHERE username = ${username} AND clientid = "${clientid}" LIMIT 1', 'mysql');
    assert.equal(my.sql, 'SELECT password_hash, salt FROM users WHERE username = ? AND clientid = ? LIMIT 1');
    assert.deepEqual(my.template.values(client), ['alice', client.clientid]);
    const pg = sqlTemplate("SELECT * FROM u WHERE a = '${username}' OR b = ${username} OR c = ${peerhost}", 'postgresql');
    assert.equal(pg.sql, 'SELECT * FROM u WHERE a = $1 OR b = $2 OR c = $3');
    assert.ok(!pg.sql.includes('alice'));
  });

  test('placeholderValue of an unknown name is undefined', () => {
    assert.equal(placeholderValue('nonsense', client), undefined);
  });

  test('clientinfo templates (§12.2): header names with dashes are names; renderOptional leaves an all-absent field out', () => {
    const t = Template.compile('${Packet.headers.client-id}-${ClientInfo.peerhost}', 'clientinfo');
    assert.deepEqual(t.names, ['Packet.headers.client-id', 'ClientInfo.peerhost']);
    const values: Record<string, string> = { 'Packet.headers.client-id': 'dev-7' };
    assert.equal(t.renderOptional((n) => values[n]), 'dev-7-', 'a literal keeps the field');
    assert.equal(Template.compile('${Packet.headers.login}', 'clientinfo').renderOptional(() => undefined), undefined);
    // Elsewhere such a name is not allowed: it stays literal text, as any unknown placeholder does.
    const authn = Template.compile('u=${Packet.headers.client-id}', 'authn');
    assert.equal(authn.render(client), 'u=${Packet.headers.client-id}');
    assert.deepEqual(authn.rejected, ['Packet.headers.client-id']);
  });
});
