// `mqtt.peer_cert_as_username` / `mqtt.peer_cert_as_clientid` (EMQX 5 reference §11.3):
// which certificate-derived value presets the username or client id.

import type { PeerCertificate } from '../types.js';

/**
 * EMQX 5.8 values: cn, dn, crt, pem, md5, disabled. Gatehouse additions: san_dns,
 * san_email, san_uri (the first entry of that kind) and fingerprint_sha256.
 */
export const PEER_CERT_AS_KINDS = [
  'cn', 'dn', 'crt', 'pem', 'md5', 'san_dns', 'san_email', 'san_uri', 'fingerprint_sha256', 'disabled',
] as const;

export type PeerCertAsKind = (typeof PEER_CERT_AS_KINDS)[number];

export function isPeerCertAsKind(value: unknown): value is PeerCertAsKind {
  return typeof value === 'string' && (PEER_CERT_AS_KINDS as readonly string[]).includes(value);
}

/**
 * The value `kind` selects from a peer certificate (from the TLS handshake, or the CN a
 * TLS-terminating proxy vouched for), or undefined when the
 * setting is `disabled` or the certificate has no such value (no CN, no SAN of that kind).
 *
 * - `dn` is the subject string even when it is empty (EMQX sets an empty username then).
 * - `crt` is the raw DER as a binary string: one UTF-16 code unit per byte (0-255), i.e.
 *   `der.toString('latin1')`; `Buffer.from(value, 'latin1')` gives the exact bytes back.
 *   EMQX uses the raw bytes; this is the lossless string form of them.
 * - `pem` is base64 of the DER without armor or line breaks (same as `${cert_pem}`).
 * - `md5` / `fingerprint_sha256` are lowercase hex digests of the DER.
 */
export function peerCertAs(kind: PeerCertAsKind, id: PeerCertificate): string | undefined {
  switch (kind) {
    case 'cn':
      return id.commonName;
    case 'dn':
      return id.subject;
    case 'crt':
      return id.der?.toString('latin1');
    case 'pem':
      return id.pemBody;
    case 'md5':
      return id.md5;
    case 'san_dns':
      return id.sanDns[0];
    case 'san_email':
      return id.sanEmail[0];
    case 'san_uri':
      return id.sanUri[0];
    case 'fingerprint_sha256':
      return id.fingerprintSha256;
    case 'disabled':
      return undefined;
  }
}
