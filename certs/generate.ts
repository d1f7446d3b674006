// TEST-ONLY development certificates for Gatehouse's TLS listeners (see certs/README.md).
//
//   node --import tsx certs/generate.ts [--out DIR] [--force]     (also: npm run certs)
//
// Writes a dev CA, a server certificate, a client certificate, a second ("untrusted") CA
// with a client of its own, a revoked client and a CRL naming it. All keys are ECDSA P-256,
// stored as PKCS#8 PEM with mode 0600. Existing files are kept unless --force.

import 'reflect-metadata'; // @peculiar/x509 needs a Reflect metadata polyfill before it loads
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeCertificate, createPrivateKey, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// node:crypto's webcrypto; in Node >= 19 it is the same object as globalThis.crypto, which
// is typed with the WebCrypto (DOM) types that @peculiar/x509 expects.
const webCrypto: Crypto = globalThis.crypto;
x509.cryptoProvider.set(webCrypto);

export interface DevCertPaths {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly revokedClientCert: string;
  readonly revokedClientKey: string;
  readonly crl: string;
  readonly untrustedCaCert: string;
  readonly untrustedCaKey: string;
  readonly untrustedClientCert: string;
  readonly untrustedClientKey: string;
  /** Files (absolute paths) written by this call; every other listed file was kept as found. */
  readonly written: readonly string[];
}

export interface GenerateOptions {
  /** Regenerate every file even when it exists. */
  readonly force?: boolean;
}

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_DAYS = 3650;
const LEAF_DAYS = 825;
const CLOCK_SKEW_MS = 5 * 60 * 1000;

const OID_CRL_NUMBER = '2.5.29.20';

/** A Name in certificate (DER) order, one attribute per RDN. */
function name(...attributes: readonly (readonly [type: string, value: string])[]): x509.JsonName {
  return attributes.map(([type, value]) => ({ [type]: [value] }));
}

interface LeafSpec {
  readonly subject: x509.JsonName;
  readonly san: x509.JsonGeneralNames;
  readonly usage: string;
}

const CA_SUBJECT = name(['C', 'SE'], ['O', 'Gatehouse Dev'], ['CN', 'Gatehouse Dev CA (TEST ONLY)']);
const UNTRUSTED_CA_SUBJECT = name(['C', 'SE'], ['O', 'Gatehouse Dev'], ['CN', 'Gatehouse Untrusted Dev CA (TEST ONLY)']);

const SERVER: LeafSpec = {
  subject: name(['C', 'SE'], ['O', 'Gatehouse Dev'], ['OU', 'Servers'], ['CN', 'localhost']),
  san: [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ],
  usage: x509.ExtendedKeyUsage.serverAuth,
};

const CLIENT: LeafSpec = {
  subject: name(
    ['C', 'SE'], ['ST', 'Stockholm'], ['L', 'Stockholm'], ['O', 'Gatehouse Dev'], ['OU', 'Devices'],
    ['CN', 'device-001'], ['E', 'device-001@example.test'],
  ),
  san: [
    { type: 'dns', value: 'device-001.local' },
    { type: 'email', value: 'device-001@example.test' },
    { type: 'url', value: 'urn:dev:device-001' },
  ],
  usage: x509.ExtendedKeyUsage.clientAuth,
};

const REVOKED_CLIENT: LeafSpec = {
  subject: name(['C', 'SE'], ['O', 'Gatehouse Dev'], ['OU', 'Devices'], ['CN', 'revoked-001']),
  san: [{ type: 'dns', value: 'revoked-001.local' }],
  usage: x509.ExtendedKeyUsage.clientAuth,
};

const UNTRUSTED_CLIENT: LeafSpec = {
  subject: name(['C', 'SE'], ['O', 'Gatehouse Dev'], ['OU', 'Devices'], ['CN', 'rogue-001']),
  san: [{ type: 'dns', value: 'rogue-001.local' }],
  usage: x509.ExtendedKeyUsage.clientAuth,
};

interface Authority {
  readonly cert: x509.X509Certificate;
  readonly privateKey: CryptoKey;
  /** Generated (not loaded) in this run: everything it signs must be reissued. */
  readonly fresh: boolean;
}

interface Issued {
  readonly cert: x509.X509Certificate;
  readonly fresh: boolean;
}

