// Issue 13: TLS listeners an operator can trust. Session resumption (RFC 5077, RFC 8446 §2.2,
// §4.6.1) with and without client certificates, revocation across a root → intermediate chain
// (RFC 5280 §6.3), renegotiation (RFC 5246 §7.4.1.2), TLS errors after the handshake.
// Clients: Python's ssl module, openssl s_client and node's tls, over real sockets on port 0.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadConfigText, ConfigError } from '../../src/config/load.js';
import { configChecks } from '../../src/checks.js';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { connackCode, startTestNode, type TestNode } from '../helpers/node.js';
import { encodeFrame } from '../../gateways/stomp/frame.js';
import { CONNACK_OK, connectPacket, RecordingAuthn, run } from './support.js';
import { makePki, type TestPki } from './pki.js';

const RESUME_PY = fileURLToPath(new URL('./fixtures/tls_resume.py', import.meta.url));

interface PyResult {
  n: number;
  ok: boolean;
  reused: boolean;
  connack: string;
  error: string;
}

/** Python's ssl client: `count` connections, each offering the previous one's session. */
async function pyResume(port: number, ca: string, version: '1.2' | '1.3', count: number, clientId: string, cert?: [string, string]): Promise<PyResult[]> {
  const r = await run('python3', [RESUME_PY, String(port), ca, version, String(count), clientId, ...(cert ?? [])], { timeoutMs: 20000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as PyResult);
}

interface TlsExchange {
  reused: boolean;
  session: Buffer | undefined;
  received: Buffer;
  error?: string;
}

/** node's tls client: sends `payload` after the handshake, collects until `done(received)` or close. */
function tlsExchange(opts: tls.ConnectionOptions, payload: Buffer, done: (got: Buffer) => boolean): Promise<TlsExchange> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let received = Buffer.alloc(0);
    let settled = false;
    let reused = false;
    const socket = tls.connect({ host: '127.0.0.1', servername: 'localhost', ...opts });
    socket.setTimeout(8000, () => finish('no answer within 8 s'));
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ reused, session, received, ...(error ? { error } : {}) });
    };
    socket.on('session', (s: Buffer) => {
      session = s;
      if (done(received)) finish();
    });
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write(payload);
    });
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      // TLS 1.3 tickets may come after the first application data: wait for one.
      if (done(received) && session) finish();
    });
    socket.on('error', (err) => finish(err.message));
    socket.on('close', () => finish());
  });
}

const hasConnack = (b: Buffer) => b.includes(CONNACK_OK);

