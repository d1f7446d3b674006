// Issue 13: TLS listeners an operator can trust. Session resumption (RFC 5077, RFC 8446 §2.2,
// §4.6.1) with and without client certificates, revocation across a root → intermediate chain
// (RFC 5280 §6.3), renegotiation (RFC 5246 §7.4.1.2), TLS errors after the handshake.
// Clients: Python's ssl module, openssl s_client and node's tls, over real sockets on port 0.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadConfigText, ConfigError } from '../../src/config/load.js';
import { nodeConfigChecks as configChecks } from '../../src/main.js';
import { filePermissionWarnings } from '../../src/checks.js';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { connackCode, startTestNode, type TestNode } from '../helpers/node.js';
import { encodeFrame } from '../../gateways/stomp/frame.js';
import { CONNACK_OK, connectPacket, RecordingAuthn, run, tlsExchange, tlsListenersConf } from './support.js';
import { makePki, type TestPki } from './pki.js';
import { startApiNode, type ApiNode } from '../api/helpers.js';

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

const hasConnack = (b: Buffer) => b.includes(CONNACK_OK);

/** A temp directory with the development server certificates and a root → intermediate PKI. */
async function trustFixture(prefix: string): Promise<{ dir: string; certs: DevCertPaths; pki: TestPki }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, certs: await generateDevCertificates(join(dir, 'dev')), pki: await makePki(dir) };
}

