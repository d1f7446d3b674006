// Certificate revocation lists of a TLS listener (`ssl_options.enable_crl_check` + `crlfile`).
//
// OpenSSL checks the CRLs itself during a full handshake (node turns a `crl` option into
// X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL: every certificate of the chain needs a
// CRL from its issuer, RFC 5280 §6.3.3). Two things it does not do, which this file does:
//
// * A resumed session (RFC 5077 ticket, RFC 8446 §2.2 PSK resumption) skips certificate
//   verification entirely, so a leaf revoked after the original handshake would come back
//   in. `revokedLeaf` checks the session's leaf against the listener's current CRLs.
// * A CA of the listener's `cacertfile` without a CRL makes every client fail at run time
//   with UNABLE_TO_GET_CRL. `casWithoutCrl` names those CAs so the configuration is refused.

import 'reflect-metadata'; // @peculiar/x509 needs a Reflect metadata polyfill before it loads
import * as x509 from '@peculiar/x509';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** Every PEM block of the given label in `text`, in file order. */
export function pemBlocks(text: string, label: string): string[] {
  return [...text.matchAll(PEM_BLOCK)].filter((m) => m[1] === label).map((m) => m[0]);
}

/** The CRLs of a listener, parsed once per (re)load. */
export class CrlSet {
  private constructor(
    /** PEM of every CRL, for node's `crl` option (an array: node loads each one). */
    readonly pems: readonly string[],
    private readonly crls: readonly x509.X509Crl[],
  ) {}

  /** Parses every `X509 CRL` block of a file; throws with the block's position on a bad one. */
  static parse(text: string): CrlSet {
    const pems = pemBlocks(text, 'X509 CRL');
    if (pems.length === 0) throw new Error('no "BEGIN X509 CRL" block found');
    const crls = pems.map((pem, i) => {
      try {
        return new x509.X509Crl(pem);
      } catch (err) {
        throw new Error(`CRL number ${i + 1} in the file cannot be read: ${(err as Error).message}`);
      }
    });
    return new CrlSet(pems, crls);
  }

  get size(): number {
    return this.crls.length;
  }

  /** Issuer DNs the set has a CRL for. */
  issuers(): Set<string> {
    return new Set(this.crls.map((c) => c.issuer));
  }

  /**
   * Why the leaf (DER) is revoked by a CRL of its issuer, or undefined when it is not
   * (RFC 5280 §6.3.3: a CRL applies when its issuer is the certificate's issuer, and a
   * revoked certificate is listed by serial number).
   */
  revokedLeaf(der: Uint8Array): string | undefined {
    const leaf = new x509.X509Certificate(new Uint8Array(der));
    for (const crl of this.crls) {
      const revoked = revocationReason(crl, leaf);
      if (revoked) return revoked;
    }
    return undefined;
  }
}

/**
 * Why `cert` is revoked by `crl`, or undefined when the CRL does not list it. A CRL applies
 * only to certificates of its issuer (RFC 5280 §6.3.3 (b)(1), §5.3.3 indirect CRLs aside) and
 * lists them by serial number (§5.1.2.6).
 */
export function revocationReason(crl: x509.X509Crl, cert: x509.X509Certificate): string | undefined {
  if (crl.issuer !== cert.issuer) return undefined;
  const entry = crl.findRevoked(cert);
  return entry ? `CERT_REVOKED (serial ${cert.serialNumber}, revoked ${entry.revocationDate.toISOString()} by ${crl.issuer})` : undefined;
}

/**
 * The subjects of the CA certificates in `cacertPem` that no CRL of `crls` was issued by.
 * With CRL checks on, OpenSSL needs one for each CA of a client's chain (RFC 5280 §6.3.3).
 */
export function casWithoutCrl(cacertPem: string, crls: CrlSet): string[] {
  const have = crls.issuers();
  const missing: string[] = [];
  for (const pem of pemBlocks(cacertPem, 'CERTIFICATE')) {
    const ca = new x509.X509Certificate(pem);
    if (!have.has(ca.subject)) missing.push(ca.subject);
  }
  return missing;
}
