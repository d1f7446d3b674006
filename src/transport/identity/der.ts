// Minimal DER (ASN.1 distinguished encoding) reader: just enough to walk an X.509
// certificate's TBS structure, names and extensions. Every malformed input raises a
// PeerCertificateError naming the offset and the reason; nothing here trusts lengths.

export class PeerCertificateError extends Error {
  override readonly name = 'PeerCertificateError';
  constructor(readonly reason: string) {
    super(`invalid peer certificate: ${reason}`);
  }
}

/** Tag classes as found in the top two bits of the identifier octet. */
export type TagClass = 'universal' | 'application' | 'context' | 'private';

export interface DerNode {
  readonly tagClass: TagClass;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the last content octet. */
  readonly end: number;
}

/** Universal tag numbers used by the certificate readers. */
export const Tag = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  oid: 6,
  utf8String: 12,
  sequence: 16,
  set: 17,
  printableString: 19,
  teletexString: 20,
  ia5String: 22,
  universalString: 28,
  bmpString: 30,
} as const;

const CLASSES: readonly TagClass[] = ['universal', 'application', 'context', 'private'];

/** Reads the single element starting at `offset`; it must end at or before `limit`. */
export function readNode(buf: Uint8Array, offset: number, limit: number = buf.length): DerNode {
  let pos = offset;
  if (pos >= limit) throw new PeerCertificateError(`truncated element at offset ${offset}`);
  const first = buf[pos++]!;
  const tagClass = CLASSES[first >> 6]!;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (pos >= limit) throw new PeerCertificateError(`truncated tag at offset ${offset}`);
      if (i >= 4) throw new PeerCertificateError(`tag number too large at offset ${offset}`);
      const b = buf[pos++]!;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= limit) throw new PeerCertificateError(`truncated length at offset ${offset}`);
  const lenByte = buf[pos++]!;
  let length: number;
  if (lenByte < 0x80) {
    length = lenByte;
  } else if (lenByte === 0x80) {
    throw new PeerCertificateError(`indefinite length (not DER) at offset ${offset}`);
  } else {
    const count = lenByte & 0x7f;
    if (count > 4) throw new PeerCertificateError(`length field too large at offset ${offset}`);
    if (pos + count > limit) throw new PeerCertificateError(`truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
  }
  const end = pos + length;
  if (end > limit) {
    throw new PeerCertificateError(`element at offset ${offset} claims ${length} bytes but only ${limit - pos} remain`);
  }
  return { tagClass, constructed, tagNumber, start: offset, contentStart: pos, end };
}

/** The elements directly inside a constructed node. */
export function childrenOf(buf: Uint8Array, node: DerNode): DerNode[] {
  if (!node.constructed) {
    throw new PeerCertificateError(`expected a constructed element at offset ${node.start}`);
  }
  const out: DerNode[] = [];
  let pos = node.contentStart;
  while (pos < node.end) {
    const child = readNode(buf, pos, node.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function isUniversal(node: DerNode, tagNumber: number): boolean {
  return node.tagClass === 'universal' && node.tagNumber === tagNumber;
}

export function expectUniversal(node: DerNode | undefined, tagNumber: number, what: string): DerNode {
  if (!node || !isUniversal(node, tagNumber)) {
    const where = node ? `offset ${node.start}` : 'end of structure';
    throw new PeerCertificateError(`expected ${what} at ${where}`);
  }
  return node;
}

export function contentOf(buf: Uint8Array, node: DerNode): Uint8Array {
  return buf.subarray(node.contentStart, node.end);
}

/** Dotted-decimal text of an OBJECT IDENTIFIER's content octets. */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw new PeerCertificateError('empty object identifier');
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (const b of content) {
    if (!started && b === 0x80) throw new PeerCertificateError('non-minimal object identifier arc');
    started = true;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new PeerCertificateError('object identifier arc too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const top = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(top, value - top * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
      started = false;
    }
  }
  if (started) throw new PeerCertificateError('truncated object identifier');
  return arcs.join('.');
}
