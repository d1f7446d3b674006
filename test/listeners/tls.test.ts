import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { connect, endClient, LogCapture, nextMessage, publish, startTestNode, subscribe, type TestNode } from '../helpers/node.js';
import { loadConfigText } from '../../src/config/load.js';
import { startGatehouse } from '../../src/main.js';
import { existsSync } from 'node:fs';
import { CONNACK_OK, connectPacket, rawExchange, RecordingAuthn, run } from './support.js';

const PSK_SECRET = 'gatehouse-psk-secret-01';

function sslBlock(c: DevCertPaths, extra = ''): string {
  return `ssl_options { certfile = "${c.serverCert}", keyfile = "${c.serverKey}", cacertfile = "${c.caCert}"${extra ? `, ${extra}` : ''} }`;
}

describe('TLS listeners', () => {
  let dir: string;
  let certs: DevCertPaths;
  let certs2: DevCertPaths;
  let t: TestNode;
  const authn = new RecordingAuthn();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
    certs = await generateDevCertificates(join(dir, 'one'));
    certs2 = await generateDevCertificates(join(dir, 'two'));
    writeFileSync(join(dir, 'psk.txt'), `dev-psk-1:${PSK_SECRET}\nother:abc\n`);
    const bind = 'bind = "127.0.0.1:0"';
    t = await startTestNode(
      [
        `listeners.ssl.default { ${bind}, ${sslBlock(certs)} }`,
        `listeners.wss.default { ${bind}, ${sslBlock(certs)} }`,
        `listeners.ssl.mtls { ${bind}, enable_authn = false, ${sslBlock(certs, 'verify = verify_peer, fail_if_no_peer_cert = true')} }`,
        `listeners.ssl.optional { ${bind}, ${sslBlock(certs, 'verify = verify_peer')} }`,
        `listeners.ssl.crl { ${bind}, ${sslBlock(certs, `verify = verify_peer, fail_if_no_peer_cert = true, enable_crl_check = true, crlfile = "${certs.crl}"`)} }`,
        `listeners.ssl.psk { ${bind}, ${sslBlock(certs, 'versions = ["tlsv1.2"], ciphers = ["PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"]')} }`,
        `listeners.ssl.stall { ${bind}, ${sslBlock(certs, 'handshake_timeout = "400ms"')} }`,
        `listeners.ssl.reload { ${bind}, ${sslBlock(certs)} }`,
        `listeners.ssl.v13 { ${bind}, ${sslBlock(certs, 'versions = ["tlsv1.3"]')} }`,
        `listeners.ssl.v12 { ${bind}, ${sslBlock(certs, 'versions = ["tlsv1.2"], ciphers = ["ECDHE-ECDSA-AES256-GCM-SHA384"]')} }`,
        `psk_authentication { enable = true, init_file = "${join(dir, 'psk.txt')}" }`,
        'mqtt.peer_cert_as_username = cn',
      ].join('\n'),
      { authn },
    );
  });

  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const mosquittoTls = (port: number, clientId: string, extra: string[] = []) =>
    run('mosquitto_pub', ['-h', 'localhost', '-p', String(port), '--cafile', certs.caCert, '-V', 'mqttv311', '-i', clientId, '-t', 'gh/tls', '-m', 'hi', ...extra]);

  test('mosquitto_pub over TLS without a client certificate', async () => {
    const r = await mosquittoTls(t.port('ssl:default'), 'mosq-tls');
    assert.equal(r.code, 0, r.stderr);
    const c = await authn.credentialOf('mosq-tls');
    assert.equal(c.listener, 'ssl:default');
    assert.equal(c.cert_common_name, undefined);
  });

  test('mosquitto_sub over TLS receives what an mqtt.js client publishes over TLS', async () => {
    const sub = run('mosquitto_sub', ['-h', 'localhost', '-p', String(t.port('ssl:default')), '--cafile', certs.caCert, '-i', 'mosq-sub', '-t', 'gh/sub', '-C', '1', '-W', '8']);
    await authn.credentialOf('mosq-sub');
    await new Promise((r) => setTimeout(r, 200)); // let the SUBSCRIBE land
    const pub = await connect(t.url('ssl:default'), { ca: readFileSync(certs.caCert), clientId: 'mqttjs-ssl' });
    await publish(pub, 'gh/sub', 'over-tls', { qos: 1 });
    const r = await sub;
    await endClient(pub);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'over-tls');
  });

  test('mTLS-only listener: a CA-signed client certificate connects with no password, identified by its CN', async () => {
    const r = await mosquittoTls(t.port('ssl:mtls'), 'mosq-mtls', ['--cert', certs.clientCert, '--key', certs.clientKey]);
    assert.equal(r.code, 0, r.stderr);
    const c = await authn.credentialOf('mosq-mtls');
    assert.equal(c.username, 'device-001');
    assert.equal(c.password, undefined);
    assert.equal(c.enable_authn, false);
    assert.equal(c.cert_common_name, 'device-001');
    assert.equal(c.cert_subject, 'EMAILADDRESS=device-001@example.test,CN=device-001,OU=Devices,O=Gatehouse Dev,L=Stockholm,ST=Stockholm,C=SE');
    assert.equal(c.cert_pem, new X509Certificate(readFileSync(certs.clientCert)).raw.toString('base64'));
  });

  test('mTLS-only listener: mosquitto without a certificate, or with one from another CA, fails', async () => {
    const none = await mosquittoTls(t.port('ssl:mtls'), 'mosq-nocert');
    assert.notEqual(none.code, 0);
    const rogue = await mosquittoTls(t.port('ssl:mtls'), 'mosq-rogue', ['--cert', certs.untrustedClientCert, '--key', certs.untrustedClientKey]);
    assert.notEqual(rogue.code, 0);
    assert.equal(authn.seen.some((c) => c.clientid === 'mosq-nocert' || c.clientid === 'mosq-rogue'), false);
  });

  /** openssl s_client sending a CONNECT; returns what came back and the log reason. */
  async function sClient(listener: string, args: string[]) {
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${t.port(listener)}`, '-CAfile', certs.caCert, '-quiet', ...args], {
      input: connectPacket(`sc-${listener}`),
      keepStdinOpenMs: 1500,
      timeoutMs: 6000,
    });
    return r;
  }

  const refusedWith = (listener: string, reason: RegExp) =>
    t.logs.lines.some((l) => l['msg'] === 'connection refused' && l['listener'] === listener && reason.test(String(l['reason'])));

  test('openssl s_client: no certificate on a fail_if_no_peer_cert listener is refused in the handshake', async () => {
    const r = await sClient('ssl:mtls', []);
    assert.equal(r.stdoutBytes.includes(CONNACK_OK), false);
    assert.match(r.stderr, /certificate required|alert/i);
    assert.ok(refusedWith('ssl:mtls', /no certificate/), t.logs.text());
  });

  test('openssl s_client: a certificate from an untrusted CA is refused', async () => {
    const r = await sClient('ssl:mtls', ['-cert', certs.untrustedClientCert, '-key', certs.untrustedClientKey]);
    assert.equal(r.stdoutBytes.includes(CONNACK_OK), false);
    assert.ok(refusedWith('ssl:mtls', /client certificate refused: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/), t.logs.text());
  });

  test('openssl s_client: a revoked certificate is refused with enable_crl_check, a good one gets CONNACK', async () => {
    const revoked = await sClient('ssl:crl', ['-cert', certs.revokedClientCert, '-key', certs.revokedClientKey]);
    assert.equal(revoked.stdoutBytes.includes(CONNACK_OK), false);
    assert.ok(refusedWith('ssl:crl', /client certificate refused: CERT_REVOKED/), t.logs.text());
    const good = await sClient('ssl:crl', ['-cert', certs.clientCert, '-key', certs.clientKey]);
    assert.ok(good.stdoutBytes.includes(CONNACK_OK), good.stderr);
  });

  test('versions and ciphers: a protocol or suite the listener does not offer fails the handshake', async () => {
    const v13 = await sClient('ssl:v13', ['-tls1_3']);
    assert.ok(v13.stdoutBytes.includes(CONNACK_OK), v13.stderr);
    const v13old = await sClient('ssl:v13', ['-tls1_2']);
    assert.equal(v13old.stdoutBytes.includes(CONNACK_OK), false);
    assert.ok(refusedWith('ssl:v13', /TLS handshake failed/), t.logs.text());
    const suite = await sClient('ssl:v12', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
    assert.ok(suite.stdoutBytes.includes(CONNACK_OK), suite.stderr);
    const otherSuite = await sClient('ssl:v12', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']);
    assert.equal(otherSuite.stdoutBytes.includes(CONNACK_OK), false);
    const v12new = await sClient('ssl:v12', ['-tls1_3']);
    assert.equal(v12new.stdoutBytes.includes(CONNACK_OK), false);
    assert.ok(refusedWith('ssl:v12', /TLS handshake failed/), t.logs.text());
  });

  test('verify_peer without fail_if_no_peer_cert: no certificate is fine, a good one identifies, a bad one is refused', async () => {
    const ca = readFileSync(certs.caCert);
    const anon = await connect(t.url('ssl:optional'), { ca, clientId: 'opt-none' });
    await endClient(anon);
    assert.equal((await authn.credentialOf('opt-none')).cert_common_name, undefined);
    const withCert = await connect(t.url('ssl:optional'), { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), clientId: 'opt-cert' });
    await endClient(withCert);
    assert.equal((await authn.credentialOf('opt-cert')).username, 'device-001');
    await assert.rejects(
      connect(t.url('ssl:optional'), { ca, cert: readFileSync(certs.untrustedClientCert), key: readFileSync(certs.untrustedClientKey), clientId: 'opt-rogue' }),
    );
    assert.equal(authn.seen.some((c) => c.clientid === 'opt-rogue'), false);
  });

  test('mqtt.js over wss: subscribe and publish through TLS WebSocket', async () => {
    const client = await connect(t.url('wss:default'), { ca: readFileSync(certs.caCert), clientId: 'mqttjs-wss' });
    await subscribe(client, 'gh/wss');
    const got = nextMessage(client, 'gh/wss');
    await publish(client, 'gh/wss', 'hello-wss');
    assert.equal((await got).payload.toString(), 'hello-wss');
    await endClient(client);
    const c = await authn.credentialOf('mqttjs-wss');
    assert.equal(c.listener, 'wss:default');
  });

  test('TLS-PSK: mosquitto with a known identity connects and authentication sees psk_identity; unknown or wrong key fails', async () => {
    const hex = Buffer.from(PSK_SECRET).toString('hex');
    const port = String(t.port('ssl:psk'));
    const psk = (id: string, identity: string, key: string) =>
      run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '--psk', key, '--psk-identity', identity, '-V', 'mqttv311', '-i', id, '-t', 'gh/psk', '-m', 'x']);
    const ok = await psk('psk-ok', 'dev-psk-1', hex);
    assert.equal(ok.code, 0, ok.stderr);
    const c = await authn.credentialOf('psk-ok');
    assert.equal(c.psk_identity, 'dev-psk-1');
    assert.equal((await psk('psk-unknown', 'nobody', hex)).code === 0, false);
    assert.equal((await psk('psk-wrong', 'dev-psk-1', 'deadbeefdeadbeef')).code === 0, false);
    assert.equal(authn.seen.some((x) => x.clientid === 'psk-unknown' || x.clientid === 'psk-wrong'), false);
    assert.ok(refusedWith('ssl:psk', /TLS handshake failed/), t.logs.text());
  });

  test('a client that opens TCP and stalls is dropped after handshake_timeout', async () => {
    const started = Date.now();
    const r = await rawExchange(t.port('ssl:stall'), [], { waitMs: 3000 });
    const took = Date.now() - started;
    assert.equal(r.closed, true);
    assert.ok(took >= 350 && took < 2500, `closed after ${took} ms`);
    assert.ok(refusedWith('ssl:stall', /TLS handshake not completed within 400 ms/), t.logs.text());
  });

  test('a client that sends half a ClientHello and stalls is dropped too', async () => {
    const r = await rawExchange(t.port('ssl:stall'), [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])], { waitMs: 3000 });
    assert.equal(r.closed, true);
    assert.equal(r.received.length, 0);
  });

  test('updating ssl_options reloads the certificate for new clients without dropping connected ones', async () => {
    const ca1 = readFileSync(certs.caCert);
    const ca2 = readFileSync(certs2.caCert);
    const port = t.port('ssl:reload');
    const old = await connect(t.url('ssl:reload'), { ca: ca1, clientId: 'reload-old' });
    await subscribe(old, 'gh/reload');
    let closed = false;
    old.on('close', () => (closed = true));

    const listener = t.node.listeners.get('ssl:reload')!;
    await t.node.listeners.update({ ...listener.spec, ssl: { ...listener.spec.ssl!, certfile: certs2.serverCert, keyfile: certs2.serverKey, cacertfile: certs2.caCert } });
    assert.equal(t.node.listeners.get('ssl:reload')!.address()?.port, port, 'same socket, no restart');

    const served = await new Promise<Buffer>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca2 }, () => {
        resolve(s.getPeerX509Certificate()!.raw);
        s.destroy();
      });
      s.once('error', reject);
    });
    assert.deepEqual(served, new X509Certificate(readFileSync(certs2.serverCert)).raw);
    await assert.rejects(connect(t.url('ssl:reload'), { ca: ca1, clientId: 'reload-stale-ca' }));
    const fresh = await connect(t.url('ssl:reload'), { ca: ca2, clientId: 'reload-new' });

    const got = nextMessage(old, 'gh/reload');
    await publish(fresh, 'gh/reload', 'still-here', { qos: 1 });
    assert.equal((await got).payload.toString(), 'still-here');
    assert.equal(closed, false);
    await endClient(fresh);
    await endClient(old);
  });

  test('a reload with an unreadable key keeps the old certificate and reports why', async () => {
    const listener = t.node.listeners.get('ssl:reload')!;
    const before = listener.spec.ssl!;
    await assert.rejects(
      t.node.listeners.update({ ...listener.spec, ssl: { ...before, keyfile: join(dir, 'missing-key.pem') } }),
      /ssl_options\.keyfile: cannot read .*missing-key\.pem \(no such file/,
    );
    assert.deepEqual(t.node.listeners.get('ssl:reload')!.spec.ssl, before, 'the listener keeps its old settings');
    const client = await connect(t.url('ssl:reload'), { ca: readFileSync(certs2.caCert), clientId: 'reload-after-error' });
    await endClient(client);
  });
});

describe('TLS settings errors', () => {
  let dir: string;
  let certs: DevCertPaths;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-bad-'));
    certs = await generateDevCertificates(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a key that does not match the certificate, or an encrypted key without its password, stops the start with a reason', async () => {
    await assert.rejects(
      startTestNode(`listeners.ssl.x { bind = "127.0.0.1:0", ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.clientKey}" } }`),
      /listener ssl:x: ssl_options cannot be loaded: keyfile does not belong to certfile/,
    );
    const { createPrivateKey } = await import('node:crypto');
    const encrypted = createPrivateKey(readFileSync(certs.serverKey)).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'sesame-9' });
    const encPath = join(dir, 'enc-key.pem');
    writeFileSync(encPath, encrypted);
    const err = await startTestNode(`listeners.ssl.x { bind = "127.0.0.1:0", ssl_options { certfile = "${certs.serverCert}", keyfile = "${encPath}" } }`).then(
      (n) => (n.stop(), undefined),
      (e: Error) => e,
    );
    assert.ok(err, 'refused without the password');
    assert.doesNotMatch(err.message, /sesame/);
    const ok = await startTestNode(`listeners.ssl.x { bind = "127.0.0.1:0", ssl_options { certfile = "${certs.serverCert}", keyfile = "${encPath}", password = "sesame-9" } }`);
    const client = await connect(ok.url('ssl:x'), { ca: readFileSync(certs.caCert) });
    await endClient(client);
    await ok.stop();
  });

  test('inline PEM works as well as a path', async () => {
    const pem = (p: string) => JSON.stringify(readFileSync(p, 'utf8'));
    const n = await startTestNode(`listeners.ssl.inline { bind = "127.0.0.1:0", ssl_options { certfile = ${pem(certs.serverCert)}, keyfile = ${pem(certs.serverKey)} } }`);
    const client = await connect(n.url('ssl:inline'), { ca: readFileSync(certs.caCert) });
    await endClient(client);
    await n.stop();
  });
});

