// Issue 13.1, last point: CRLs from the certificates' CRL Distribution Points (RFC 5280
// §4.2.1.13, §6.3.3), as EMQX takes them with `enable_crl_check = true`, no `crlfile`, and the
// root `crl_cache { refresh_interval, http_timeout, capacity }`. A root → intermediate PKI made
// with openssl whose certificates name CRLs on a local HTTP server (port 0); real TLS clients.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { loadConfigText, ConfigError } from '../../src/config/load.js';
import { nodeConfigChecks as configChecks } from '../../src/main.js';
import { CrlCache, CrlUnavailableError, parseCrl } from '../../listeners/crl-cache.js';
import { connackCode, startTestNode, type TestNode } from '../helpers/node.js';
import { encodeFrame } from '../../gateways/stomp/frame.js';
import { CONNACK_OK, connectPacket, freePort, tlsExchange, tlsListenersConf } from './support.js';
import { makePki, type TestPki } from './pki.js';

/** Serves `<dir>/<ca>.crl`: int1's as DER, the others as the PEM openssl wrote; `/hang.crl` never answers. */
class CrlServer {
  readonly requests: string[] = [];
  private readonly server: http.Server;
  port = 0;

  constructor(private readonly dir: string) {
    this.server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.requests.push(req.url ?? '');
      if (path === '/hang.crl') return; // never answered: http_timeout must end it
      const m = /^\/([a-z0-9-]+)\.crl$/.exec(path);
      let body: Buffer;
      try {
        body = readFileSync(join(this.dir, `${m?.[1] ?? 'none'}.crl`));
      } catch {
        res.writeHead(404).end();
        return;
      }
      if (m?.[1] === 'int1') body = Buffer.from(new x509.X509Crl(body.toString('latin1')).rawData);
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(body);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  count(path: string): number {
    return this.requests.filter((r) => r === path).length;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `check` every 200 ms until true; fails after `boundMs` (a generous bound, not a timing claim). */
async function eventually(check: () => Promise<boolean>, what: string, boundMs = 30000): Promise<void> {
  const until = Date.now() + boundMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`not within ${boundMs} ms: ${what}`);
}

describe('CRLs from distribution points (enable_crl_check without crlfile, crl_cache)', () => {
  let dir: string;
  let certs: DevCertPaths;
  let pki: TestPki;
  let crlServer: CrlServer;
  let t: TestNode;
  let downPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-crldp-'));
    certs = await generateDevCertificates(join(dir, 'dev'));
    crlServer = new CrlServer(dir);
    await crlServer.start();
    downPort = await freePort();
    pki = await makePki(dir, { crlUri: (ca) => `http://127.0.0.1:${crlServer.port}/${ca}.crl` });
    await pki.issue('good', '/O=Gatehouse Test/CN=good');
    await pki.issue('revoked', '/O=Gatehouse Test/CN=revoked');
    await pki.revoke('revoked');
    await pki.addIntermediate('int2');
    await pki.issue('under-int2', '/O=Gatehouse Test/CN=under-int2', undefined, { issuer: 'int2' });
    await pki.revoke('int2');
    await pki.issue('server-down', '/O=Gatehouse Test/CN=server-down', undefined, { crlUri: `http://127.0.0.1:${downPort}/int1.crl` });
    await pki.forgedCrl('int1', join(dir, 'forged.crl'));
    await pki.issue('forged', '/O=Gatehouse Test/CN=forged', undefined, { crlUri: `http://127.0.0.1:${crlServer.port}/forged.crl` });
    await pki.issue('ldap', '/O=Gatehouse Test/CN=ldap', undefined, { crlUri: 'ldap://127.0.0.1/cn=crl' });
    const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${pki.cas}", verify = verify_peer, fail_if_no_peer_cert = true, enable_crl_check = true }`;
    t = await startTestNode(
      ['crl_cache { refresh_interval = 1s, http_timeout = 5s, capacity = 100 }', ...tlsListenersConf('dp', ssl)].join('\n'),
    );
  });
  after(async () => {
    await t?.stop();
    await crlServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const opts = (name: string) => ({ ca: readFileSync(certs.caCert), cert: readFileSync(pki.chain(name)), key: readFileSync(pki.key(name)), reconnectPeriod: 0 });
  const refusals = (listener: string, reason: RegExp) =>
    t.logs.lines.filter((l) => l['msg'] === 'connection refused' && l['listener'] === listener && reason.test(String(l['reason'])));
  const admitted = async (listener: string, name: string) => (await connackCode(t.url(listener), opts(name)).catch(() => -1)) === 0;

  test('ssl and wss: a good leaf is admitted, a revoked leaf and a leaf under a revoked intermediate are refused', async () => {
    for (const listener of ['ssl:dp', 'wss:dp']) {
      assert.equal(await connackCode(t.url(listener), opts('good')), 0, listener);
      await assert.rejects(connackCode(t.url(listener), opts('revoked')));
      assert.equal(refusals(listener, /^client certificate refused: client certificate CERT_REVOKED \(serial .* by CN=Trust Intermediate \(TEST ONLY\)\)/).length, 1, t.logs.text());
      await assert.rejects(connackCode(t.url(listener), opts('under-int2')));
      assert.equal(refusals(listener, /CA "CN=Trust Intermediate int2 \(TEST ONLY\)" CERT_REVOKED .* by CN=Trust Root \(TEST ONLY\)/).length, 1, t.logs.text());
    }
    // Both encodings were read: the root's CRL (PEM, for int1 and int2) and int1's (DER).
    assert.ok(crlServer.count('/root.crl') >= 1 && crlServer.count('/int1.crl') >= 1, crlServer.requests.join(' '));
  });

  test('STOMP ssl: the good leaf gets CONNECTED, the revoked one gets nothing', async () => {
    const frame = encodeFrame({ command: 'CONNECT', headers: [['accept-version', '1.2'], ['host', 'gatehouse']], body: Buffer.alloc(0) }, '1.2');
    const good = await tlsExchange({ port: t.port('stomp:ssl:dp'), ...opts('good') }, frame, (b) => b.includes(0));
    assert.match(good.received.toString('latin1'), /^CONNECTED/);
    const bad = await tlsExchange({ port: t.port('stomp:ssl:dp'), ...opts('revoked') }, frame, (b) => b.includes(0));
    assert.equal(bad.received.length, 0);
    assert.equal(refusals('stomp:ssl:dp', /client certificate CERT_REVOKED/).length, 1, t.logs.text());
  });

  test('the CRL server down: the client is refused (fail closed), with the URL and reason logged', async () => {
    await assert.rejects(connackCode(t.url('ssl:dp'), opts('server-down')));
    const url = `http://127.0.0.1:${downPort}/int1.crl`;
    const lines = refusals('ssl:dp', /client certificate: CRL .* cannot be used: ECONNREFUSED/);
    assert.equal(lines.length, 1, t.logs.text());
    assert.ok(String(lines[0]!['reason']).includes(url));
    assert.ok(t.logs.lines.some((l) => l['msg'] === 'CRL cannot be fetched or verified' && l['url'] === url && l['reason'] === 'ECONNREFUSED'), t.logs.text());
  });

  test('a CRL that names the issuer but is signed by another key is refused', async () => {
    await assert.rejects(connackCode(t.url('ssl:dp'), opts('forged')));
    assert.equal(refusals('ssl:dp', /forged\.crl cannot be used: signature does not verify with the key of "CN=Trust Intermediate \(TEST ONLY\)"/).length, 1, t.logs.text());
  });

  test('a distribution point that is not http or https is never fetched: the client is refused', async () => {
    await assert.rejects(connackCode(t.url('ssl:dp'), opts('ldap')));
    assert.equal(refusals('ssl:dp', /CRL distribution point "ldap:\/\/127\.0\.0\.1\/cn=crl" is not http or https/).length, 1, t.logs.text());
  });

  test('after the CA publishes a CRL revoking a leaf, refresh_interval (1s) brings it in: the leaf is refused', async () => {
    await pki.issue('later', '/O=Gatehouse Test/CN=later');
    assert.equal(await connackCode(t.url('ssl:dp'), opts('later')), 0);
    await pki.revoke('later');
    await eventually(async () => !(await admitted('ssl:dp', 'later')), 'the refreshed CRL refuses "later"');
    assert.ok(refusals('ssl:dp', /client certificate CERT_REVOKED/).length >= 2, t.logs.text());
    assert.equal(await connackCode(t.url('ssl:dp'), opts('good')), 0);
  });

  test('a resumed TLS session is refused once its leaf is revoked', async () => {
    await pki.issue('resumer', '/O=Gatehouse Test/CN=resumer');
    const tlsOpts = { port: t.port('ssl:dp'), ca: readFileSync(certs.caCert), cert: readFileSync(pki.chain('resumer')), key: readFileSync(pki.key('resumer')) };
    const first = await tlsExchange(tlsOpts, connectPacket('resumer-1'), (b) => b.includes(CONNACK_OK));
    assert.ok(first.received.includes(CONNACK_OK) && first.session, first.error);
    const again = await tlsExchange({ ...tlsOpts, session: first.session! }, connectPacket('resumer-2'), (b) => b.includes(CONNACK_OK), false);
    assert.ok(again.reused && again.received.includes(CONNACK_OK), 'resumed and admitted before the revocation');
    await pki.revoke('resumer');
    let last = again;
    await eventually(async () => {
      last = await tlsExchange({ ...tlsOpts, session: first.session! }, connectPacket('resumer-3'), (b) => b.includes(CONNACK_OK), false);
      return !last.received.includes(CONNACK_OK);
    }, 'the resumed session is refused');
    assert.equal(last.reused, true, 'refused on a resumed session, not a full handshake');
    assert.ok(refusals('ssl:dp', /^client certificate refused on session resumption: client certificate CERT_REVOKED/).length >= 1, t.logs.text());
  });
});

describe('CrlCache', () => {
  let dir: string;
  let pki: TestPki;
  let crlServer: CrlServer;
  let int1: x509.X509Certificate;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-crlcache-'));
    crlServer = new CrlServer(dir);
    await crlServer.start();
    pki = await makePki(dir);
    int1 = new x509.X509Certificate(readFileSync(join(pki.dir, 'int1.pem'), 'latin1'));
  });
  after(async () => {
    await crlServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (q: string) => new URL(`http://127.0.0.1:${crlServer.port}/int1.crl?${q}`);

  test('keeps at most capacity CRLs, dropping the least recently used; a held CRL is not fetched again', async () => {
    const cache = new CrlCache({ capacity: 2, refreshIntervalMs: 3_600_000, httpTimeoutMs: 5000 });
    try {
      await cache.crlFor(url('a'), int1);
      await cache.crlFor(url('b'), int1);
      await cache.crlFor(url('a'), int1); // a is now the most recently used
      assert.equal(crlServer.count('/int1.crl?a'), 1);
      await cache.crlFor(url('c'), int1);
      assert.equal(cache.size, 2);
      assert.equal(cache.has(url('a').href, int1), true);
      assert.equal(cache.has(url('b').href, int1), false);
      assert.equal(cache.has(url('c').href, int1), true);
      await cache.crlFor(url('b'), int1);
      assert.equal(crlServer.count('/int1.crl?b'), 2, 'fetched again after it was dropped');
      assert.equal(cache.has(url('a').href, int1), false);
    } finally {
      cache.close();
    }
  });

  test('http_timeout ends a fetch that gets no answer; the issuer must match the CRL', async () => {
    const cache = new CrlCache({ capacity: 10, refreshIntervalMs: 3_600_000, httpTimeoutMs: 300 });
    try {
      await assert.rejects(cache.crlFor(new URL(`http://127.0.0.1:${crlServer.port}/hang.crl`), int1), (err: CrlUnavailableError) => /within http_timeout \(300 ms\)/.test(err.message));
      const root = new x509.X509Certificate(readFileSync(pki.root, 'latin1'));
      await assert.rejects(cache.crlFor(url('root'), root), /issued by "CN=Trust Intermediate \(TEST ONLY\)", not by the certificate's issuer "CN=Trust Root \(TEST ONLY\)"/);
      await assert.rejects(cache.crlFor(new URL(`http://127.0.0.1:${crlServer.port}/missing.crl`), int1), /HTTP 404/);
    } finally {
      cache.close();
    }
    await assert.rejects(cache.crlFor(url('z'), int1), /the CRL cache is stopped/);
  });

  test('parseCrl reads DER and PEM, and refuses what is neither', () => {
    const pem = readFileSync(join(pki.dir, 'int1.crl'));
    const fromPem = parseCrl(pem);
    assert.equal(parseCrl(Buffer.from(fromPem.rawData)).issuer, 'CN=Trust Intermediate (TEST ONLY)');
    assert.throws(() => parseCrl(Buffer.from('<html>not found</html>')), /^Error: not a CRL/);
  });
});

describe('crl_cache configuration', () => {
  test("EMQX's names and defaults load; unknown keys and zero durations are refused; enable_crl_check needs no crlfile", async () => {
    const config = loadConfigText('', { checks: configChecks() });
    assert.deepEqual(config.crl_cache, { refresh_interval: '15m', http_timeout: '15s', capacity: 100 });
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-crlconf-'));
    try {
      const certs = await generateDevCertificates(dir);
      const given = loadConfigText(
        `crl_cache { refresh_interval = 5m, http_timeout = 3s, capacity = 7 }\nlisteners.ssl.x { ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}", verify = verify_peer, enable_crl_check = true } }`,
        { checks: configChecks() },
      );
      assert.deepEqual(given.crl_cache, { refresh_interval: '5m', http_timeout: '3s', capacity: 7 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(
      () => loadConfigText('crl_cache { capacity = 0, refresh_interval = 0s, colour = blue }', { checks: configChecks() }),
      (err: ConfigError) => ['crl_cache.capacity', 'crl_cache.colour'].every((path) => err.problems.some((p) => p.path.startsWith(path))),
    );
    assert.throws(() => loadConfigText('crl_cache { refresh_interval = 0s }', { checks: configChecks() }), (err: ConfigError) => err.problems.some((p) => p.path === 'crl_cache.refresh_interval'));
  });
});
