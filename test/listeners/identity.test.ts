import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import {
  PEER_CERT_AS_KINDS,
  PeerCertificateError,
  certificateIdentity,
  isPeerCertAsKind,
  peerCertAs,
} from '../../src/transport/identity/index.js';

const run = promisify(execFile);
x509.cryptoProvider.set(globalThis.crypto);

const CLIENT_DN = 'EMAILADDRESS=device-001@example.test,CN=device-001,OU=Devices,O=Gatehouse Dev,L=Stockholm,ST=Stockholm,C=SE';

let dir: string;
let paths: DevCertPaths;
let clientDer: Buffer;

const derOf = async (file: string): Promise<Buffer> => new X509Certificate(await readFile(file)).raw;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-identity-'));
  paths = await generateDevCertificates(dir);
  clientDer = await derOf(paths.clientCert);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A self-signed P-256 certificate with the given subject and optional SANs. */
async function makeCert(subject: x509.Name, san?: x509.JsonGeneralNames): Promise<Buffer> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: subject,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: san ? [new x509.SubjectAlternativeNameExtension(san)] : [],
  });
  return Buffer.from(cert.rawData);
}

describe('certificateIdentity on the dev client certificate', () => {
  it('renders the subject the way EMQX does (reverse order, "," separator, EMQX labels)', () => {
    const id = certificateIdentity(clientDer);
    assert.equal(id.subject, CLIENT_DN);
    assert.equal(id.commonName, 'device-001');
  });

  it('lists the DNS, e-mail and URI SANs', () => {
    const id = certificateIdentity(clientDer);
    assert.deepEqual(id.sanDns, ['device-001.local']);
    assert.deepEqual(id.sanEmail, ['device-001@example.test']);
    assert.deepEqual(id.sanUri, ['urn:dev:device-001']);
  });

  it('exposes the DER, base64 body and fingerprints that node computes', async () => {
    const id = certificateIdentity(clientDer);
    const node = new X509Certificate(clientDer);
    assert.ok(id.der.equals(node.raw));
    assert.equal(id.fingerprintSha256, node.fingerprint256.replaceAll(':', '').toLowerCase());
    assert.match(id.fingerprintSha256, /^[0-9a-f]{64}$/);
    assert.equal(id.md5, createHash('md5').update(node.raw).digest('hex'));
    assert.match(id.md5, /^[0-9a-f]{32}$/);
    const pemBody = (await readFile(paths.clientCert, 'utf8')).replace(/-----[A-Z ]+-----|\s/g, '');
    assert.equal(id.pemBody, pemBody);
    assert.doesNotMatch(id.pemBody, /[\n-]/);
  });

  it('matches openssl\'s MD5 and SHA-256 fingerprints', async () => {
    const ok = await run('openssl', ['version']).then(() => true, () => false);
    assert.ok(ok, 'openssl is required for this test (apt-get install openssl; .ci/run installs it)');
    const id = certificateIdentity(clientDer);
    for (const [alg, expected] of [['-md5', id.md5], ['-sha256', id.fingerprintSha256]] as const) {
      const out = (await run('openssl', ['x509', '-in', paths.clientCert, '-noout', '-fingerprint', alg])).stdout;
      assert.equal(out.trim().split('=')[1]!.replaceAll(':', '').toLowerCase(), expected);
    }
  });

  it('keeps its own copy of the DER', () => {
    const copy = Buffer.from(clientDer);
    const id = certificateIdentity(copy);
    copy.fill(0);
    assert.ok(id.der.equals(clientDer));
  });

  it('gives the server certificate CN=localhost first and its DNS SAN (IP SANs are not listed)', async () => {
    const id = certificateIdentity(await derOf(paths.serverCert));
    assert.equal(id.subject, 'CN=localhost,OU=Servers,O=Gatehouse Dev,C=SE');
    assert.deepEqual(id.sanDns, ['localhost']);
    assert.deepEqual(id.sanEmail, []);
    assert.deepEqual(id.sanUri, []);
  });

  it('sees the same identity through a real mutual-TLS handshake', async () => {
    const server = tls.createServer({
      key: await readFile(paths.serverKey),
      cert: await readFile(paths.serverCert),
      ca: await readFile(paths.caCert),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const seen = new Promise<Buffer>((resolve) => {
      server.on('secureConnection', (socket) => {
        resolve(socket.getPeerCertificate().raw);
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      servername: 'localhost',
      ca: await readFile(paths.caCert),
      cert: await readFile(paths.clientCert),
      key: await readFile(paths.clientKey),
    });
    socket.on('error', () => undefined);
    try {
      const id = certificateIdentity(await seen);
      assert.equal(id.subject, CLIENT_DN);
      assert.equal(id.commonName, 'device-001');
      assert.equal(id.md5, certificateIdentity(clientDer).md5);
    } finally {
      socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('EMQX DN string details', () => {
  it('joins a multi-valued RDN with "+" and several CNs with ","', async () => {
    const der = await makeCert(new x509.Name([
      { C: ['SE'] },
      { O: ['Acme'], OU: ['Ops'] },
      { CN: ['first'] },
      { CN: ['second'] },
    ]));
    const id = certificateIdentity(der);
    assert.equal(id.subject, 'CN=second,CN=first,O=Acme+OU=Ops,C=SE');
    assert.equal(id.commonName, 'first,second');
  });

  it('escapes special characters, leading "#", trailing space and bytes outside 0x20..0x7D', async () => {
    const der = await makeCert(new x509.Name([
      { CN: [{ utf8String: '#a,b+c"d;e<f>g\\h~i=j ' }] },
      { OU: [{ utf8String: ' lead\ttab' }] },
    ]));
    const id = certificateIdentity(der);
    assert.equal(id.subject, 'OU=\\ lead\\09tab,CN=\\#a\\,b\\+c\\"d\\;e\\<f\\>g\\\\h\\7Ei=j\\ ');
    // the common name is not escaped
    assert.equal(id.commonName, '#a,b+c"d;e<f>g\\h~i=j ');
  });

  it('writes non-ASCII text as escaped UTF-8 bytes in the DN, as text in the CN', async () => {
    const der = await makeCert(new x509.Name([
      { O: [{ utf8String: 'Göteborg' }] },
      { L: [{ bmpString: 'Å' }] },
      { CN: [{ utf8String: 'Zoë' }] },
    ]));
    const id = certificateIdentity(der);
    assert.equal(id.subject, 'CN=Zo\\C3\\AB,L=\\C3\\85,O=G\\C3\\B6teborg');
    assert.equal(id.commonName, 'Zoë');
  });

  it('labels UID, SERIALNUMBER, DC and e-mail; writes other types (street, dnQualifier, private) as OIDs', async () => {
    const der = await makeCert(new x509.Name([
      { DC: ['example'] },
      { '2.5.4.5': ['SN42'] },
      { '0.9.2342.19200300.100.1.1': [{ utf8String: 'u1' }] },
      { '2.5.4.9': [{ utf8String: 'Main St' }] },
      { '2.5.4.46': [{ printableString: 'q' }] },
      { '1.3.6.1.4.1.99999.1': [{ ia5String: 'abc' }] },
      { E: ['x@example.test'] },
    ]));
    const id = certificateIdentity(der);
    assert.equal(id.subject, [
      'EMAILADDRESS=x@example.test',
      // an attribute type OTP does not decode, not in a DirectoryString: Erlang binary term
      '1.3.6.1.4.1.99999.1=\\<\\<22\\,3\\,97\\,98\\,99\\>\\>',
      '2.5.4.46=q',
      '2.5.4.9=Main St',
      'UID=u1',
      'SERIALNUMBER=SN42',
      'DC=example',
    ].join(','));
    assert.equal(id.commonName, undefined);
  });

  it('gives an empty subject string and no CN for an empty subject', async () => {
    const der = await makeCert(new x509.Name([]), [{ type: 'dns', value: 'only-san.example' }]);
    const id = certificateIdentity(der);
    assert.equal(id.subject, '');
    assert.equal(id.commonName, undefined);
    assert.equal('commonName' in id, false);
    assert.deepEqual(id.sanDns, ['only-san.example']);
  });
});

describe('certificateIdentity on bad input', () => {
  it('throws PeerCertificateError with a reason, never crashes', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(0), /empty input/],
      [Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'), /invalid peer certificate: /],
      [clientDer.subarray(0, clientDer.length - 10), /claims \d+ bytes but only \d+ remain/],
      [Buffer.concat([clientDer, Buffer.from([0, 0])]), /2 unexpected bytes after the certificate/],
      [Buffer.from([0x30, 0x80, 0x00, 0x00]), /indefinite length/],
      [Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), /expected a TBSCertificate/],
      [Buffer.from([0x04, 0x01, 0x00]), /expected a Certificate \(SEQUENCE\)/],
    ];
    for (const [input, reason] of cases) {
      assert.throws(() => certificateIdentity(input), (err: unknown) => {
        assert.ok(err instanceof PeerCertificateError, `PeerCertificateError for ${input.toString('hex').slice(0, 20)}`);
        assert.match(err.message, reason);
        assert.ok(!err.message.includes(clientDer.toString('base64').slice(0, 40)), 'no certificate bytes in the message');
        return true;
      });
    }
  });

  it('rejects a non-Buffer argument with a reason', () => {
    assert.throws(() => certificateIdentity('MIIB' as unknown as Buffer), /expected DER bytes/);
  });
});

describe('peerCertAs', () => {
  it('selects each configured value', async () => {
    const id = certificateIdentity(clientDer);
    assert.equal(peerCertAs('cn', id), 'device-001');
    assert.equal(peerCertAs('dn', id), CLIENT_DN);
    assert.equal(peerCertAs('pem', id), clientDer.toString('base64'));
    assert.equal(peerCertAs('md5', id), id.md5);
    assert.equal(peerCertAs('fingerprint_sha256', id), id.fingerprintSha256);
    assert.equal(peerCertAs('san_dns', id), 'device-001.local');
    assert.equal(peerCertAs('san_email', id), 'device-001@example.test');
    assert.equal(peerCertAs('san_uri', id), 'urn:dev:device-001');
    assert.equal(peerCertAs('disabled', id), undefined);
  });

  it('gives crt as a binary string that converts back to the exact DER', () => {
    const crt = peerCertAs('crt', certificateIdentity(clientDer));
    assert.equal(crt?.length, clientDer.length);
    assert.ok(Buffer.from(crt!, 'latin1').equals(clientDer));
  });

  it('is undefined when the certificate has no such value', async () => {
    const id = certificateIdentity(await derOf(paths.serverCert));
    assert.equal(peerCertAs('san_email', id), undefined);
    assert.equal(peerCertAs('san_uri', id), undefined);
    const noCn = certificateIdentity(await makeCert(new x509.Name([{ O: ['NoCn'] }])));
    assert.equal(peerCertAs('cn', noCn), undefined);
    assert.equal(peerCertAs('dn', noCn), 'O=NoCn');
  });

  it('knows its kinds', () => {
    assert.deepEqual([...PEER_CERT_AS_KINDS].sort(), [
      'cn', 'crt', 'disabled', 'dn', 'fingerprint_sha256', 'md5', 'pem', 'san_dns', 'san_email', 'san_uri',
    ]);
    assert.equal(isPeerCertAsKind('md5'), true);
    assert.equal(isPeerCertAsKind('sha1'), false);
    assert.equal(isPeerCertAsKind(undefined), false);
  });
});
