import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';

const run = promisify(execFile);

const FILE_KEYS = [
  'caCert', 'caKey', 'serverCert', 'serverKey', 'clientCert', 'clientKey', 'revokedClientCert',
  'revokedClientKey', 'crl', 'untrustedCaCert', 'untrustedCaKey', 'untrustedClientCert', 'untrustedClientKey',
] as const;
const KEY_KEYS = FILE_KEYS.filter((k) => k.endsWith('Key'));

let dir: string;
let paths: DevCertPaths;
const pem = async (file: string): Promise<string> => readFile(file, 'utf8');
const cert = async (file: string): Promise<X509Certificate> => new X509Certificate(await pem(file));

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-certs-'));
  paths = await generateDevCertificates(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generateDevCertificates', () => {
  it('writes every file into the requested directory', () => {
    assert.equal(paths.dir, path.resolve(dir));
    const expected = FILE_KEYS.map((k) => paths[k]);
    assert.deepEqual([...paths.written].sort(), [...expected].sort());
    for (const file of expected) assert.equal(path.dirname(file), paths.dir);
    assert.equal(path.basename(paths.crl), 'ca.crl.pem');
    assert.equal(path.basename(paths.untrustedClientKey), 'untrusted-client-key.pem');
  });

  it('stores private keys as PKCS#8 PEM, mode 0600, ECDSA P-256', async () => {
    for (const k of KEY_KEYS) {
      const file = paths[k];
      assert.equal((await stat(file)).mode & 0o777, 0o600, `${file} mode`);
      const text = await pem(file);
      assert.match(text, /^-----BEGIN PRIVATE KEY-----\n/);
      const key = createPrivateKey(text);
      assert.equal(key.asymmetricKeyType, 'ec');
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    }
  });

  it('issues server, client and revoked client from the dev CA, the rogue client from the other CA', async () => {
    const ca = await cert(paths.caCert);
    const untrustedCa = await cert(paths.untrustedCaCert);
    assert.equal(ca.ca, true);
    assert.equal(untrustedCa.ca, true);
    for (const file of [paths.serverCert, paths.clientCert, paths.revokedClientCert]) {
      const leaf = await cert(file);
      assert.equal(leaf.ca, false);
      assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), `${file} issued by ca.pem`);
      assert.equal(leaf.verify(untrustedCa.publicKey), false);
    }
    const rogue = await cert(paths.untrustedClientCert);
    assert.equal(rogue.verify(ca.publicKey), false);
    assert.ok(rogue.verify(untrustedCa.publicKey));
    assert.match(rogue.subject, /^CN=rogue-001$/m);
    assert.ok((await cert(paths.clientCert)).checkPrivateKey(createPrivateKey(await pem(paths.clientKey))));
  });

  it('gives the server its SANs and serverAuth', async () => {
    const server = await cert(paths.serverCert);
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkIP('::1'), '::1');
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('gives the client its full subject, SANs and clientAuth', async () => {
    const client = await cert(paths.clientCert);
    assert.equal(client.subject, [
      'C=SE', 'ST=Stockholm', 'L=Stockholm', 'O=Gatehouse Dev', 'OU=Devices', 'CN=device-001',
      'emailAddress=device-001@example.test',
    ].join('\n'));
    assert.equal(client.subjectAltName, 'DNS:device-001.local, email:device-001@example.test, URI:urn:dev:device-001');
    assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.match((await cert(paths.revokedClientCert)).subject, /^CN=revoked-001$/m);
  });

  it('writes a CRL signed by the CA that revokes exactly the revoked client', async () => {
    const text = await pem(paths.crl);
    assert.match(text, /^-----BEGIN X509 CRL-----\n/);
    const crl = new x509.X509Crl(text);
    const ca = new x509.X509Certificate(await pem(paths.caCert));
    assert.ok(await crl.verify({ publicKey: ca }));
    const revoked = new x509.X509Certificate(await pem(paths.revokedClientCert));
    assert.equal(crl.entries.length, 1);
    assert.ok(crl.findRevoked(revoked));
    assert.equal(crl.findRevoked(new x509.X509Certificate(await pem(paths.clientCert))), null);
  });

  it('keeps existing files, fills in missing ones, and regenerates all with force', async () => {
    const other = await mkdtemp(path.join(tmpdir(), 'gatehouse-certs-'));
    try {
      const first = await generateDevCertificates(other);
      const caBefore = await pem(first.caCert);
      const clientBefore = await pem(first.clientCert);

      const again = await generateDevCertificates(other);
      assert.deepEqual(again.written, []);
      assert.equal(await pem(first.caCert), caBefore);

      await unlink(first.serverCert);
      await unlink(first.serverKey);
      const refill = await generateDevCertificates(other);
      assert.deepEqual([...refill.written].sort(), [first.serverCert, first.serverKey].sort());
      assert.ok((await cert(first.serverCert)).verify((await cert(first.caCert)).publicKey));
      assert.equal(await pem(first.clientCert), clientBefore);

      const forced = await generateDevCertificates(other, { force: true });
      assert.equal(forced.written.length, FILE_KEYS.length);
      assert.notEqual(await pem(first.caCert), caBefore);
      assert.notEqual(await pem(first.clientCert), clientBefore);
      assert.ok((await cert(first.clientCert)).verify((await cert(first.caCert)).publicKey));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('refuses a certificate without its key, or a key that belongs to another certificate', async () => {
    const other = await mkdtemp(path.join(tmpdir(), 'gatehouse-certs-'));
    try {
      const first = await generateDevCertificates(other);
      await unlink(first.clientKey);
      await assert.rejects(generateDevCertificates(other), /client\.pem exists but client-key\.pem is missing.*--force/);

      const swapped = await mkdtemp(path.join(tmpdir(), 'gatehouse-certs-'));
      try {
        const second = await generateDevCertificates(swapped);
        await unlink(second.serverKey);
        await copyFile(second.clientKey, second.serverKey);
        await assert.rejects(generateDevCertificates(swapped), /server-key\.pem is not the key of server\.pem/);
      } finally {
        await rm(swapped, { recursive: true, force: true });
      }
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('openssl agrees', () => {
  const haveOpenssl = run('openssl', ['version']).then(() => true, () => false);

  it('verifies server and client against the CA, rejects the rogue and the revoked client', async () => {
    assert.ok(await haveOpenssl, 'openssl is required for this test (apt-get install openssl; .ci/run installs it)');
    const ok = await run('openssl', ['verify', '-CAfile', paths.caCert, paths.serverCert, paths.clientCert]);
    assert.match(ok.stdout, /server\.pem: OK/);
    assert.match(ok.stdout, /client\.pem: OK/);

    await assert.rejects(run('openssl', ['verify', '-CAfile', paths.caCert, paths.untrustedClientCert]),
      /unable to get local issuer certificate/);
    await assert.rejects(
      run('openssl', ['verify', '-crl_check', '-CAfile', paths.caCert, '-CRLfile', paths.crl, paths.revokedClientCert]),
      /certificate revoked/);

    const serial = (await run('openssl', ['x509', '-in', paths.revokedClientCert, '-noout', '-serial'])).stdout
      .trim().replace(/^serial=/, '');
    const crlText = (await run('openssl', ['crl', '-in', paths.crl, '-noout', '-text'])).stdout;
    assert.match(crlText, new RegExp(`Serial Number: ${serial}\\b`));
  });
});

describe('TLS server with requestCert, rejectUnauthorized and the CRL', () => {
  interface Outcome {
    /** The server emitted secureConnection for this client. */
    readonly secured: boolean;
    readonly authorized?: boolean;
    readonly authorizationError?: string;
    readonly peerCn?: string;
    /** What the client read before the connection closed. */
    readonly reply: string;
  }

  interface TestServer {
    readonly server: tls.Server;
    readonly port: number;
    last?: Omit<Outcome, 'reply'>;
  }

  const servers: TestServer[] = [];

  // rejectUnauthorized: true is the server under test. The permissive twin (same options,
  // rejectUnauthorized: false) only reports *why* OpenSSL refused a certificate, because a
  // strict Node server drops such a client without exposing the verification error.
  async function startServer(rejectUnauthorized: boolean): Promise<TestServer> {
    const server = tls.createServer({
      key: await pem(paths.serverKey),
      cert: await pem(paths.serverCert),
      ca: await pem(paths.caCert),
      crl: await pem(paths.crl),
      requestCert: true,
      rejectUnauthorized,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const entry: TestServer = { server, port: (server.address() as AddressInfo).port };
    server.on('secureConnection', (socket) => {
      const authError = socket.authorizationError;
      entry.last = {
        secured: true,
        authorized: socket.authorized,
        ...(authError ? { authorizationError: String(authError) } : {}),
        ...(socket.authorized ? { peerCn: String(socket.getPeerCertificate().subject.CN) } : {}),
      };
      socket.end('welcome');
    });
    server.on('tlsClientError', () => undefined);
    servers.push(entry);
    return entry;
  }

  let strict: TestServer;
  let permissive: TestServer;

  before(async () => {
    strict = await startServer(true);
    permissive = await startServer(false);
  });

  after(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))));
  });

  function forget(target: TestServer): void {
    delete target.last;
  }

  async function connectWith(target: TestServer, certFile: string, keyFile: string): Promise<Outcome> {
    forget(target);
    const socket = tls.connect({
      host: '127.0.0.1',
      port: target.port,
      servername: 'localhost',
      ca: await pem(paths.caCert),
      cert: await pem(certFile),
      key: await pem(keyFile),
    });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { reply += chunk; });
    socket.on('error', () => undefined); // a rejected client sees a reset or an alert
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error('connection did not close within 10 s')), 10_000);
        socket.on('close', () => resolve());
      });
    } finally {
      clearTimeout(timer);
      socket.destroy();
    }
    return { secured: false, ...target.last, reply };
  }

  it('accepts client.pem', async () => {
    const outcome = await connectWith(strict, paths.clientCert, paths.clientKey);
    assert.equal(outcome.secured, true);
    assert.equal(outcome.authorized, true);
    assert.equal(outcome.peerCn, 'device-001');
    assert.equal(outcome.reply, 'welcome');
  });

  it('rejects the client of the untrusted CA', async () => {
    const outcome = await connectWith(strict, paths.untrustedClientCert, paths.untrustedClientKey);
    assert.equal(outcome.secured, false);
    assert.equal(outcome.reply, '');
    const why = await connectWith(permissive, paths.untrustedClientCert, paths.untrustedClientKey);
    assert.equal(why.authorized, false);
    // "unable to verify the first certificate": its issuer is not among the trusted CAs
    assert.match(why.authorizationError ?? '', /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  });

  it('rejects the revoked client', async () => {
    const outcome = await connectWith(strict, paths.revokedClientCert, paths.revokedClientKey);
    assert.equal(outcome.secured, false);
    assert.equal(outcome.reply, '');
    const why = await connectWith(permissive, paths.revokedClientCert, paths.revokedClientKey);
    assert.equal(why.authorized, false);
    assert.equal(why.authorizationError, 'CERT_REVOKED');
  });

  it('the permissive twin accepts client.pem as authorized (the CRL check is not blanket)', async () => {
    const outcome = await connectWith(permissive, paths.clientCert, paths.clientKey);
    assert.equal(outcome.authorized, true);
    assert.equal(outcome.authorizationError, undefined);
  });
});
