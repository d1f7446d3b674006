/**
 * IP addresses and networks as numbers, for the banned list's `peerhost` and `peerhost_net`
 * kinds. An IPv4 address is one unsigned 32-bit word; an IPv6 address four, most significant
 * first. The connect path parses the client's address into a caller-owned buffer, so a check
 * allocates nothing.
 *
 * Text forms: IPv4 dotted decimal (RFC 791, four decimal parts 0–255); IPv6 per RFC 4291 §2.2
 * (`::` once, an IPv4 tail, a `%zone` suffix ignored), written back per RFC 5952 §4 (lower
 * case, no leading zeros, the longest run of two or more zero groups as `::`, the first on a
 * tie). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is the IPv4 address,
 * as the listeners show such peers.
 */

export type IpFamily = 4 | 6;

/** A parsed address: `words` has one element for IPv4, four for IPv6. */
export interface IpAddress {
  family: IpFamily;
  words: Uint32Array;
}

/** A network: the address with its host bits cleared, and the prefix length. */
export interface IpNetwork extends IpAddress {
  prefix: number;
}

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_DOT = 46;
const CHAR_COLON = 58;

/** Dotted-decimal IPv4 in `text[from, to)` as an unsigned 32-bit number, or -1. */
function readIPv4(text: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= CHAR_0 && c <= CHAR_9) {
      if (digits > 0 && part === 0) return -1; // a leading zero ("01")
      part = part * 10 + (c - CHAR_0);
      if (part > 255) return -1;
      digits++;
    } else if (c === CHAR_DOT) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + part;
}

/** Dotted-decimal IPv4 as an unsigned 32-bit number, or -1 when `text` is not one. */
export function parseIPv4(text: string): number {
  return readIPv4(text, 0, text.length);
}

function hexValue(c: number): number {
  if (c >= CHAR_0 && c <= CHAR_9) return c - CHAR_0;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * Reads an IPv6 address into `out` (four words). Returns false when `text` is not one.
 * Uses no memory beyond `out`: this runs on every CONNECT when IPv6 networks are banned.
 */
export function parseIPv6(text: string, out: Uint32Array): boolean {
  let end = text.indexOf('%');
  if (end === 0) return false;
  if (end < 0) end = text.length;
  // Sixteen-bit groups before and after "::", packed into out as they come; shifted at the end.
  out[0] = out[1] = out[2] = out[3] = 0;
  let groups = 0;
  let gapAt = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === CHAR_COLON) {
    if (text.charCodeAt(1) !== CHAR_COLON) return false;
    gapAt = 0;
    i = 2;
    if (i === end) return true; // "::"
  }
  while (i < end) {
    if (groups === 8) return false;
    // An IPv4 tail: the rest holds a dot.
    let j = i;
    let value = 0;
    let digits = 0;
    let dotted = false;
    while (j < end) {
      const c = text.charCodeAt(j);
      if (c === CHAR_COLON) break;
      if (c === CHAR_DOT) {
        dotted = true;
        break;
      }
      const h = hexValue(c);
      if (h < 0 || digits === 4) return false;
      value = value * 16 + h;
      digits++;
      j++;
    }
    if (dotted) {
      if (groups > 6) return false;
      const v4 = readIPv4(text, i, end);
      if (v4 < 0) return false;
      setGroup(out, groups++, v4 >>> 16);
      setGroup(out, groups++, v4 & 0xffff);
      i = end;
      break;
    }
    if (digits === 0) return false;
    setGroup(out, groups++, value);
    i = j;
    if (i === end) break;
    // A colon: "::" marks the gap (once), a single one separates groups.
    i++;
    if (i < end && text.charCodeAt(i) === CHAR_COLON) {
      if (gapAt >= 0) return false;
      gapAt = groups;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // a trailing single colon
    }
  }
  if (gapAt < 0) return groups === 8;
  if (groups === 8) return false; // "::" must stand for at least one group
  // Move the groups after the gap to the end.
  const shift = 8 - groups;
  for (let g = groups - 1; g >= gapAt; g--) {
    setGroup(out, g + shift, getGroup(out, g));
    setGroup(out, g, 0);
  }
  return true;
}

