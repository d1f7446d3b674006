import { isDeepStrictEqual } from 'node:util';
import { ProxyProtocolError, parseProxyHeader, type ParseResult } from '../../listeners/proxy-protocol.js';
import { Rng, mutateBytes } from './prng.js';

/**
 * Proxy Protocol v1/v2 header generator (haproxy doc/proxy-protocol.txt), with the reader's
 * in-process invariants checked on every header made: only ProxyProtocolError escapes; a
 * prefix of an input is either "need more bytes" or a refusal, never a different header; a
 * prefix of a valid header is never refused; an unmutated header parses to what was encoded.
 */

export interface ProxyCase {
  version: 1 | 2;
  label: string;
  /** The header alone (for the in-process checks). */
  header: Buffer;
  /** Whether the header was left valid. */
  valid: boolean;
  /** The source address an unmutated header carries. */
  source: { host: string; port: number } | undefined;
}

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const tlv = (type: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([type]), u16(value.length), value]);

function ipv4(rng: Rng): string {
  return [1 + rng.int(254), rng.int(256), rng.int(256), 1 + rng.int(254)].join('.');
}

function v1(rng: Rng): ProxyCase {
  if (rng.chance(0.1)) return { version: 1, label: 'v1 UNKNOWN', header: b('PROXY UNKNOWN\r\n'), valid: true, source: undefined };
  const src = ipv4(rng);
  const port = rng.int(65536);
  const six = rng.chance(0.3);
  const host = six ? `2001:db8::${(1 + rng.int(0xfffe)).toString(16)}` : src;
  const line = `PROXY ${six ? 'TCP6' : 'TCP4'} ${host} ${six ? '2001:db8::1' : '127.0.0.1'} ${port} 1883\r\n`;
  return { version: 1, label: `v1 ${six ? 'TCP6' : 'TCP4'}`, header: b(line), valid: true, source: { host: six ? host : src, port } };
}

function v2(rng: Rng): ProxyCase {
  const local = rng.chance(0.1);
  const fam = rng.pick([0x11, 0x21, 0x00, 0x31]);
  let addr: Buffer;
  let source: ProxyCase['source'];
  if (fam === 0x11) {
    const a = [1 + rng.int(254), rng.int(256), rng.int(256), 1 + rng.int(254)];
    const port = rng.int(65536);
    addr = Buffer.concat([Buffer.from(a), Buffer.from([127, 0, 0, 1]), u16(port), u16(1883)]);
    source = { host: a.join('.'), port };
  } else if (fam === 0x21) {
    const a = Buffer.alloc(16);
    a.writeUInt32BE(0x20010db8, 0);
    a.writeUInt16BE(1 + rng.int(0xfffe), 14);
    const port = rng.int(65536);
    addr = Buffer.concat([a, Buffer.alloc(15), Buffer.from([1]), u16(port), u16(1883)]);
    source = { host: `2001:db8::${a.readUInt16BE(14).toString(16)}`, port };
  } else if (fam === 0x31) {
    addr = Buffer.alloc(216);
    source = undefined;
  } else {
    addr = Buffer.alloc(0);
    source = undefined;
  }
  const tlvs: Buffer[] = [];
  if (rng.chance(0.3)) tlvs.push(tlv(0x02, b('fz.example')));
  if (rng.chance(0.3)) {
    const subs = Buffer.concat([tlv(0x21, b('TLSv1.3')), tlv(0x22, Buffer.from('fz-cn-é', 'utf8')), tlv(0x23, b('TLS_AES_128_GCM_SHA256'))]);
    tlvs.push(tlv(0x20, Buffer.concat([Buffer.from([0x07]), Buffer.alloc(4), subs])));
  }
  if (rng.chance(0.2)) tlvs.push(tlv(0x04, Buffer.alloc(rng.int(8)))); // PP2_TYPE_NOOP
  const payload = Buffer.concat([addr, ...tlvs]);
  const header = Buffer.concat([SIG, Buffer.from([local ? 0x20 : 0x21, fam]), u16(payload.length), payload]);
  return { version: 2, label: `v2 fam 0x${fam.toString(16)}${local ? ' LOCAL' : ''}`, header, valid: true, source: local ? undefined : source };
}