/** Creates (or completes) the TEST-ONLY certificate set in `outDir`. */
export async function generateDevCertificates(outDir: string, opts: GenerateOptions = {}): Promise<DevCertPaths> {
  if (typeof outDir !== 'string' || outDir.trim() === '') {
    throw new Error('generateDevCertificates: outDir must be a non-empty directory path');
  }
  const dir = path.resolve(outDir);
  await mkdir(dir, { recursive: true });
  const file = (name: string): string => path.join(dir, name);
  const paths = {
    dir,
    caCert: file('ca.pem'),
    caKey: file('ca-key.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server-key.pem'),
    clientCert: file('client.pem'),
    clientKey: file('client-key.pem'),
    revokedClientCert: file('revoked-client.pem'),
    revokedClientKey: file('revoked-client-key.pem'),
    crl: file('ca.crl.pem'),
    untrustedCaCert: file('untrusted-ca.pem'),
    untrustedCaKey: file('untrusted-ca-key.pem'),
    untrustedClientCert: file('untrusted-client.pem'),
    untrustedClientKey: file('untrusted-client-key.pem'),
  };
  const written: string[] = [];
  const force = opts.force === true;
  const out = new Output(written);

  const ca = await ensureAuthority(paths.caCert, paths.caKey, CA_SUBJECT, force, out);
  const untrustedCa = await ensureAuthority(
    paths.untrustedCaCert, paths.untrustedCaKey, UNTRUSTED_CA_SUBJECT, force, out);

  await ensureLeaf(paths.serverCert, paths.serverKey, SERVER, ca, force, out);
  await ensureLeaf(paths.clientCert, paths.clientKey, CLIENT, ca, force, out);
  const revoked = await ensureLeaf(paths.revokedClientCert, paths.revokedClientKey, REVOKED_CLIENT, ca, force, out);
  await ensureLeaf(paths.untrustedClientCert, paths.untrustedClientKey, UNTRUSTED_CLIENT, untrustedCa, force, out);

  if (force || ca.fresh || revoked.fresh || !(await exists(paths.crl))) {
    const crl = await createCrl(ca, revoked.cert);
    // OpenSSL and Node read CRLs only under the "X509 CRL" PEM label (the library writes "CRL").
    await out.write(paths.crl, x509.PemConverter.encode(crl.rawData, 'X509 CRL'), 0o644);
  }
  return { ...paths, written };
}

// ---------------------------------------------------------------------------------------

class Output {
  constructor(private readonly written: string[]) {}

