// Subject Alternative Name entries (RFC 5280 §4.2.1.6) of the kinds Gatehouse exposes:
// DNS names, e-mail addresses (rfc822Name) and URIs. Other kinds (IP, otherName,
// directoryName, ...) are skipped.

import { childrenOf, contentOf, expectUniversal, readNode, Tag } from './der.js';

export interface SubjectAltNames {
  readonly dns: string[];
  readonly email: string[];
  readonly uri: string[];
}

const RFC822_NAME = 1;
const DNS_NAME = 2;
const URI = 6;

/** Parses the extnValue content (the DER of GeneralNames) of a subjectAltName extension. */
export function parseSubjectAltNames(extnValue: Uint8Array, into: SubjectAltNames): void {
  const root = readNode(extnValue, 0);
  expectUniversal(root, Tag.sequence, 'GeneralNames (SEQUENCE) in subjectAltName');
  for (const name of childrenOf(extnValue, root)) {
    if (name.tagClass !== 'context' || name.constructed) continue;
    const text = Buffer.from(contentOf(extnValue, name)).toString('utf8');
    if (name.tagNumber === DNS_NAME) into.dns.push(text);
    else if (name.tagNumber === RFC822_NAME) into.email.push(text);
    else if (name.tagNumber === URI) into.uri.push(text);
  }
}
