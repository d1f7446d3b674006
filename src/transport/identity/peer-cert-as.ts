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
/** The longest UTF-8 string MQTT can carry (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3: a two-byte length). */
export const MQTT_STRING_MAX_BYTES = 65535;

/**
 * Why the value `kind` takes from a certificate cannot be a username or client id, or
 * undefined when it can. Gatehouse refuses the connection then (fails closed), where EMQX
 * falls back to what the client sent: a missing field, bytes that are not UTF-8, U+0000
 * (MQTT 5.0 [MQTT-1.5.4-1], [MQTT-1.5.4-2]) or more than `maxBytes` bytes of UTF-8.
 * `crt` is the certificate's raw bytes by definition (EMQX's form), so only its length counts.
 */
export function peerCertAsProblem(kind: PeerCertAsKind, id: PeerCertificate, maxBytes: number): string | undefined {
  const value = peerCertAs(kind, id);
  return identityValueProblem(kind, value, maxBytes, id.notUtf8?.includes(kind as 'cn') === true);
}

/** The checks of `peerCertAsProblem` on a value already taken (also for `psk_identity`). */
export function identityValueProblem(field: string, value: string | undefined, maxBytes: number, notUtf8 = false): string | undefined {
  if (value === undefined) return `the certificate has no ${field}`;
  if (field === 'crt') return value.length > maxBytes ? `${field} is ${value.length} bytes, more than ${maxBytes}` : undefined;
  if (notUtf8) return `${field} is not valid UTF-8`;
  if (value.includes('\u0000')) return `${field} contains U+0000`;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) return `${field} is ${bytes} bytes, more than ${maxBytes}`;
  return undefined;
}

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
