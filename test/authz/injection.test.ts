import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, MqttClient, Packet } from 'mqtt';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { startTestNode, connect, endClient, type TestNode } from '../helpers/node.js';
import { makePki, type TestPki } from '../listeners/pki.js';

/**
 * Injection through the values placeholders read (gatehouse-choices 4, emqx5-auth.md §8.5):
 * `+`, `#`, `/`, NUL, `${`, very long, in certificate common names over a real mTLS listener,
 * in client ids and in usernames, against templated acl.conf rules, with mqtt.js. A value
 * never widens a rule, and never becomes another placeholder. (Usernames `+`, `#`, `a/b` are
 * in mqtt-enforcement.test.ts; the matcher's own table in topic.test.ts.)
 */

const RULES = `
{allow, all, subscribe, ["devices/\${cert_common_name}/#"]}.
{allow, all, subscribe, ["clients/\${clientid}/#"]}.
{allow, all, subscribe, ["users/\${username}/#"]}.
{deny, all}.
`;

/** SUBACK codes for one SUBSCRIBE of several filters; 'refused' when the client was not let in. */
async function subackCodes(url: string, options: IClientOptions, filters: string[]): Promise<number[] | 'refused'> {
  let c: MqttClient;
  try {
    c = await connect(url, { reconnectPeriod: 0, ...options });
  } catch {
    return 'refused';
  }
  const codes = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no SUBACK')), 5000);
    const on = (p: Packet) => {
      if (p.cmd !== 'suback') return;
      clearTimeout(timer);
      c.off('packetreceive', on);
      resolve(p.granted as number[]);
    };
    c.on('packetreceive', on);
    c.subscribe(Object.fromEntries(filters.map((f) => [f, { qos: 0 as const }])), () => undefined);
  });
  await endClient(c);
  return codes;
}

const DENIED = 0x87;

describe('placeholder injection over the wire (gatehouse-choices 4)', () => {
  let dir: string;
  let certs: DevCertPaths;
  let pki: TestPki;
  let t: TestNode;
  const CNS: Record<string, Buffer> = {
    plus: Buffer.from('+'),
    hash: Buffer.from('#'),
    slash: Buffer.from('a/b'),
    nul: Buffer.from('dev\u0000ice'),
    template: Buffer.from('${username}'),
    long: Buffer.from('x'.repeat(2000)),
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-injection-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    pki = await makePki(dir);
    await pki.issue('good', '/O=Gatehouse Test/CN=good-device');
    for (const [name, cn] of Object.entries(CNS)) await pki.issueWithCn(name, cn);
    writeFileSync(join(dir, 'acl.conf'), RULES);
    const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${pki.cas}", verify = verify_peer, fail_if_no_peer_cert = true }`;
    t = await startTestNode(
      [
        `listeners.ssl.mtls { bind = "127.0.0.1:0", ${ssl} }`,
        `authorization.sources = [{ type = file, path = "${join(dir, 'acl.conf')}" }]`,
        'mqtt.max_clientid_len = 65535',
      ].join('\n'),
    );
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const withCert = (name: string, extra: IClientOptions = {}): IClientOptions => ({
    ca: readFileSync(certs.caCert),
    cert: readFileSync(pki.chain(name)),
    key: readFileSync(pki.key(name)),
    ...extra,
  });

  test('certificate CN: the own device namespace only', async () => {
    const codes = await subackCodes(t.url('ssl:mtls'), withCert('good', { protocolVersion: 5, clientId: 'good' }), [
      'devices/good-device/#',
      'devices/other/#',
      'devices/+/#',
    ]);
    assert.deepEqual(codes, [0, DENIED, DENIED]);
  });

  for (const [name, cn] of Object.entries(CNS)) {
    test(`certificate CN ${name === 'long' ? '2 000 × x' : JSON.stringify(cn.toString())}: never widens devices/\${cert_common_name}/#`, async () => {
      const filters = ['devices/+/#', 'devices/#', 'devices/a/b/#', 'devices/dev/#', 'devices/${username}/#', 'devices/u/#', '#'];
      const codes = await subackCodes(t.url('ssl:mtls'), withCert(name, { protocolVersion: 5, clientId: `cn-${name}`, username: 'u' }), filters);
      assert.ok(codes !== 'refused', `admitted (no peer_cert_as_* here): ${t.logs.text().slice(-500)}`);
      // A CN of `${username}` owns the literal level `${username}`, never the username's `u`.
      assert.deepEqual(codes, filters.map((f) => (name === 'template' && f === 'devices/${username}/#' ? 0 : DENIED)));
    });
  }

  test('a 2 000-character CN still matches its own literal namespace (long values are not an injection)', async () => {
    const codes = await subackCodes(t.url('ssl:mtls'), withCert('long', { protocolVersion: 4, clientId: 'cn-long-own' }), [`devices/${'x'.repeat(2000)}/#`]);
    assert.deepEqual(codes, [0]);
  });

  const ID_CASES: Array<[string, string]> = [
    ['plus', '+'],
    ['hash', '#'],
    ['slash', 'a/b'],
    ['template', '${username}'],
    ['long', 'c'.repeat(5000)],
  ];
  for (const [label, clientId] of ID_CASES) {
    test(`client id ${label}: never widens clients/\${clientid}/# nor is read as a placeholder`, async () => {
      const filters = ['clients/+/#', 'clients/#', 'clients/a/b/#', 'clients/bob/#', 'clients/a/#'];
      for (const protocolVersion of [4, 5] as const) {
        const codes = await subackCodes(t.url(), { protocolVersion, clientId, username: 'bob' }, filters);
        assert.ok(codes !== 'refused');
        const denied = protocolVersion === 5 ? DENIED : 0x80;
        assert.deepEqual(codes, filters.map(() => denied), `${label} on ${protocolVersion}`);
      }
    });
  }

  test('client id "${username}" gets its own literal namespace, not the username\'s; a long id its own', async () => {
    assert.deepEqual(await subackCodes(t.url(), { protocolVersion: 5, clientId: '${username}', username: 'bob' }, ['clients/${username}/#', 'clients/bob/#']), [0, DENIED]);
    const long = 'c'.repeat(5000);
    assert.deepEqual(await subackCodes(t.url(), { protocolVersion: 5, clientId: long }, [`clients/${long}/#`]), [0]);
  });

  test('a client id with U+0000 is refused at CONNECT or never matches', async () => {
    const codes = await subackCodes(t.url(), { protocolVersion: 5, clientId: 'a\u0000b' }, ['clients/+/#', 'clients/a/#', 'clients/a\u0000b/#']);
    if (codes !== 'refused') assert.deepEqual(codes, [DENIED, DENIED, DENIED]);
  });

  const USER_CASES: Array<[string, string]> = [
    ['nul', 'a\u0000b'],
    ['template', '${clientid}'],
    ['long', 'u'.repeat(5000)],
  ];
  for (const [label, username] of USER_CASES) {
    test(`username ${label}: never widens users/\${username}/# nor is read as a placeholder`, async () => {
      const filters = ['users/+/#', 'users/#', 'users/a/#', 'users/me/#'];
      const codes = await subackCodes(t.url(), { protocolVersion: 5, clientId: 'me', username }, filters);
      if (label === 'nul' && codes === 'refused') return; // a NUL in a UTF-8 string may be refused at CONNECT [MQTT-1.5.4-2]
      assert.ok(codes !== 'refused');
      assert.deepEqual(codes, filters.map(() => DENIED), label);
    });
  }
});