  /** Writes atomically (temp file + rename) so a key never exists with a wider mode. */
  async write(target: string, text: string, mode: number): Promise<void> {
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, text.endsWith('\n') ? text : `${text}\n`, { mode, flag: 'wx' });
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    this.written.push(target);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Both files present → true; neither → false; exactly one → a clear error (never guess). */
async function pairPresent(certPath: string, keyPath: string): Promise<boolean> {
  const [c, k] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (c !== k) {
    const [have, missing] = c ? [certPath, keyPath] : [keyPath, certPath];
    throw new Error(`${path.basename(have)} exists but ${path.basename(missing)} is missing in ${path.dirname(have)}; `
      + 'delete the leftover file or rerun with --force');
  }
  return c;
}

/** Loads an existing PEM pair after checking the key belongs to the certificate. */
async function loadPair(certPath: string, keyPath: string): Promise<{ cert: x509.X509Certificate; keyPem: string }> {
  const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  let matches: boolean;
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
    matches = new NodeCertificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot read ${path.basename(certPath)} / ${path.basename(keyPath)} (${reason}); rerun with --force`);
  }
  if (!matches) {
    throw new Error(`${path.basename(keyPath)} is not the key of ${path.basename(certPath)}; rerun with --force`);
  }
  return { cert, keyPem };
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return webCrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await webCrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

/** A positive 128-bit serial whose first octet is non-zero and below 0x80 (minimal DER). */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return bytes.toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

async function ensureAuthority(
  certPath: string, keyPath: string, subject: x509.JsonName, force: boolean, out: Output,
): Promise<Authority> {
  if (!force && (await pairPresent(certPath, keyPath))) {
    const { cert, keyPem } = await loadPair(certPath, keyPath);
    const pkcs8 = x509.PemConverter.decodeFirst(keyPem);
    const privateKey = await webCrypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, false, ['sign']);
    return { cert, privateKey, fresh: false };
  }
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: subject,
    ...validity(CA_DAYS),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await out.write(keyPath, await privateKeyPem(keys.privateKey), 0o600);
  await out.write(certPath, cert.toString('pem'), 0o644);
  return { cert, privateKey: keys.privateKey, fresh: true };
}

async function ensureLeaf(
  certPath: string, keyPath: string, spec: LeafSpec, issuer: Authority, force: boolean, out: Output,
): Promise<Issued> {
  // A freshly generated issuer makes any existing leaf unverifiable, so it is reissued.
  if (!force && !issuer.fresh && (await pairPresent(certPath, keyPath))) {
    const { cert } = await loadPair(certPath, keyPath);
    const issuerNode = new NodeCertificate(issuer.cert.toString('pem'));
    if (!new NodeCertificate(cert.toString('pem')).verify(issuerNode.publicKey)) {
      throw new Error(`${path.basename(certPath)} was not signed by the CA in this directory; rerun with --force`);
    }
    return { cert, fresh: false };
  }
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: spec.subject,
    issuer: issuer.cert.subjectName,
    ...validity(LEAF_DAYS),
    publicKey: keys.publicKey,
    signingKey: issuer.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([spec.usage]),
      new x509.SubjectAlternativeNameExtension(spec.san),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey),
    ],
  });
  await out.write(keyPath, await privateKeyPem(keys.privateKey), 0o600);
  await out.write(certPath, cert.toString('pem'), 0o644);
  return { cert, fresh: true };
}

async function createCrl(ca: Authority, revoked: x509.X509Certificate): Promise<x509.X509Crl> {
  const now = Date.now();
  return x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: new Date(now - CLOCK_SKEW_MS),
    nextUpdate: new Date(now + CA_DAYS * DAY_MS),
    entries: [{
      serialNumber: revoked.serialNumber,
      revocationDate: new Date(now - CLOCK_SKEW_MS),
      reason: x509.X509CrlReason.keyCompromise,
    }],
    signingKey: ca.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      new x509.Extension(OID_CRL_NUMBER, false, derInteger(Math.floor(now / 1000))),
    ],
  });
}

/** DER encoding of a non-negative integer (used for the CRL number). */
function derInteger(value: number): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! >= 0x80) bytes.unshift(0);
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

// ---------------------------------------------------------------------------------------
// Command line

const USAGE = 'usage: node --import tsx certs/generate.ts [--out DIR] [--force]';

interface CliArgs {
  readonly outDir: string;
  readonly force: boolean;
  readonly help: boolean;
}

function parseArgs(argv: readonly string[], defaultOut: string): CliArgs {
  let outDir = defaultOut;
  let force = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--force') force = true;
    else if (arg === '-h' || arg === '--help') help = true;
    else if (arg === '--out') {
      const value = argv[++i];
      if (value === undefined || value === '' || value.startsWith('--')) throw new Error('--out needs a directory');
      outDir = value;
    } else if (arg.startsWith('--out=')) {
      outDir = arg.slice('--out='.length);
      if (outDir === '') throw new Error('--out needs a directory');
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return { outDir, force, help };
}

/** certs/ of the repository, also when this module runs compiled from dist/certs/. */
function defaultOutDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '..', '..', 'certs') : here;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv, defaultOutDir());
  } catch (err) {
    process.stderr.write(`certs: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\nWrites TEST-ONLY development certificates; existing files are kept unless --force.\n`);
    return 0;
  }
  const result = await generateDevCertificates(args.outDir, { force: args.force });
  const written = new Set(result.written);
  const listed = Object.entries(result).filter(
    (entry): entry is [string, string] => entry[0] !== 'dir' && typeof entry[1] === 'string');
  process.stdout.write(`TEST-ONLY development certificates in ${result.dir} (never use in production):\n`);
  for (const [, file] of listed) {
    process.stdout.write(`  ${written.has(file) ? 'wrote' : 'kept '}  ${path.basename(file)}\n`);
  }
  return 0;
}

function runDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(path.resolve(entry)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (runDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      process.stderr.write(`certs: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
