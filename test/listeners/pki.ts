// A TEST-ONLY root → intermediate PKI made with the openssl CLI (an implementation independent
// of Gatehouse's), with CRLs kept by `openssl ca`, for the TLS trust tests.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { childrenOf, readNode } from '../../src/transport/identity/der.js';
import { run } from './support.js';

/** A DER element: tag, definite length (RFC 5280 relies on X.690 DER), content. */
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}

export interface TestPki {
  dir: string;
  /** root.pem + int1.pem: the listener's cacertfile. */
  cas: string;
  root: string;
  /** Both CAs' CRLs concatenated (intermediate first, as operators do it either way). */
  crls: string;
  /** The file holding `<name>`'s certificate followed by the intermediate. */
  chain(name: string): string;
  key(name: string): string;
  /**
   * Issues a client certificate from the intermediate (or `opts.issuer`); `subj` as openssl's
   * -subj. With distribution points on, it names `opts.crlUri` or its issuer's CRL URL.
   */
  issue(name: string, subj: string, ext?: string, opts?: { issuer?: string; crlUri?: string }): Promise<void>;
  /** Another intermediate CA `name` under the root (its CRL is kept like the others'). */
  addIntermediate(name: string): Promise<void>;
  /**
   * A CRL of no revocations that names CA `of` as its issuer but is signed by another key
   * (a CA made up with the same subject), written to `out`: its signature must not verify.
   */
  forgedCrl(of: string, out: string): Promise<void>;
  /**
   * Issues `<name>` with a subject of one CN holding exactly `cn` as a UTF8String: bytes
   * `openssl req -subj` cannot write (U+0000, invalid UTF-8, more than the 64 characters of
   * RFC 5280's ub-common-name). The subject is put into an openssl-made certificate, which
   * `openssl x509 -CA` then signs again.
   */
  issueWithCn(name: string, cn: Buffer): Promise<void>;
  /** Revokes `<name>` at its issuer (the intermediate unless given), rewrites every CA's CRL and `crls` (RFC 5280 §5). */
  revoke(name: string, issuer?: string): Promise<void>;
}

export interface PkiOptions {
  /**
   * Put a CRL distribution point (RFC 5280 §4.2.1.13) into every certificate a CA issues:
   * `crlDistributionPoints = URI:<crlUri(ca)>`, where each CA's CRL is `<dir>/<ca>.crl` (PEM).
   */
  crlUri?: (ca: string) => string;
}