/**
 * A TEST-ONLY chain made with the openssl CLI (an implementation independent of ours): a root,
 * two intermediates below it, and client certificates issued by the root, by the first and
 * by the second intermediate. Each `*.chain.pem` holds the leaf followed by its intermediates.
 */
async function intermediateChain(dir: string): Promise<{ root: string; key: (name: string) => string; chain: (name: string) => string }> {
  const f = (name: string) => join(dir, name);
  writeFileSync(f('ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  writeFileSync(f('leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  const openssl = async (args: string[]) => {
    const r = await run('openssl', args);
    assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', f('root.key'), '-out', f('root.pem'), '-subj', '/CN=Depth Root (TEST ONLY)', '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 1;
  const issue = async (name: string, issuer: string, ext: string) => {
    await openssl(['req', '-new', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
    await openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${issuer}.pem`), '-CAkey', f(`${issuer}.key`), '-set_serial', String(++serial),
      '-days', '2', '-extfile', f(ext), '-out', f(`${name}.pem`)]);
  };
  await issue('int1', 'root', 'ca.ext');
  await issue('int2', 'int1', 'ca.ext');
  await issue('leaf0', 'root', 'leaf.ext');
  await issue('leaf1', 'int1', 'leaf.ext');
  await issue('leaf2', 'int2', 'leaf.ext');
  const pem = (name: string) => readFileSync(f(`${name}.pem`), 'utf8');
  writeFileSync(f('leaf0.chain.pem'), pem('leaf0'));
  writeFileSync(f('leaf1.chain.pem'), pem('leaf1') + pem('int1'));
  writeFileSync(f('leaf2.chain.pem'), pem('leaf2') + pem('int2') + pem('int1'));
  return { root: f('root.pem'), key: (name) => f(`${name}.key`), chain: (name) => f(`${name}.chain.pem`) };
}

describe('ssl_options.depth: intermediate CAs a client chain may hold', () => {
  let dir: string;
  let certs: DevCertPaths;
  let chain: Awaited<ReturnType<typeof intermediateChain>>;
  let t: TestNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-depth-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    chain = await intermediateChain(dir);
    const listener = (name: string, depth: number) =>
      `listeners.ssl.${name} { bind = "127.0.0.1:0", enable_authn = false, ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", ` +
      `cacertfile = "${chain.root}", verify = verify_peer, fail_if_no_peer_cert = true, depth = ${depth} } }`;
    t = await startTestNode([listener('depth0', 0), listener('depth1', 1), 'mqtt.peer_cert_as_username = cn'].join('\n'));
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** CONNECT over TLS with the leaf's chain; true on CONNACK 0. */
  const connacked = (listener: string, leaf: string) =>
    new Promise<boolean>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: t.port(listener),
        servername: 'localhost',
        ca: readFileSync(certs.caCert),
        cert: readFileSync(chain.chain(leaf)),
        key: readFileSync(chain.key(leaf)),
      });
      let got = Buffer.alloc(0);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), 4000);
      socket.on('secureConnect', () => socket.write(connectPacket(`${listener}-${leaf}`)));
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 4) done(got.subarray(0, 4).equals(CONNACK_OK));
      });
      socket.on('error', () => done(false));
      socket.on('close', () => done(false));
    });

  const refused = (listener: string, reason: RegExp) =>
    t.logs.lines.some((l) => l['msg'] === 'connection refused' && l['listener'] === listener && reason.test(String(l['reason'])));

  test('depth 0: only certificates the root signed itself', async () => {
    assert.equal(await connacked('ssl:depth0', 'leaf0'), true);
    assert.equal(await connacked('ssl:depth0', 'leaf1'), false);
    assert.ok(refused('ssl:depth0', /chain has 1 intermediate CAs, more than depth 0/), t.logs.text());
  });

  test('depth 1: one intermediate is accepted, two are refused', async () => {
    assert.equal(await connacked('ssl:depth1', 'leaf1'), true);
    assert.equal(await connacked('ssl:depth1', 'leaf2'), false);
    assert.ok(refused('ssl:depth1', /chain has 2 intermediate CAs, more than depth 1/), t.logs.text());
  });
});

