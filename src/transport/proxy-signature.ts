// How a Proxy Protocol header begins (haproxy doc/proxy-protocol.txt §2.1, §2.2): enough for
// a front to tell a header from its protocol's first bytes on a listener that expects none,
// and for the listeners' parser (listeners/proxy-protocol.ts) to pick the version.

/** v1: a text line starting "PROXY ". */
export const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v2: the twelve-byte binary signature. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** True when buf begins like a PROXY header of either version (for telling one apart on a listener that expects none). */
export function looksLikeProxyHeader(buf: Buffer): boolean {
  return (buf.length >= 4 && startsLike(buf, V1_PREFIX)) || (buf.length >= V2_SIGNATURE.length && startsLike(buf, V2_SIGNATURE));
}

/**
 * True while buf is too short to tell: it agrees with the start of a PROXY header of either
 * version but is shorter than what `looksLikeProxyHeader` needs to say yes.
 */
export function mayStillBeProxyHeader(buf: Buffer): boolean {
  return (buf.length < 4 && startsLike(buf, V1_PREFIX)) || (buf.length < V2_SIGNATURE.length && startsLike(buf, V2_SIGNATURE));
}

/** True when buf and the prefix agree on their common length (a byte loop: no views made on the connect path). */
export function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}