describe('TLS session resumption (reuse_sessions)', () => {
  let dir: string;
  let certs: DevCertPaths;
  let pki: TestPki;
  let t: TestNode;
  const authn = new RecordingAuthn();

  before(async () => {
    ({ dir, certs, pki } = await trustFixture('gatehouse-resume-'));
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

  test('TLS 1.2 resumption by session ID alone (openssl s_client -no_ticket, RFC 5246 §7.4.1.2)', async () => {
    const sess = join(dir, 's_client-no-ticket.sess');
    const args = (io: string[]) => ['s_client', '-connect', `127.0.0.1:${t.port('ssl:mtls')}`, '-CAfile', certs.caCert, '-cert', pki.chain('device-b'), '-key', pki.key('device-b'), '-tls1_2', '-no_ticket', ...io];
    const first = await run('openssl', args(['-sess_out', sess]), { input: connectPacket('sid-first'), keepStdinOpenMs: 800, timeoutMs: 6000 });
    assert.match(first.stdout, /^New, /m, first.stdout);
    assert.doesNotMatch(first.stdout, /TLS session ticket:/, 'no ticket was issued');
    const second = await run('openssl', args(['-sess_in', sess]), { input: connectPacket('sid-again'), keepStdinOpenMs: 800, timeoutMs: 6000 });
    assert.match(second.stdout, /^Reused, /m, second.stdout);
    assert.ok(second.stdoutBytes.includes(CONNACK_OK), second.stdout);
    assert.equal((await authn.credentialOf('sid-again')).username, 'device-b');
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
    ({ dir, certs, pki } = await trustFixture('gatehouse-certid-'));
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
    ({ dir, certs, pki } = await trustFixture('gatehouse-crlchain-'));
    await pki.issue('kept', '/O=Gatehouse Test/CN=kept');
    await pki.issue('gone', '/O=Gatehouse Test/CN=gone');
    await pki.revoke('gone');
    const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${pki.cas}", verify = verify_peer, fail_if_no_peer_cert = true, enable_crl_check = true, crlfile = "${pki.crls}" }`;
    t = await startTestNode(
      tlsListenersConf('crl', ssl).join('\n'),
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

  test('unsupported ssl_options are refused with "not supported yet", not ignored', () => {
    assert.throws(
      () => loadConfigText('listeners.ssl.x.ssl_options { dhfile = "dh.pem", secure_renegotiate = false }', { checks: configChecks() }),
      (err: ConfigError) =>
        ['listeners.ssl.x.ssl_options.dhfile', 'listeners.ssl.x.ssl_options.secure_renegotiate'].every((path) =>
          err.problems.some((p) => p.path === path && /not supported yet/.test(p.message)),
        ),
    );
  });
});

/** openssl s_client driven through stdin, each step waiting for what the previous one printed. */
class SClient {
  private out = '';
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn('openssl', ['s_client', '-msg', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const take = (d: Buffer) => {
      this.out += d.toString('latin1');
      for (const w of [...this.waiters]) w();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => (resolve(code), [...this.waiters].forEach((w) => w()))));
  }

  get output(): string {
    return this.out;
  }

  count(text: string): number {
    return this.out.split(text).length - 1;
  }

  send(data: Buffer | string): void {
    this.child.stdin!.write(data);
  }

  /** Resolves once the output satisfies `ok` (rejects if s_client exits first, or after 15 s). */
  until(ok: (out: string) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ok(this.out)) done();
        else if (this.child.exitCode !== null) done(new Error(`s_client exited before ${what}:\n${this.out}`));
      };
      const timer = setTimeout(() => done(new Error(`no ${what} within 15 s:\n${this.out}`)), 15000);
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  stop(): void {
    this.child.kill();
  }
}

describe('client renegotiation (RFC 5246 §7.4.1.2) and TLS errors after the handshake', () => {
  let dir: string;
  let certs: DevCertPaths;
  let t: TestNode;
  const SERVER_FINISHED = '<<< TLS 1.2, Handshake [length 0010], Finished';
  const CONNACK = '\x20\x02\x00\x00';
  const PINGREQ = Buffer.from([0xc0, 0x00]);
  const PINGRESP = '\xd0\x00';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-reneg-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    const ssl = (extra: string) => `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}"${extra} }`;
    t = await startTestNode(
      [
        `listeners.ssl.reneg { bind = "127.0.0.1:0", ${ssl('')} }`,
        `listeners.ssl.noreneg { bind = "127.0.0.1:0", ${ssl(', client_renegotiation = false')} }`,
        `gateway.stomp { listeners.ssl.reneg { bind = "127.0.0.1:0", ${ssl('')} } }`,
      ].join('\n'),
    );
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const closedWith = (listener: string, reason: RegExp) =>
    t.logs.lines.filter((l) => l['msg'] === 'connection closed' && l['listener'] === listener && reason.test(String(l['reason'])));

  const connected = async (listener: string, version: string) => {
    const c = new SClient(['-connect', `127.0.0.1:${t.port(listener)}`, version, '-CAfile', certs.caCert]);
    await c.until((o) => o.includes('Verify return code: 0'), 'handshake');
    c.send(connectPacket(`reneg-${listener}-${version}`));
    await c.until((o) => o.includes(CONNACK), 'CONNACK');
    return c;
  };

  test('client_renegotiation = true (default): node\'s limit of 3 per 10 minutes applies; the 4th closes the connection, logged once', async () => {
    const c = await connected('ssl:reneg', '-tls1_2');
    try {
      for (let i = 1; i <= tls.CLIENT_RENEG_LIMIT; i++) {
        c.send('R\n');
        await c.until(() => c.count(SERVER_FINISHED) === i + 1, `renegotiation ${i}`);
      }
      c.send(PINGREQ);
      await c.until((o) => o.includes(PINGRESP), 'PINGRESP after 3 renegotiations');
      c.send('R\n');
      await c.exited;
      assert.equal(c.count(SERVER_FINISHED), tls.CLIENT_RENEG_LIMIT + 1, 'the 4th renegotiation never completed');
      assert.equal(closedWith('ssl:reneg', /client renegotiated more than 3 times in 600 s/).length, 1, t.logs.text());
    } finally {
      c.stop();
    }
  });

  test('STOMP ssl listeners get the same limit', async () => {
    const c = new SClient(['-connect', `127.0.0.1:${t.port('stomp:ssl:reneg')}`, '-tls1_2', '-CAfile', certs.caCert]);
    try {
      await c.until((o) => o.includes('Verify return code: 0'), 'handshake');
      for (let i = 1; i <= tls.CLIENT_RENEG_LIMIT; i++) {
        c.send('R\n');
        await c.until(() => c.count(SERVER_FINISHED) === i + 1, `renegotiation ${i}`);
      }
      c.send('R\n');
      await c.exited;
      assert.equal(closedWith('stomp:ssl:reneg', /client renegotiated more than 3 times/).length, 1, t.logs.text());
    } finally {
      c.stop();
    }
  });

  test('client_renegotiation = false: the first renegotiation is answered no_renegotiation (RFC 5246 §7.2.2) and never happens', async () => {
    const c = await connected('ssl:noreneg', '-tls1_2');
    try {
      c.send('R\n');
      await c.until((o) => o.includes('<<< TLS 1.2, Alert [length 0002], warning no_renegotiation'), 'no_renegotiation alert');
      await c.exited; // s_client gives up on its own renegotiation with a fatal alert
      assert.equal(c.count(SERVER_FINISHED), 1);
      assert.equal(closedWith('ssl:noreneg', /TLS error/).length, 1, t.logs.text());
    } finally {
      c.stop();
    }
  });

  test('TLS 1.3 (no renegotiation, RFC 8446 §4.6.3 KeyUpdate instead): five key updates leave the connection open', async () => {
    const c = await connected('ssl:reneg', '-tls1_3');
    try {
      for (let i = 1; i <= 5; i++) {
        c.send('K\n'); // KeyUpdate with update_requested: the server answers with its own on its next write
        await c.until(() => c.count('>>> TLS 1.3, Handshake [length 0005], KeyUpdate') === i, `client KeyUpdate ${i}`);
        c.send(PINGREQ);
        await c.until(() => c.count(PINGRESP) === i, `PINGRESP ${i}`);
      }
      assert.equal(c.count('<<< TLS 1.3, Handshake [length 0005], KeyUpdate'), 5, 'the server updated its keys each time');
    } finally {
      c.stop();
    }
  });

  test('a corrupt TLS record after CONNACK closes the connection at once and is logged once', async () => {
    const raw = net.connect(t.port('ssl:reneg'), '127.0.0.1');
    const secure = tls.connect({ socket: raw, servername: 'localhost', ca: readFileSync(certs.caCert) });
    let got = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => secure.write(connectPacket('corrupt-1')));
      secure.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.includes(CONNACK_OK)) resolve();
      });
      secure.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    secure.on('error', () => {});
    // An application_data record whose MAC cannot verify (RFC 5246 §6.2.3 / RFC 8446 §5.2: bad_record_mac).
    raw.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0x5a)]));
    await closed;
    const lines = t.logs.lines.filter((l) => l['msg'] === 'connection closed' && l['listener'] === 'ssl:reneg' && /TLS error: .*(bad record mac|decryption failed|BAD_RECORD_MAC|DECRYPTION)/i.test(String(l['reason'])));
    assert.equal(lines.length, 1, t.logs.text());
  });
});