describe('README recipe: mTLS-only internal listener next to a password listener', () => {
  let dir: string;
  let certs: DevCertPaths;
  let t: TestNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-recipe-'));
    certs = await generateDevCertificates(dir);
    t = await startTestNode(
      [
        'authentication = [{ mechanism = password_based, backend = built_in_database, user_id_type = username }]',
        `listeners.ssl.internal { bind = "127.0.0.1:0", enable_authn = false, ${sslBlock(certs, 'verify = verify_peer, fail_if_no_peer_cert = true')} }`,
        'mqtt.peer_cert_as_username = cn',
      ].join('\n'),
    );
  });
  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the certificate client needs no password on the internal listener; the password listener still demands one', async () => {
    const internal = await connect(t.url('ssl:internal'), {
      ca: readFileSync(certs.caCert),
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
      clientId: 'recipe-device',
    });
    await endClient(internal);
    await assert.rejects(connect(t.url('tcp:default'), { clientId: 'recipe-anon', protocolVersion: 5 }), (err: Error & { code?: number }) => err.code === 0x86 || err.code === 0x87);
  });
});

describe('development certificates at start', () => {
  test('an ssl listener without certificate paths gets the TEST-ONLY set generated under <baseDir>/certs', async () => {
    const base = mkdtempSync(join(tmpdir(), 'gatehouse-devcerts-'));
    try {
      const config = loadConfigText(
        ['node.data_dir = "data"', 'listeners.tcp.default.bind = "127.0.0.1:0"', 'listeners.ssl.default.bind = "127.0.0.1:0"', 'listeners.ws.default.bind = "127.0.0.1:0"', 'dashboard.listeners.http.bind = "127.0.0.1:0"'].join('\n'),
      );
      const logs = new LogCapture();
      assert.equal(existsSync(join(base, 'certs', 'server.pem')), false);
      const node = await startGatehouse(config, { logger: logs.logger, baseDir: base });
      try {
        assert.ok(existsSync(join(base, 'certs', 'server-key.pem')));
        assert.ok(logs.find('generated TEST-ONLY development certificates (never use them in production)'));
        const client = await connect(`mqtts://localhost:${node.address('ssl:default').port}`, { ca: readFileSync(join(base, 'certs', 'ca.pem')) });
        await endClient(client);
      } finally {
        await node.stop();
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
