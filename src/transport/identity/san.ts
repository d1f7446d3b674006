// Subject Alternative Name entries (RFC 5280 §4.2.1.6) of the kinds Gatehouse exposes:
// DNS names, e-mail addresses (rfc822Name) and URIs. Other kinds (IP, otherName,
// directoryName, ...) are skipped.

import { isUtf8 } from 'node:buffer';
import { childrenOf, contentOf, expectUniversal, readNode, Tag } from './der.js';

export interface SubjectAltNames {
  readonly dns: string[];
  readonly email: string[];
  readonly uri: string[];
  /** Kinds with an entry that is not valid UTF-8. */
  readonly notUtf8?: Set<'dns' | 'email' | 'uri'>;
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
    const bytes = contentOf(extnValue, name);
    const text = Buffer.from(bytes).toString('utf8');
    const kind = name.tagNumber === DNS_NAME ? 'dns' : name.tagNumber === RFC822_NAME ? 'email' : name.tagNumber === URI ? 'uri' : undefined;
    if (kind === undefined) continue;
    into[kind].push(text);
    if (!isUtf8(bytes)) into.notUtf8?.add(kind);
  }
}