function getGroup(words: Uint32Array, g: number): number {
  const w = words[g >> 1]!;
  return g & 1 ? w & 0xffff : w >>> 16;
}

function setGroup(words: Uint32Array, g: number, value: number): void {
  const w = words[g >> 1]!;
  words[g >> 1] = g & 1 ? ((w & 0xffff0000) | value) >>> 0 : ((value << 16) | (w & 0xffff)) >>> 0;
}

/** `::ffff:a.b.c.d`: the IPv4-mapped range (RFC 4291 §2.5.5.2). */
export function isV4Mapped(words: Uint32Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

/** An address in any of its text forms, or undefined. IPv4-mapped IPv6 becomes IPv4. */
export function parseAddress(text: string): IpAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4 >= 0) return { family: 4, words: Uint32Array.of(v4) };
  const words = new Uint32Array(4);
  if (!parseIPv6(text, words)) return undefined;
  if (isV4Mapped(words)) return { family: 4, words: Uint32Array.of(words[3]!) };
  return { family: 6, words };
}

/**
 * `address/prefix` (or a bare address: the whole address) with the host bits cleared, as
 * EMQX's `esockd_cidr:parse(_, true)` does: `10.1.2.3/8` is the network `10.0.0.0/8`.
 * An IPv4-mapped IPv6 network of prefix 96 or more becomes the IPv4 network.
 */
export function parseNetwork(text: string): IpNetwork | undefined {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const bits = address.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    // A mapped address was turned into IPv4: its prefix counts the 96 bits before it.
    if (address.family === 4 && slash >= 0 && parseIPv4(text.slice(0, slash)) < 0) {
      if (prefix < 96) return undefined;
      prefix -= 96;
    }
    if (prefix > bits) return undefined;
  }
  return { ...address, words: maskWords(address.words, prefix), prefix };
}

/** A copy of `words` with every bit past the first `prefix` cleared. */
export function maskWords(words: Uint32Array, prefix: number): Uint32Array {
  const out = new Uint32Array(words.length);
  for (let w = 0; w < words.length; w++) out[w] = maskWord(words[w]!, prefix - w * 32);
  return out;
}

/** One word with only its first `keep` bits (clamped to 0..32) left. */
export function maskWord(word: number, keep: number): number {
  if (keep >= 32) return word >>> 0;
  if (keep <= 0) return 0;
  return (word & (0xffffffff << (32 - keep))) >>> 0;
}

/** The canonical text of an address (RFC 5952 for IPv6). */
export function formatAddress(address: IpAddress): string {
  if (address.family === 4) {
    const v = address.words[0]!;
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  const groups: number[] = [];
  for (let g = 0; g < 8; g++) groups.push(getGroup(address.words, g));
  // The longest run of two or more zero groups (the first of equal runs) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && groups[end] === 0) end++;
    if (end - g > bestLength) {
      bestStart = g;
      bestLength = end - g;
    }
    g = end;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((n) => n.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** The canonical text of a network: `address/prefix`. */
export function formatNetwork(network: IpNetwork): string {
  return `${formatAddress(network)}/${network.prefix}`;
}

/**
 * A peer's address (as a listener reports it) into `out`: returns 4 with the address in
 * `out[0]`, 6 with it in `out[0..3]`, or 0 when the text is no address. IPv4-mapped IPv6 is
 * read as IPv4. Allocates nothing.
 */
export function readPeerAddress(text: string, out: Uint32Array): 0 | IpFamily {
  const v4 = parseIPv4(text);
  if (v4 >= 0) {
    out[0] = v4;
    return 4;
  }
  if (!parseIPv6(text, out)) return 0;
  if (isV4Mapped(out)) {
    out[0] = out[3]!;
    return 4;
  }
  return 6;
}
