// The certificate subject as EMQX 5 renders it for `dn` / `${cert_subject}` and `cn` /
// `${cert_common_name}` (esockd_ssl:peer_cert_subject/1 and peer_cert_common_name/1 on top
// of OTP's public_key "otp" certificate decoding). Observable rules reproduced here:
//
// * RDNs are written in reverse certificate order (RFC 4514 style: the last RDN, usually
//   CN, comes first), joined by "," with no spaces; the attributes of a multi-valued RDN
//   are joined by "+" in the order stored in the certificate.
// * Attribute labels: SN GIVENNAME INITIALS GENERATIONQUALIFIER CN L ST O OU TITLE C
//   SERIALNUMBER PSEUDONYM DC EMAILADDRESS UID; every other type (including name,
//   dnQualifier and street) is written as its dotted OID.
// * Values become UTF-8 bytes (UTF8String as-is; Teletex as Latin-1, BMP/Universal as
//   UCS-2/UCS-4, each converted to UTF-8), then escaped: a leading space or "#", a trailing
//   space and any of  " + , ; < > \  get a backslash; every byte below 0x20 or at/above 0x7E
//   becomes "\XX" (uppercase hex). So non-ASCII text shows as hex escapes and "~" as \7E.
// * A value of a type OTP does not decode is shown as its string content when it is one of
//   the DirectoryString types, otherwise as an Erlang binary term of the whole encoded
//   value ("<<22,3,...>>", then escaped like any value).
// * The common name is every CN value in certificate order, unescaped, joined by ",".

import {
  childrenOf,
  contentOf,
  decodeOid,
  expectUniversal,
  PeerCertificateError,
  Tag,
  type DerNode,
} from './der.js';
import { isUtf8 } from 'node:buffer';

export interface NameAttribute {
  readonly oid: string;
  /** The whole encoded AttributeValue (tag, length and content). */
  readonly value: Uint8Array;
  /** The content octets of `value`. */
  readonly content: Uint8Array;
  readonly universal: boolean;
  readonly tagNumber: number;
}

/** RDNs in certificate order; each RDN holds one or more attributes. */
export type ParsedName = readonly (readonly NameAttribute[])[];

const OID_CN = '2.5.4.3';

