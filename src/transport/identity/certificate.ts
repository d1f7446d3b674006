// Connection identity derived from a TLS peer certificate (EMQX 5 reference §1.1, §5.3,
// §11.3): the values behind `dn`/`${cert_subject}`, `cn`/`${cert_common_name}`,
// `${cert_pem}`, `peer_cert_as_* = md5`, plus SAN lists and a SHA-256 fingerprint.

import { createHash } from 'node:crypto';

import { childrenOf, contentOf, decodeOid, expectUniversal, PeerCertificateError, readNode, Tag } from './der.js';
import { parseSubjectAltNames, type SubjectAltNames } from './san.js';
import { commonNameIsUtf8, commonNameOf, formatSubject, parseName } from './subject.js';

export interface PeerCertificateIdentity {
  /** Subject DN in EMQX's string form (see subject.ts), e.g. `CN=device-001,OU=Devices,O=Gatehouse Dev,C=SE`. */
  readonly subject: string;
  /** Every subject CN in certificate order joined by ","; absent when the subject has no CN. */
  readonly commonName?: string;
  /** The certificate exactly as received (DER). */
  readonly der: Buffer;
  /** Base64 of the DER, without PEM armor or line breaks (`${cert_pem}`). */
  readonly pemBody: string;
  /** Lowercase hex MD5 of the DER (`peer_cert_as_* = md5`). */
  readonly md5: string;
  /** Lowercase hex SHA-256 of the DER, no separators. */
  readonly fingerprintSha256: string;
  readonly sanDns: string[];
  readonly sanEmail: string[];
  readonly sanUri: string[];
  /** Fields whose certificate bytes are not valid UTF-8. */
  readonly notUtf8: readonly ('cn' | 'san_dns' | 'san_email' | 'san_uri')[];
}

const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/**
 * Derives the identity fields from a DER-encoded X.509 certificate.
 * Throws PeerCertificateError (with a reason, never the certificate bytes) on malformed input.
 */
export function certificateIdentity(der: Buffer): PeerCertificateIdentity {
  if (!(der instanceof Uint8Array)) throw new PeerCertificateError('expected DER bytes in a Buffer');
  if (der.length === 0) throw new PeerCertificateError('empty input');
  const bytes = Buffer.from(der); // a private copy: the identity outlives the socket buffer

  const top = readNode(bytes, 0);
  if (top.end !== bytes.length) {
    throw new PeerCertificateError(`${bytes.length - top.end} unexpected bytes after the certificate`);
  }
  expectUniversal(top, Tag.sequence, 'a Certificate (SEQUENCE)');
  const [tbs] = childrenOf(bytes, top);
  expectUniversal(tbs, Tag.sequence, 'a TBSCertificate (SEQUENCE)');
  const fields = childrenOf(bytes, tbs!);

  let i = 0;
  if (fields[0]?.tagClass === 'context' && fields[0].tagNumber === 0) i++; // [0] version
  expectUniversal(fields[i++], Tag.integer, 'the serial number (INTEGER)');
  expectUniversal(fields[i++], Tag.sequence, 'the signature algorithm (SEQUENCE)');
  expectUniversal(fields[i++], Tag.sequence, 'the issuer Name (SEQUENCE)');
  expectUniversal(fields[i++], Tag.sequence, 'the validity (SEQUENCE)');
  const subjectNode = expectUniversal(fields[i++], Tag.sequence, 'the subject Name (SEQUENCE)');
  expectUniversal(fields[i++], Tag.sequence, 'the subject public key info (SEQUENCE)');

  const name = parseName(bytes, subjectNode);
  const san: SubjectAltNames = { dns: [], email: [], uri: [], notUtf8: new Set() };
  for (const field of fields.slice(i)) {
    if (field.tagClass !== 'context' || field.tagNumber !== 3) continue; // [3] extensions
    const [extensions] = childrenOf(bytes, field);
    expectUniversal(extensions, Tag.sequence, 'Extensions (SEQUENCE)');
    for (const ext of childrenOf(bytes, extensions!)) {
      expectUniversal(ext, Tag.sequence, 'an Extension (SEQUENCE)');
      const parts = childrenOf(bytes, ext);
      const oid = decodeOid(contentOf(bytes, expectUniversal(parts[0], Tag.oid, 'an extension OID')));
      const value = expectUniversal(parts[parts.length - 1], Tag.octetString, 'an extension value (OCTET STRING)');
      if (oid === OID_SUBJECT_ALT_NAME) parseSubjectAltNames(contentOf(bytes, value), san);
    }
  }

  const commonName = commonNameOf(name);
  const notUtf8: ('cn' | 'san_dns' | 'san_email' | 'san_uri')[] = commonNameIsUtf8(name) ? [] : ['cn'];
  for (const kind of san.notUtf8 ?? []) notUtf8.push(`san_${kind}`);
  return {
    subject: formatSubject(name),
    ...(commonName === undefined ? {} : { commonName }),
    der: bytes,
    pemBody: bytes.toString('base64'),
    md5: createHash('md5').update(bytes).digest('hex'),
    fingerprintSha256: createHash('sha256').update(bytes).digest('hex'),
    sanDns: san.dns,
    sanEmail: san.email,
    sanUri: san.uri,
    notUtf8,
  };
}