/** One structural change to a header (fields where a reader trusts the sender). */
function mutate(rng: Rng, c: ProxyCase): void {
  const h = Buffer.from(c.header);
  c.valid = false;
  if (c.version === 1) {
    const line = h.toString('latin1');
    const edits: Array<() => string> = [
      () => line.replace(/ \d+ /, ` ${rng.pick(['65536', '01883', '-1', '', '99999999'])} `),
      () => line.replace(/TCP[46]/, rng.pick(['TCP5', 'UDP4', 'tcp4', 'UNKNOWN ', ''])),
      () => line.replace(/\d+\.\d+\.\d+\.\d+/, rng.pick(['256.1.1.1', '1.2.3', '::1', '1.2.3.4.5', ' 1.2.3.4'])),
      () => line.replace('\r\n', rng.pick(['\n', '\r', '', '\r\r\n', ' \r\n'])),
      () => line.replace('\r\n', `${' '.repeat(100)}\r\n`),
      () => line.replace(' ', '  '),
      () => line.replace('PROXY', rng.pick(['PROXy', 'PROX', 'PROXY PROXY'])),
      () => `${line.slice(0, -2)} extra\r\n`,
    ];
    c.header = b(rng.pick(edits)());
    c.label += ' fields';
    return;
  }
  switch (rng.int(6)) {
    case 0:
      h.writeUInt16BE(rng.pick([0, 1, 11, 35, 0xffff, 4097, Math.max(0, h.readUInt16BE(14) + rng.pick([-5, -1, 1, 5]))]), 14);
      c.label += ' length';
      break;
    case 1:
      h[12] = rng.pick([0x10, 0x22, 0x2f, 0x31, 0x00]);
      c.label += ' ver/cmd';
      break;
    case 2:
      h[13] = rng.pick([0x12, 0x13, 0x41, 0x1f, 0x22, 0xff]);
      c.label += ' family';
      break;
    default: {
      // a TLV whose length runs past the header, or a short SSL TLV, appended with the length adjusted
      const bad = rng.pick([
        Buffer.from([0x02, 0x00, 0x40, 0x61]),
        Buffer.from([0x20, 0x00, 0x03, 0x01, 0x00, 0x00]),
        Buffer.concat([Buffer.from([0x20]), u16(8), Buffer.from([0x03, 0, 0, 0, 0]), Buffer.from([0x22, 0x00, 0x09])]),
        Buffer.from([0x04, 0x00]),
        tlv(0x22, Buffer.from([0xff, 0xfe, 0x00])),
      ]);
      c.header = Buffer.concat([h, bad]);
      c.header.writeUInt16BE(c.header.length - 16, 14);
      c.label += ' tlv';
      return;
    }
  }
  c.header = h;
}

export function proxyHeaderCase(rng: Rng): ProxyCase {
  const c = rng.chance(0.4) ? v1(rng) : v2(rng);
  if (rng.chance(0.6)) mutate(rng, c);
  if (rng.chance(0.15)) {
    c.header = mutateBytes(rng, c.header);
    c.valid = false;
    c.label += ' bytes';
  }
  return c;
}

function attempt(buf: Buffer): ParseResult | ProxyProtocolError {
  try {
    return parseProxyHeader(buf);
  } catch (err) {
    if (err instanceof ProxyProtocolError) return err;
    throw new Error(`parseProxyHeader threw ${String(err)} (not a ProxyProtocolError)`);
  }
}

/** The reader's invariants on one input (header plus what follows); a message when one is broken. */
export function proxyParserProblem(c: ProxyCase, input: Buffer): string | undefined {
  let whole: ParseResult | ProxyProtocolError;
  try {
    whole = attempt(input);
  } catch (err) {
    return (err as Error).message;
  }
  if (c.valid) {
    if (whole instanceof ProxyProtocolError || !whole.complete) return `a valid ${c.label} header was not read: ${whole instanceof ProxyProtocolError ? whole.message : 'incomplete'}`;
    if (whole.header.length !== c.header.length) return `header length ${whole.header.length}, encoded ${c.header.length}`;
    if (c.source && !isDeepStrictEqual(whole.header.source, c.source)) return `source ${JSON.stringify(whole.header.source)}, encoded ${JSON.stringify(c.source)}`;
  }
  if (!(whole instanceof ProxyProtocolError) && whole.complete && whole.header.length > input.length) return 'header longer than the input';
  const end = whole instanceof ProxyProtocolError || !whole.complete ? input.length : whole.header.length;
  for (let n = 0; n < end; n++) {
    let part: ParseResult | ProxyProtocolError;
    try {
      part = attempt(input.subarray(0, n));
    } catch (err) {
      return `prefix of ${n} bytes: ${(err as Error).message}`;
    }
    if (!(part instanceof ProxyProtocolError) && part.complete) {
      if (whole instanceof ProxyProtocolError || !whole.complete || !isDeepStrictEqual(part.header, whole.header)) return `prefix of ${n} bytes reads as a complete header the whole input does not`;
    }
    if (part instanceof ProxyProtocolError && c.valid) return `prefix of ${n} bytes of a valid header refused: ${part.message}`;
  }
  return undefined;
}