describe('TLS session resumption (reuse_sessions)', () => {
  let dir: string;
  let certs: DevCertPaths;
  let pki: TestPki;
  let t: TestNode;
  const authn = new RecordingAuthn();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-resume-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    pki = await makePki(dir);
    await pki.issue('device-a', '/O=Gatehouse Test/CN=device-a');
    await pki.issue('device-b', '/O=Gatehouse Test/CN=device-b');
    const server = `certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}"`;
    const mtls = `${server}, cacertfile = "${pki.cas}", verify = verify_peer, fail_if_no_peer_cert = true`;
    const crl = `${mtls}, enable_crl_check = true, crlfile = "${pki.crls}"`;
    const bind = 'bind = "127.0.0.1:0"';
    t = await startTestNode(
      [
        `listeners.ssl.plain { ${bind}, ssl_options { ${server}, cacertfile = "${certs.caCert}" } }`,
        `listeners.ssl.mtls { ${bind}, ssl_options { ${mtls} } }`,
        `listeners.ssl.optional { ${bind}, ssl_options { ${server}, cacertfile = "${pki.cas}", verify = verify_peer } }`,
        `listeners.ssl.crl { ${bind}, ssl_options { ${crl} } }`,
        `listeners.ssl.noreuse { ${bind}, ssl_options { ${mtls}, reuse_sessions = false } }`,
        `listeners.wss.mtls { ${bind}, ssl_options { ${mtls} } }`,
        'mqtt.peer_cert_as_username = cn',
        `gateway.stomp { listeners.ssl.mtls { ${bind}, ssl_options { ${mtls} } } }`,
      ].join('\n'),
      { authn },
    );
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const device = (name: string): [string, string] => [pki.chain(name), pki.key(name)];

  for (const version of ['1.2', '1.3'] as const) {
    test(`TLS ${version}, server certificate only: python resumes its session and gets CONNACK each time`, async () => {
      const results = await pyResume(t.port('ssl:plain'), certs.caCert, version, 3, `py-plain-${version}`);
      assert.deepEqual(results.map((r) => [r.ok, r.reused, r.error]), [[true, false, ''], [true, true, ''], [true, true, '']]);
    });

    test(`TLS ${version}, mTLS (verify_peer, fail_if_no_peer_cert): resumption works and keeps the certificate identity`, async () => {
      const results = await pyResume(t.port('ssl:mtls'), certs.caCert, version, 3, `py-mtls-${version}`, device('device-a'));
      assert.deepEqual(results.map((r) => [r.ok, r.reused, r.error]), [[true, false, ''], [true, true, ''], [true, true, '']]);
      for (const n of [0, 1, 2]) {
        const c = await authn.credentialOf(`py-mtls-${version}-${n}`);
        assert.equal(c.username, 'device-a', 'peer_cert_as_username from the original handshake');
        assert.equal(c.cert_common_name, 'device-a');
        assert.equal(c.cert_subject, 'CN=device-a,O=Gatehouse Test');
        assert.equal(c.cert_pem, new X509Certificate(readFileSync(pki.chain('device-a'))).raw.toString('base64'));
      }
    });

    test(`TLS ${version}, verify_peer without a client certificate: resumption works`, async () => {
      const results = await pyResume(t.port('ssl:optional'), certs.caCert, version, 2, `py-opt-${version}`);
      assert.deepEqual(results.map((r) => [r.ok, r.reused]), [[true, false], [true, true]]);
    });

    test(`TLS ${version}, reuse_sessions = false: every connection is a full handshake, none fails`, async () => {
      const results = await pyResume(t.port('ssl:noreuse'), certs.caCert, version, 3, `py-noreuse-${version}`, device('device-a'));
      assert.deepEqual(results.map((r) => [r.ok, r.reused, r.error]), [[true, false, ''], [true, false, ''], [true, false, '']]);
    });
  }

  test('openssl s_client -sess_out / -sess_in resumes on the mTLS listener (TLS 1.2 and 1.3)', async () => {
    for (const v of ['-tls1_2', '-tls1_3']) {
      const sess = join(dir, `s_client${v}.sess`);
      const args = (io: string[]) => ['s_client', '-connect', `127.0.0.1:${t.port('ssl:mtls')}`, '-CAfile', certs.caCert, '-cert', pki.chain('device-b'), '-key', pki.key('device-b'), v, ...io];
      const first = await run('openssl', args(['-sess_out', sess]), { input: connectPacket(`sc-first${v}`), keepStdinOpenMs: 800, timeoutMs: 6000 });
      assert.match(first.stdout, /^New, /m, first.stdout);
      const second = await run('openssl', args(['-sess_in', sess]), { input: connectPacket(`sc-again${v}`), keepStdinOpenMs: 800, timeoutMs: 6000 });
      assert.match(second.stdout, /^Reused, /m, second.stdout);
      assert.ok(second.stdoutBytes.includes(CONNACK_OK), second.stdout);
      assert.equal((await authn.credentialOf(`sc-again${v}`)).username, 'device-b');
    }
  });

  const client = () => ({ ca: readFileSync(certs.caCert), cert: readFileSync(pki.chain('device-a')), key: readFileSync(pki.key('device-a')) });

  test('wss: a TLS 1.3 session resumes and the WebSocket upgrade is answered', async () => {
    const upgrade = Buffer.from(
      'GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
    );
    const switched = (b: Buffer) => b.toString('latin1').startsWith('HTTP/1.1 101');
    const first = await tlsExchange({ port: t.port('wss:mtls'), ...client() }, upgrade, switched);
    assert.ok(switched(first.received) && first.session, first.error);
    const again = await tlsExchange({ port: t.port('wss:mtls'), ...client(), session: first.session! }, upgrade, switched);
    assert.equal(again.reused, true);
    assert.ok(switched(again.received), again.received.toString());
  });

  test('STOMP ssl: a TLS 1.2 session resumes and CONNECT gets CONNECTED', async () => {
    const frame = encodeFrame({ command: 'CONNECT', headers: [['accept-version', '1.2'], ['host', 'gatehouse']], body: Buffer.alloc(0) }, '1.2');
    const connected = (b: Buffer) => b.toString('latin1').startsWith('CONNECTED');
    const opts = { port: t.port('stomp:ssl:mtls'), ...client(), maxVersion: 'TLSv1.2' as const };
    const first = await tlsExchange(opts, frame, connected);
    assert.ok(connected(first.received) && first.session, first.error);
    const again = await tlsExchange({ ...opts, session: first.session! }, frame, connected);
    assert.equal(again.reused, true);
    assert.ok(connected(again.received), again.received.toString());
  });

  test('a ticket from before a key rotation gives a full handshake, not an error; the next one resumes', async () => {
    const opts = { port: t.port('ssl:mtls'), ...client() };
    const first = await tlsExchange(opts, connectPacket('rot-1'), hasConnack);
    assert.ok(first.session);
    t.node.transport.rotateTicketKeys('ssl:mtls');
    const afterRotation = await tlsExchange({ ...opts, session: first.session! }, connectPacket('rot-2'), hasConnack);
    assert.equal(afterRotation.reused, false);
    assert.ok(hasConnack(afterRotation.received));
    const resumed = await tlsExchange({ ...opts, session: afterRotation.session! }, connectPacket('rot-3'), hasConnack);
    assert.equal(resumed.reused, true);
  });

  test('a resumed session of a certificate revoked since is refused (RFC 5280 §6.3 checked on resumption)', async () => {
    await pki.issue('device-late', '/O=Gatehouse Test/CN=device-late');
    const opts = { port: t.port('ssl:crl'), ca: readFileSync(certs.caCert), cert: readFileSync(pki.chain('device-late')), key: readFileSync(pki.key('device-late')) };
    const first = await tlsExchange(opts, connectPacket('late-1'), hasConnack);
    assert.ok(hasConnack(first.received) && first.session, first.error);
    const resumedBefore = await tlsExchange({ ...opts, session: first.session! }, connectPacket('late-2'), hasConnack);
    assert.equal(resumedBefore.reused, true);
    assert.ok(hasConnack(resumedBefore.received));

    await pki.revoke('device-late');
    const listener = t.node.listeners.get('ssl:crl')!;
    await t.node.listeners.update({ ...listener.spec }); // re-reads crlfile, keeps the ticket keys
    const resumedAfter = await tlsExchange({ ...opts, session: resumedBefore.session ?? first.session! }, connectPacket('late-3'), hasConnack);
    assert.equal(hasConnack(resumedAfter.received), false);
    assert.ok(
      t.logs.lines.some((l) => l['listener'] === 'ssl:crl' && /client certificate refused on session resumption: CERT_REVOKED/.test(String(l['reason']))),
      t.logs.text(),
    );
    const full = await tlsExchange(opts, connectPacket('late-4'), hasConnack);
    assert.equal(hasConnack(full.received), false, 'a full handshake is refused by OpenSSL too');
  });
});