describe('a listener update whose certificates cannot be loaded (API)', () => {
  let dir: string;
  let certs: DevCertPaths;
  let api: ApiNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tlsapi-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    writeFileSync(join(dir, 'bad.pem'), 'this is not PEM\n');
    api = await startApiNode(`listeners.ssl.api { bind = "127.0.0.1:0", ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}" } }`);
  });
  after(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers 400 naming the file and the fault; the listener keeps serving its old certificate', async () => {
    const put = (ssl: Record<string, string>) => api.call('PUT', '/listeners/ssl%3Aapi', { ssl_options: { certfile: certs.serverCert, keyfile: certs.serverKey, ...ssl } });
    const mismatched = await put({ keyfile: certs.clientKey });
    assert.equal(mismatched.status, 400, mismatched.text);
    assert.match(mismatched.body.message, /keyfile does not belong to certfile/);
    const missing = await put({ keyfile: join(dir, 'missing-key.pem') });
    assert.equal(missing.status, 400, missing.text);
    assert.match(missing.body.message, /ssl_options\.keyfile: cannot read .*missing-key\.pem \(no such file/);
    const badPem = await put({ certfile: join(dir, 'bad.pem') });
    assert.equal(badPem.status, 400, badPem.text);
    assert.match(badPem.body.message, /ssl_options\.certfile .*bad\.pem: no "BEGIN CERTIFICATE" block/);
    assert.equal(await connackCode(`mqtts://localhost:${api.port('ssl:api')}`, { ca: readFileSync(certs.caCert), reconnectPeriod: 0 }), 0);
  });
});

describe('private files: the data directory and what is in it', () => {
  test('a new data directory is created 0700 and the database, WAL and shared-memory files 0600', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'gatehouse-modes-'));
    const dataDir = join(parent, 'data');
    const t = await startTestNode('', { dataDir });
    try {
      t.node.store.users.insert('mqtt:global', { user_id: 'mode-user', password_hash: 'x', salt: '', is_superuser: false });
      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      for (const name of ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm']) {
        assert.equal(statSync(join(dataDir, name)).mode & 0o777, 0o600, name);
      }
    } finally {
      await t.stop();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test('an existing world-readable database is made 0600 when opened', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-modes-old-'));
    writeFileSync(join(dataDir, 'gatehouse.db'), '');
    chmodSync(join(dataDir, 'gatehouse.db'), 0o644);
    const t = await startTestNode('', { dataDir });
    try {
      assert.equal(statSync(join(dataDir, 'gatehouse.db')).mode & 0o777, 0o600);
    } finally {
      await t.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('check-config warns about a data directory, a file in it, or a key file that others can read', async () => {
    const base = mkdtempSync(join(tmpdir(), 'gatehouse-modes-check-'));
    try {
      const certs = await generateDevCertificates(join(base, 'certs'));
      mkdirSync(join(base, 'data'), { mode: 0o755 });
      chmodSync(join(base, 'data'), 0o755);
      writeFileSync(join(base, 'data', 'gatehouse.db'), '');
      chmodSync(join(base, 'data', 'gatehouse.db'), 0o644);
      chmodSync(certs.serverKey, 0o644);
      const config = loadConfigText(
        `node.data_dir = "data"\nlisteners.ssl.k { bind = "127.0.0.1:0", ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}" } }`,
        { checks: configChecks() },
      );
      const warnings = filePermissionWarnings(config, base);
      assert.ok(warnings.some((w) => /^node\.data_dir .*data is open to other users \(mode 755\)/.test(w)), warnings.join('\n'));
      assert.ok(warnings.some((w) => /gatehouse\.db is readable by other users \(mode 644\)/.test(w)), warnings.join('\n'));
      assert.ok(warnings.some((w) => /^listeners\.ssl\.k\.ssl_options\.keyfile .* is readable by other users \(mode 644\)/.test(w)), warnings.join('\n'));
      chmodSync(join(base, 'data'), 0o700);
      chmodSync(join(base, 'data', 'gatehouse.db'), 0o600);
      chmodSync(certs.serverKey, 0o600);
      assert.deepEqual(filePermissionWarnings(config, base), []);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