export async function openssl(args: string[]): Promise<void> {
  const r = await run('openssl', args);
  assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

export async function makePki(dir: string, opts: PkiOptions = {}): Promise<TestPki> {
  const f = (name: string) => join(dir, name);
  writeFileSync(f('ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  writeFileSync(f('leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const cas: string[] = [];
  const issuerOf = new Map<string, string>();
  const caFiles = (ca: string) => {
    cas.push(ca);
    writeFileSync(f(`${ca}.index`), '');
    writeFileSync(f(`${ca}.crlnum`), '01\n');
    writeFileSync(
      f(`${ca}.cnf`),
      `[ca]\ndefault_ca = d\n[d]\ndatabase = ${f(`${ca}.index`)}\ncrlnumber = ${f(`${ca}.crlnum`)}\ndefault_md = sha256\ndefault_crl_days = 2\n`,
    );
  };
  const selfSigned = (name: string, subj: string) =>
    openssl(['req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-subj', subj, '-days', '2',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  caFiles('root');
  caFiles('int1');
  await selfSigned('root', '/CN=Trust Root (TEST ONLY)');
  let serial = 100;
  /** `ext` plus the issuer's distribution point (or `crlUri`) when distribution points are on. */
  const withDp = (ext: string, issuer: string, crlUri?: string) => {
    const uri = crlUri ?? opts.crlUri?.(issuer);
    if (uri === undefined) return ext;
    const file = `${ext}.${issuer}.${++serial}.ext`;
    writeFileSync(f(file), `${readFileSync(f(ext), 'utf8')}crlDistributionPoints=URI:${uri}\n`);
    return file;
  };
  const sign = async (name: string, issuer: string, subj: string, ext: string, crlUri?: string) => {
    const extFile = withDp(ext, issuer, crlUri);
    await openssl(['req', '-new', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subj]);
    await openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${issuer}.pem`), '-CAkey', f(`${issuer}.key`), '-set_serial', String(++serial),
      '-days', '2', '-extfile', f(extFile), '-out', f(`${name}.pem`)]);
    issuerOf.set(name, issuer);
  };
  await sign('int1', 'root', '/CN=Trust Intermediate (TEST ONLY)', 'ca.ext');
  const pem = (name: string) => readFileSync(f(`${name}.pem`), 'utf8');
  writeFileSync(f('cas.pem'), pem('root') + pem('int1'));
  const gencrlOf = (ca: string, out: string, cert = ca) =>
    openssl(['ca', '-config', f(`${ca}.cnf`), '-keyfile', f(`${cert}.key`), '-cert', f(`${cert}.pem`), '-gencrl', '-out', out]);
  const gencrl = async () => {
    for (const ca of cas) await gencrlOf(ca, f(`${ca}.crl`));
    writeFileSync(f('crls.pem'), readFileSync(f('int1.crl'), 'utf8') + readFileSync(f('root.crl'), 'utf8'));
  };
  await gencrl();
  const pki: TestPki = {
    dir,
    cas: f('cas.pem'),
    root: f('root.pem'),
    crls: f('crls.pem'),
    chain: (name) => f(`${name}.chain.pem`),
    key: (name) => f(`${name}.key`),
    async issue(name, subj, ext, o = {}) {
      const issuer = o.issuer ?? 'int1';
      const extFile = ext ? `${name}.ext` : 'leaf.ext';
      if (ext) writeFileSync(f(extFile), `${readFileSync(f('leaf.ext'), 'utf8')}${ext}\n`);
      await sign(name, issuer, subj, extFile, o.crlUri);
      writeFileSync(f(`${name}.chain.pem`), pem(name) + pem(issuer));
    },
    async addIntermediate(name) {
      caFiles(name);
      await sign(name, 'root', `/CN=Trust Intermediate ${name} (TEST ONLY)`, 'ca.ext');
      await gencrl();
    },
    async forgedCrl(of, out) {
      const forger = `${of}-forger`;
      caFiles(forger);
      cas.pop(); // not a CA of the PKI: its CRL is written to `out` only
      const subject = new X509Certificate(readFileSync(f(`${of}.pem`))).subject.split('\n').map((rdn) => `/${rdn}`).join('');
      await selfSigned(forger, subject);
      await gencrlOf(forger, out);
    },
    async issueWithCn(name, cn) {
      // No keyUsage: OpenSSL takes a certificate as self-signed only if a keyUsage allows keyCertSign.
      writeFileSync(f('plain.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
      await sign(`${name}-template`, 'int1', '/CN=template', 'plain.ext');
      const der = new X509Certificate(readFileSync(f(`${name}-template.pem`))).raw;
      const cert = readNode(der, 0);
      const [tbs, ...signature] = childrenOf(der, cert);
      const fields = childrenOf(der, tbs!);
      const at = fields[0]!.tagClass === 'context' ? 5 : 4; // after [0] version, serial, signature, issuer, validity
      const cnOid = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);
      const subject = tlv(0x30, tlv(0x31, tlv(0x30, Buffer.concat([cnOid, tlv(0x0c, cn)]))));
      const parts = fields.map((node, i) => (i === at ? subject : der.subarray(node.start, node.end)));
      const patched = tlv(0x30, Buffer.concat([tlv(0x30, Buffer.concat(parts)), ...signature.map((n) => der.subarray(n.start, n.end))]));
      writeFileSync(f(`${name}.der`), patched);
      // Self-signed again with the leaf's own key first (extensions cleared, or the intermediate's
      // authority key id would say otherwise): `x509 -CA` wants a valid self-signed input.
      await openssl(['x509', '-inform', 'DER', '-in', f(`${name}.der`), '-signkey', f(`${name}-template.key`), '-clrext', '-days', '2', '-out', f(`${name}.self.pem`)]);
      await openssl(['x509', '-in', f(`${name}.self.pem`), '-CA', f('int1.pem'), '-CAkey', f('int1.key'), '-set_serial', String(++serial), '-days', '2', '-extfile', f('leaf.ext'), '-out', f(`${name}.pem`)]);
      writeFileSync(f(`${name}.key`), readFileSync(f(`${name}-template.key`)));
      writeFileSync(f(`${name}.chain.pem`), pem(name) + pem('int1'));
    },
    async revoke(name, issuer = issuerOf.get(name) ?? 'int1') {
      await openssl(['ca', '-config', f(`${issuer}.cnf`), '-keyfile', f(`${issuer}.key`), '-cert', f(`${issuer}.pem`), '-revoke', f(`${name}.pem`)]);
      await gencrl();
    },
  };
  return pki;
}