describe('peer_cert_as_* fails closed (a deliberate difference from EMQX)', () => {
  let dir: string;
  let certs: DevCertPaths;
  let pki: TestPki;
  let t: TestNode;
  const authn = new RecordingAuthn();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-certid-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    pki = await makePki(dir);
    await pki.issue('good', '/O=Gatehouse Test/CN=good-device');
    await pki.issue('san-only', '/O=Gatehouse Test/OU=No CN', 'subjectAltName=DNS:san-only.example.test');
    await pki.issueWithCn('nul-cn', Buffer.from('dev\u0000ice', 'utf8'));
    await pki.issueWithCn('long-cn', Buffer.from('x'.repeat(2000)));
    const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${pki.cas}", verify = verify_peer, fail_if_no_peer_cert = true }`;
    t = await startTestNode(
      [
        `listeners.ssl.id { bind = "127.0.0.1:0", ${ssl} }`,
        `listeners.wss.id { bind = "127.0.0.1:0", ${ssl} }`,
        'mqtt { peer_cert_as_username = cn, peer_cert_as_clientid = cn, max_clientid_len = 256 }',
        `gateway.stomp { clientinfo_override { username = "\${ClientInfo.cn}" }, listeners.ssl.id { bind = "127.0.0.1:0", ${ssl} } }`,
      ].join('\n'),
      { authn },
    );
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const withCert = (name: string, extra: Record<string, unknown> = {}) => ({
    ca: readFileSync(certs.caCert),
    cert: readFileSync(pki.chain(name)),
    key: readFileSync(pki.key(name)),
    reconnectPeriod: 0,
    ...extra,
  });
  const refusal = (listener: string, detail: RegExp) =>
    t.logs.lines.find((l) => l['msg'] === 'connection refused' && l['listener'] === listener && detail.test(String(l['detail'] ?? l['reason'])));

  test('a certificate with a CN is admitted under it (username and client id)', async () => {
    assert.equal(await connackCode(t.url('ssl:id'), withCert('good', { clientId: 'claimed-id', username: 'claimed-user', protocolVersion: 5 })), 0);
    const c = await authn.credentialOf('good-device');
    assert.equal(c.username, 'good-device');
  });

  test('SAN-only certificate: CONNACK 0x86 on MQTT 5, return code 4 on 3.1.1, never the username the client sent', async () => {
    assert.equal(await connackCode(t.url('ssl:id'), withCert('san-only', { clientId: 'san5', username: 'admin', protocolVersion: 5 })), 0x86);
    assert.equal(await connackCode(t.url('wss:id'), withCert('san-only', { clientId: 'san4', username: 'admin', protocolVersion: 4 })), 4);
    assert.equal(authn.seen.some((c) => c.username === 'admin'), false);
    const line = refusal('ssl:id', /mqtt\.peer_cert_as_username = cn: the certificate has no cn/);
    assert.ok(line, t.logs.text());
    assert.equal(line['reason_code'], 0x86);
    assert.ok(refusal('wss:id', /peer_cert_as_username = cn: the certificate has no cn/), t.logs.text());
  });

  // (A UTF8String CN that is not UTF-8 cannot be tested end to end: OpenSSL refuses to parse
  // such a certificate, in `openssl x509` as in the handshake.)
  test('a CN with U+0000 is refused, naming the field and the fault', async () => {
    assert.equal(await connackCode(t.url('ssl:id'), withCert('nul-cn', { protocolVersion: 5 })), 0x86);
    assert.ok(refusal('ssl:id', /peer_cert_as_username = cn: cn contains U\+0000/), t.logs.text());
    assert.equal(await connackCode(t.url('ssl:id'), withCert('nul-cn', { protocolVersion: 4 })), 4);
  });

  test('a 2 000-character CN exceeds mqtt.max_clientid_len as a client id and is refused', async () => {
    assert.equal(await connackCode(t.url('ssl:id'), withCert('long-cn', { protocolVersion: 5 })), 0x86);
    assert.ok(refusal('ssl:id', /peer_cert_as_clientid = cn: cn is 2000 bytes, more than 256/), t.logs.text());
    assert.equal(authn.seen.some((c) => c.clientid.startsWith('xxxx')), false);
  });

  test('STOMP ssl: a ${ClientInfo.cn} username template with a SAN-only certificate gets ERROR and the connection closes', async () => {
    const frame = encodeFrame({ command: 'CONNECT', headers: [['accept-version', '1.2'], ['host', 'gatehouse'], ['login', 'admin']], body: Buffer.alloc(0) }, '1.2');
    let closed = false;
    const r = await tlsExchange({ port: t.port('stomp:ssl:id'), ...withCert('san-only') }, frame, (b) => b.includes(0)).then((x) => ((closed = true), x));
    assert.ok(closed);
    assert.match(r.received.toString('latin1'), /^ERROR\n[\s\S]*message:Login Failed: bad_username_or_password/);
    assert.ok(refusal('stomp:ssl:id', /clientinfo_override\.username \$\{ClientInfo\.cn\}: the certificate has no cn/), t.logs.text());
    const good = await tlsExchange({ port: t.port('stomp:ssl:id'), ...withCert('good') }, frame, (b) => b.includes(0));
    assert.match(good.received.toString('latin1'), /^CONNECTED/);
  });
});