const LABELS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.4', 'SN'],
  ['2.5.4.42', 'GIVENNAME'],
  ['2.5.4.43', 'INITIALS'],
  ['2.5.4.44', 'GENERATIONQUALIFIER'],
  [OID_CN, 'CN'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.12', 'TITLE'],
  ['2.5.4.6', 'C'],
  ['2.5.4.5', 'SERIALNUMBER'],
  ['2.5.4.65', 'PSEUDONYM'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['1.2.840.113549.1.9.1', 'EMAILADDRESS'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

// Attribute types OTP decodes into strings; other types stay raw encoded bytes.
const DECODED_TYPES: ReadonlySet<string> = new Set([
  '2.5.4.41', '2.5.4.4', '2.5.4.42', '2.5.4.43', '2.5.4.44', '2.5.4.3', '2.5.4.7',
  '2.5.4.8', '2.5.4.10', '2.5.4.11', '2.5.4.12', '2.5.4.46', '2.5.4.6', '2.5.4.5',
  '2.5.4.65', '0.9.2342.19200300.100.1.25', '1.2.840.113549.1.9.1',
]);

const DIRECTORY_STRING_TAGS: ReadonlySet<number> = new Set([
  Tag.teletexString, Tag.printableString, Tag.bmpString, Tag.universalString, Tag.utf8String,
]);

// String types OTP hands back as plain byte lists for the decoded attribute types.
const PLAIN_STRING_TAGS: ReadonlySet<number> = new Set([
  Tag.printableString, Tag.ia5String, 18 /* NumericString */, 26 /* VisibleString */,
]);

export function parseName(buf: Uint8Array, node: DerNode): ParsedName {
  expectUniversal(node, Tag.sequence, 'a Name (SEQUENCE)');
  return childrenOf(buf, node).map((rdn) => {
    expectUniversal(rdn, Tag.set, 'a RelativeDistinguishedName (SET)');
    return childrenOf(buf, rdn).map((atv) => {
      expectUniversal(atv, Tag.sequence, 'an AttributeTypeAndValue (SEQUENCE)');
      const [typeNode, valueNode, extra] = childrenOf(buf, atv);
      const oidNode = expectUniversal(typeNode, Tag.oid, 'an attribute type OID');
      if (!valueNode || extra) {
        throw new PeerCertificateError(`AttributeTypeAndValue at offset ${atv.start} must hold exactly a type and a value`);
      }
      return {
        oid: decodeOid(contentOf(buf, oidNode)),
        value: buf.subarray(valueNode.start, valueNode.end),
        content: contentOf(buf, valueNode),
        universal: valueNode.tagClass === 'universal',
        tagNumber: valueNode.tagNumber,
      };
    });
  });
}

/** EMQX's `dn` string for a parsed subject. */
export function formatSubject(name: ParsedName): string {
  return [...name]
    .reverse()
    .map((rdn) => rdn.map(formatAttribute).join('+'))
    .join(',');
}

/** EMQX's `cn`: all CN values in certificate order joined by ","; undefined when none. */
export function commonNameOf(name: ParsedName): string | undefined {
  const values = name.flat().filter((a) => a.oid === OID_CN);
  if (values.length === 0) return undefined;
  return values.map((a) => Buffer.from(valueBytes(a)).toString('utf8')).join(',');
}

/** Whether every CN value is valid UTF-8 (RFC 3629) once converted as `commonNameOf` does. */
export function commonNameIsUtf8(name: ParsedName): boolean {
  return name
    .flat()
    .filter((a) => a.oid === OID_CN)
    .every((a) => isUtf8(Uint8Array.from(valueBytes(a))));
}

function formatAttribute(attr: NameAttribute): string {
  const label = LABELS.get(attr.oid) ?? attr.oid;
  return `${label}=${escapeValue(valueBytes(attr))}`;
}

/** The attribute value as the byte list EMQX formats (UTF-8 for text). */
function valueBytes(attr: NameAttribute): number[] {
  const { universal, tagNumber } = attr;
  if (universal) {
    const decodedType = DECODED_TYPES.has(attr.oid);
    if (DIRECTORY_STRING_TAGS.has(tagNumber) || (decodedType && PLAIN_STRING_TAGS.has(tagNumber))) {
      const text = stringBytes(tagNumber, attr.content);
      if (text) return text;
    }
  }
  return [...erlangBinaryTerm(attr.value)].map((c) => c.charCodeAt(0));
}

function stringBytes(tagNumber: number, content: Uint8Array): number[] | undefined {
  switch (tagNumber) {
    case Tag.teletexString:
      return [...Buffer.from(Buffer.from(content).toString('latin1'), 'utf8')];
    case Tag.bmpString: {
      if (content.length % 2 !== 0) return undefined;
      let s = '';
      for (let i = 0; i < content.length; i += 2) s += String.fromCharCode((content[i]! << 8) | content[i + 1]!);
      return [...Buffer.from(s, 'utf8')];
    }
    case Tag.universalString: {
      if (content.length % 4 !== 0) return undefined;
      let s = '';
      for (let i = 0; i < content.length; i += 4) {
        const cp = ((content[i]! << 24) | (content[i + 1]! << 16) | (content[i + 2]! << 8) | content[i + 3]!) >>> 0;
        if (cp > 0x10ffff) return undefined;
        s += String.fromCodePoint(cp);
      }
      return [...Buffer.from(s, 'utf8')];
    }
    default:
      return [...content];
  }
}

/** Erlang's `~p` rendering of a non-printable binary, e.g. <<22,3,97,98,99>>. */
function erlangBinaryTerm(bytes: Uint8Array): string {
  return `<<${[...bytes].join(',')}>>`;
}

const BACKSLASHED: ReadonlySet<number> = new Set([...'"+,;<>\\'].map((c) => c.charCodeAt(0)));

function escapeValue(bytes: readonly number[]): string {
  let out = '';
  bytes.forEach((c, i) => {
    if (i === 0 && (c === 0x20 || c === 0x23)) {
      out += `\\${String.fromCharCode(c)}`;
    } else if (i === bytes.length - 1 && c === 0x20) {
      out += '\\ ';
    } else if (BACKSLASHED.has(c)) {
      out += `\\${String.fromCharCode(c)}`;
    } else if (c < 0x20 || c >= 0x7e) {
      out += `\\${c.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += String.fromCharCode(c);
    }
  });
  return out;
}