describe('CRLs for a root → intermediate chain (enable_crl_check, crlfile)', () => {
  let dir: string;
  let certs: DevCertPaths;
  let pki: TestPki;
  let t: TestNode;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-crlchain-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    pki = await makePki(dir);
    await pki.issue('kept', '/O=Gatehouse Test/CN=kept');
    await pki.issue('gone', '/O=Gatehouse Test/CN=gone');
    await pki.revoke('gone');
    const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${pki.cas}", verify = verify_peer, fail_if_no_peer_cert = true, enable_crl_check = true, crlfile = "${pki.crls}" }`;
    t = await startTestNode(
      [
        `listeners.ssl.crl { bind = "127.0.0.1:0", ${ssl} }`,
        `listeners.wss.crl { bind = "127.0.0.1:0", ${ssl} }`,
        `gateway.stomp { listeners.ssl.crl { bind = "127.0.0.1:0", ${ssl} } }`,
      ].join('\n'),
    );
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const opts = (name: string) => ({ ca: readFileSync(certs.caCert), cert: readFileSync(pki.chain(name)), key: readFileSync(pki.key(name)), reconnectPeriod: 0 });
  const refused = (listener: string, reason: RegExp) =>
    t.logs.lines.some((l) => l['msg'] === 'connection refused' && l['listener'] === listener && reason.test(String(l['reason'])));

  test('ssl and wss: both CRLs of one file are loaded; a good leaf is admitted, a revoked one refused (CERT_REVOKED)', async () => {
    for (const listener of ['ssl:crl', 'wss:crl']) {
      assert.equal(await connackCode(t.url(listener), opts('kept')), 0, listener);
      await assert.rejects(connackCode(t.url(listener), opts('gone')));
      assert.ok(refused(listener, /client certificate refused: CERT_REVOKED/), t.logs.text());
      assert.equal(refused(listener, /UNABLE_TO_GET_CRL/), false);
    }
  });

  test('STOMP ssl: the good leaf gets CONNECTED, the revoked one fails the handshake', async () => {
    const frame = encodeFrame({ command: 'CONNECT', headers: [['accept-version', '1.2'], ['host', 'gatehouse']], body: Buffer.alloc(0) }, '1.2');
    const good = await tlsExchange({ port: t.port('stomp:ssl:crl'), ...opts('kept') }, frame, (b) => b.includes(0));
    assert.match(good.received.toString('latin1'), /^CONNECTED/);
    const bad = await tlsExchange({ port: t.port('stomp:ssl:crl'), ...opts('gone') }, frame, (b) => b.includes(0));
    assert.equal(bad.received.length, 0);
    assert.ok(refused('stomp:ssl:crl', /client certificate refused: CERT_REVOKED/), t.logs.text());
  });

  test('a listener update re-reads crlfile: a leaf revoked since is refused without a restart', async () => {
    await pki.issue('later', '/O=Gatehouse Test/CN=later');
    assert.equal(await connackCode(t.url('ssl:crl'), opts('later')), 0);
    await pki.revoke('later');
    const listener = t.node.listeners.get('ssl:crl')!;
    await t.node.listeners.update({ ...listener.spec });
    await assert.rejects(connackCode(t.url('ssl:crl'), opts('later')));
  });

  test('a CA of cacertfile without a CRL is named by the configuration check and stops the start', async () => {
    const onlyRoot = join(dir, 'root-only.crl');
    writeFileSync(onlyRoot, readFileSync(join(dir, 'root.crl')));
    const text = `listeners.ssl.x { bind = "127.0.0.1:0", ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${pki.cas}", verify = verify_peer, enable_crl_check = true, crlfile = "${onlyRoot}" } }`;
    assert.throws(
      () => loadConfigText(text, { checks: configChecks() }),
      (err: ConfigError) =>
        err.problems.some((p) => p.path === 'listeners.ssl.x.ssl_options' && /no CRL for "CN=Trust Intermediate \(TEST ONLY\)" of ssl_options\.cacertfile/.test(p.message)),
    );
    await assert.rejects(startTestNode(text), /no CRL for "CN=Trust Intermediate \(TEST ONLY\)"/);
  });

  test('crl_cache and unsupported ssl_options are refused with "not supported yet", not ignored', () => {
    assert.throws(
      () => loadConfigText('crl_cache { refresh_interval = 15m }\nlisteners.ssl.x.ssl_options { dhfile = "dh.pem", secure_renegotiate = false }', { checks: configChecks() }),
      (err: ConfigError) =>
        ['crl_cache', 'listeners.ssl.x.ssl_options.dhfile', 'listeners.ssl.x.ssl_options.secure_renegotiate'].every((path) =>
          err.problems.some((p) => p.path === path && /not supported yet/.test(p.message)),
        ),
    );
  });
});
