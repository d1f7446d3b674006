import { Rng, mutateBytes, splitWrites } from './prng.js';

/**
 * MQTT 3.1.1 / 5.0 input generator. Packets are built from a small structural model
 * (fixed header + segments: strings, binary, property blocks, raw bytes), so mutations can
 * work where parsers go wrong: property blocks (duplicates, properties not allowed on the
 * packet, truncated strings/binary/pairs, lying lengths), variable byte integers (5 bytes,
 * non-minimal), strings (invalid UTF-8, U+0000, wildcards where a topic name is required),
 * then generic byte mutations and plain noise on top.
 */

export type MqttVersion = 4 | 5;

export interface MqttGenOptions {
  /**
   * Will property identifiers never put into a will. Known-bug switch: while a bug found by
   * the fuzzers is open, the suite's run can leave its input out so it still finds other
   * problems, and `npm run fuzz -- --known-bugs` puts it back. None is open now (the last one,
   * a will's Will Delay Interval forwarded to subscribers, is fixed in the aedes patch).
   */
  leaveOutOfWills: ReadonlySet<number>;
}

export const KNOWN_BUGS_LEFT_OUT: MqttGenOptions = { leaveOutOfWills: new Set() };
export const EVERYTHING: MqttGenOptions = { leaveOutOfWills: new Set() };

/** Set by mqttCase for the packet builders below (one case at a time). */
let options: MqttGenOptions = EVERYTHING;

export interface MqttCase {
  version: MqttVersion;
  /** `pre`: the first packet itself is fuzzed; `post`: a valid CONNECT, then fuzzed packets. */
  phase: 'pre' | 'post';
  /** What was done, for the failure report. */
  label: string;
  /** The whole input, in the writes it goes out as. */
  writes: Buffer[];
}

// ---- encoding ------------------------------------------------------------------------------

type PropType = 'byte' | 'u16' | 'u32' | 'varint' | 'str' | 'bin' | 'pair';

interface PropSpec {
  type: PropType;
  /** Packet types (1 CONNECT … 15 AUTH, 0 for the will) that may carry it (MQTT 5 §2.2.2.2). */
  on: readonly number[];
}

const WILL = 0;
/** MQTT 5 property identifiers (§2.2.2.2, Table 2-4). */
export const PROPERTIES: ReadonlyMap<number, PropSpec> = new Map<number, PropSpec>([
  [0x01, { type: 'byte', on: [3, WILL] }],
  [0x02, { type: 'u32', on: [3, WILL] }],
  [0x03, { type: 'str', on: [3, WILL] }],
  [0x08, { type: 'str', on: [3, WILL] }],
  [0x09, { type: 'bin', on: [3, WILL] }],
  [0x0b, { type: 'varint', on: [3, 8] }],
  [0x11, { type: 'u32', on: [1, 2, 14] }],
  [0x12, { type: 'str', on: [2] }],
  [0x13, { type: 'u16', on: [2] }],
  [0x15, { type: 'str', on: [1, 2, 15] }],
  [0x16, { type: 'bin', on: [1, 2, 15] }],
  [0x17, { type: 'byte', on: [1] }],
  [0x18, { type: 'u32', on: [WILL] }],
  [0x19, { type: 'byte', on: [1] }],
  [0x1a, { type: 'str', on: [2] }],
  [0x1c, { type: 'str', on: [2, 14] }],
  [0x1f, { type: 'str', on: [2, 4, 5, 6, 7, 9, 11, 14, 15] }],
  [0x21, { type: 'u16', on: [1, 2] }],
  [0x22, { type: 'u16', on: [1, 2] }],
  [0x23, { type: 'u16', on: [3] }],
  [0x24, { type: 'byte', on: [2] }],
  [0x25, { type: 'byte', on: [2] }],
  [0x26, { type: 'pair', on: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, WILL] }],
  [0x27, { type: 'u32', on: [1, 2] }],
  [0x28, { type: 'byte', on: [2] }],
  [0x29, { type: 'byte', on: [2] }],
  [0x2a, { type: 'byte', on: [2] }],
]);

interface Prop {
  id: number;
  /** The encoded value (after the identifier). */
  value: Buffer;
}

type Segment =
  | { k: 'raw'; b: Buffer }
  | { k: 'str'; b: Buffer; role: 'topic' | 'filter' | 'clientid' | 'willtopic' | 'text' }
  | { k: 'props'; props: Prop[]; owner: number; lengthOverride?: Buffer }
  | { k: 'payload'; b: Buffer };

interface Packet {
  type: number;
  flags: number;
  segments: Segment[];
  /** Replaces the Remaining Length encoding (bad varints). */
  lengthOverride?: Buffer;
}

export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A non-minimal encoding of n ([MQTT-1.5.5-1] requires the minimum number of bytes). */
function longVarint(n: number, bytes: number): Buffer {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) {
    const byte = n % 128;
    n = Math.floor(n / 128);
    out.push(i < bytes - 1 ? byte | 0x80 : byte);
  }
  return Buffer.from(out);
}

const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const lstr = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b]);

function encodeProps(props: Prop[]): Buffer {
  return Buffer.concat(props.flatMap((p) => [varint(p.id), p.value]));
}

function encodeSegment(s: Segment): Buffer {
  switch (s.k) {
    case 'raw':
    case 'payload':
      return s.b;
    case 'str':
      return lstr(s.b);
    case 'props': {
      const body = encodeProps(s.props);
      return Buffer.concat([s.lengthOverride ?? varint(body.length), body]);
    }
  }
}

export function encode(p: Packet): Buffer {
  const body = Buffer.concat(p.segments.map(encodeSegment));
  return Buffer.concat([Buffer.from([(p.type << 4) | (p.flags & 0x0f)]), p.lengthOverride ?? varint(body.length), body]);
}

// ---- valid packets ---------------------------------------------------------------------------

/** Client identifiers fuzz connections use: a small pool, so sessions they leave behind stay few. */
export const CLIENT_IDS: readonly string[] = Array.from({ length: 8 }, (_, i) => `fz-c${i}`);
/** Topics valid fuzz publishes use (under `fz/`): few, so retained messages stay few. */
const TOPICS = ['fz/a', 'fz/b/c', 'fz/é/€', 'fz/ü/𝄞', 'fz//x', 'fz/$x/y'];
const FILTERS = ['fz/#', 'fz/+/c', '#', '+/+', 'fz/a', '$SYS/#'];

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function valueOf(rng: Rng, type: PropType): Buffer {
  switch (type) {
    case 'byte':
      return Buffer.from([rng.int(2)]);
    case 'u16':
      return u16(1 + rng.int(100));
    case 'u32':
      return u32(rng.int(30));
    case 'varint':
      return varint(1 + rng.int(300));
    case 'str':
      return lstr(utf8(rng.pick(['text/plain', 'fz/resp', 'ä', ''])));
    case 'bin':
      return lstr(rng.bytes(rng.int(12)));
    case 'pair':
      return Buffer.concat([lstr(utf8(rng.pick(['k', 'key', 'ü']))), lstr(utf8(rng.pick(['v', '', 'value'])))]);
  }
}

/** A few valid properties for `owner`, at most one of each (User Property may repeat). */
function validProps(rng: Rng, owner: number): Prop[] {
  const allowed = [...PROPERTIES].filter(([id, spec]) => spec.on.includes(owner) && !SKIP_VALID.has(id) && !(owner === WILL && options.leaveOutOfWills.has(id)));
  const props: Prop[] = [];
  const used = new Set<number>();
  const n = rng.int(4);
  for (let i = 0; i < n && allowed.length > 0; i++) {
    const [id, spec] = rng.pick(allowed);
    if (used.has(id) && id !== 0x26) continue;
    used.add(id);
    // Topic Alias within the broker's maximum; Maximum Packet Size must not be 0 (§3.1.2.11.4)
    props.push({ id, value: id === 0x23 ? u16(1 + rng.int(4)) : id === 0x27 ? u32(1024 + rng.int(1 << 20)) : valueOf(rng, spec.type) });
  }
  return props;
}

/**
 * Kept out of valid packets (mutations still add them): Authentication Method makes a CONNECT an
 * enhanced-authentication exchange, Response Topic/Correlation Data are fine but noisy.
 */
const SKIP_VALID = new Set([0x15, 0x16]);

function connectPacket(rng: Rng, version: MqttVersion): Packet {
  const will = rng.chance(0.3);
  const willQos = rng.int(3);
  const user = rng.chance(0.2);
  const pass = user && rng.chance(0.5);
  // Clean Session / Clean Start always set, and a session expiry of 0: nothing stays behind.
  const flags = (user ? 0x80 : 0) | (pass ? 0x40 : 0) | (will ? 0x04 | (willQos << 3) | (rng.chance(0.3) ? 0x20 : 0) : 0) | 0x02;
  const segments: Segment[] = [
    { k: 'str', b: utf8('MQTT'), role: 'text' },
    { k: 'raw', b: Buffer.from([version, flags]) },
    { k: 'raw', b: u16(rng.pick([0, 10, 60])) },
  ];
  if (version === 5) segments.push({ k: 'props', props: validProps(rng, 1).filter((p) => p.id !== 0x11), owner: 1 });
  segments.push({ k: 'str', b: utf8(rng.pick(CLIENT_IDS)), role: 'clientid' });
  if (will) {
    if (version === 5) segments.push({ k: 'props', props: validProps(rng, WILL), owner: WILL });
    segments.push({ k: 'str', b: utf8(rng.pick(TOPICS)), role: 'willtopic' });
    segments.push({ k: 'str', b: rng.bytes(rng.int(8)), role: 'text' });
  }
  if (user) segments.push({ k: 'str', b: utf8('fz-user'), role: 'text' });
  if (pass) segments.push({ k: 'str', b: rng.bytes(rng.int(8)), role: 'text' });
  return { type: 1, flags: 0, segments };
}

/** A valid CONNECT (the mqtt-packet reference parser accepts every one, see the seed check). */
export function validConnect(rng: Rng, version: MqttVersion, opts: MqttGenOptions = EVERYTHING): Buffer {
  options = opts;
  return encode(connectPacket(rng, version));
}

function afterConnectPacket(rng: Rng, version: MqttVersion): Packet {
  const props = (owner: number): Segment[] => (version === 5 ? [{ k: 'props', props: validProps(rng, owner), owner }] : []);
  const id = u16(1 + rng.int(0xfffe));
  // AUTH exists in MQTT 5 only
  switch (rng.pick(version === 5 ? [3, 3, 3, 3, 8, 10, 4, 5, 6, 7, 12, 14, 15] : [3, 3, 3, 3, 8, 10, 4, 5, 6, 7, 12, 14])) {
    case 3: {
      const qos = rng.int(3);
      const retain = rng.chance(0.1) ? 1 : 0;
      const segments: Segment[] = [{ k: 'str', b: utf8(rng.pick(TOPICS)), role: 'topic' }];
      if (qos > 0) segments.push({ k: 'raw', b: id });
      segments.push(...props(3), { k: 'payload', b: rng.bytes(rng.int(16)) });
      return { type: 3, flags: (qos << 1) | retain, segments };
    }
    case 8: {
      const segments: Segment[] = [{ k: 'raw', b: id }, ...props(8)];
      const n = 1 + rng.int(3);
      for (let i = 0; i < n; i++) segments.push({ k: 'str', b: utf8(rng.pick(FILTERS)), role: 'filter' }, { k: 'raw', b: Buffer.from([rng.int(3)]) });
      return { type: 8, flags: 2, segments };
    }
    case 10:
      return { type: 10, flags: 2, segments: [{ k: 'raw', b: id }, ...props(10), { k: 'str', b: utf8(rng.pick(FILTERS)), role: 'filter' }] };
    case 4:
    case 5:
    case 6:
    case 7: {
      const type = rng.pick([4, 5, 6, 7]);
      const segments: Segment[] = [{ k: 'raw', b: id }];
      if (version === 5 && rng.chance(0.5)) segments.push({ k: 'raw', b: Buffer.from([0]) }, ...props(type));
      return { type, flags: type === 6 ? 2 : 0, segments };
    }
    case 14:
      return { type: 14, flags: 0, segments: version === 5 && rng.chance(0.5) ? [{ k: 'raw', b: Buffer.from([0]) }, ...props(14)] : [] };
    case 15:
      return { type: 15, flags: 0, segments: [{ k: 'raw', b: Buffer.from([0x18]) }, ...props(15)] };
    default:
      return { type: 12, flags: 0, segments: [] };
  }
}

// ---- structured mutations ----------------------------------------------------------------------

/** Invalid or forbidden UTF-8 ([MQTT-1.5.4-1], [MQTT-1.5.4-2]): what a string segment may become. */
const BAD_UTF8: readonly Buffer[] = [
  Buffer.from([0x80]), // lone continuation byte
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xc0, 0x80]), // overlong U+0000
  Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate U+D800
  Buffer.from([0xe2, 0x82]), // truncated 3-byte sequence
  Buffer.from([0xf5, 0x80, 0x80, 0x80]), // beyond U+10FFFF
  Buffer.from([0xff]),
  Buffer.from([0x00]), // U+0000
];
const WILDCARD_TOPICS = ['#', '+', 'fz/+', 'fz/#', 'fz/+/c', '+/#', 'fz/a#', 'fz/a+'];

function badString(rng: Rng, b: Buffer): Buffer {
  const bad = rng.pick(BAD_UTF8);
  const at = rng.int(b.length + 1);
  return Buffer.concat([b.subarray(0, at), bad, b.subarray(at)]);
}

function stringSegments(p: Packet): Array<Extract<Segment, { k: 'str' }>> {
  return p.segments.filter((s): s is Extract<Segment, { k: 'str' }> => s.k === 'str');
}

function propBlocks(p: Packet): Array<Extract<Segment, { k: 'props' }>> {
  return p.segments.filter((s): s is Extract<Segment, { k: 'props' }> => s.k === 'props');
}

/** A string-typed property value made bad in one of the ways strings go wrong. */
function badPropValue(rng: Rng, type: PropType): Buffer {
  switch (type) {
    case 'str':
      return lstr(rng.chance(0.3) ? utf8(rng.pick(WILDCARD_TOPICS)) : badString(rng, utf8('fz')));
    case 'pair':
      return rng.chance(0.5)
        ? Buffer.concat([lstr(badString(rng, utf8('k'))), lstr(utf8('v'))])
        : Buffer.concat([lstr(utf8('k')), lstr(badString(rng, utf8('v')))]);
    case 'varint':
      return rng.pick([Buffer.from([0]), longVarint(1 + rng.int(100), 2 + rng.int(3)), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01]), Buffer.from([0xff, 0xff, 0xff, 0x7f])]);
    case 'byte':
      return Buffer.from([rng.pick([2, 3, 0x80, 0xff])]);
    case 'u16':
      return u16(rng.pick([0, 0xffff]));
    default:
      return u32(rng.pick([0, 0xffffffff]));
  }
}

const PROPERTY_IDS = [...PROPERTIES.keys()];

/** One structural change; returns its name for the report. */
function mutatePacket(rng: Rng, p: Packet, version: MqttVersion): string {
  const blocks = propBlocks(p);
  const strings = stringSegments(p);
  const kind = rng.int(version === 5 && blocks.length > 0 ? 14 : 6);
  switch (kind) {
    case 0: {
      // a string becomes invalid UTF-8 or holds U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]
      const s = strings.length > 0 ? rng.pick(strings) : undefined;
      if (!s) return 'noop';
      s.b = badString(rng, s.b);
      return `bad-utf8:${s.role}`;
    }
    case 1: {
      // wildcards in a topic name [MQTT-3.3.2-2] or a will topic (a topic name too, §3.1.3.3)
      const s = strings.find((x) => x.role === 'topic' || x.role === 'willtopic');
      if (!s) return 'noop';
      s.b = utf8(rng.pick(WILDCARD_TOPICS));
      return `wildcard:${s.role}`;
    }
    case 2: {
      // a string length that runs past the packet
      const s = strings.length > 0 ? rng.pick(strings) : undefined;
      if (!s) return 'noop';
      const i = p.segments.indexOf(s);
      p.segments[i] = { k: 'raw', b: Buffer.concat([u16(s.b.length + 1 + rng.int(300)), s.b]) };
      return `string-overrun:${s.role}`;
    }
    case 3: {
      // non-minimal or 5-byte Remaining Length [MQTT-1.5.5-1]
      const len = encode({ ...p, lengthOverride: Buffer.alloc(0) }).length - 1;
      p.lengthOverride = rng.chance(0.5) ? longVarint(len, 2 + rng.int(3)) : Buffer.from([0x80 | (len & 0x7f), 0x80, 0x80, 0x80, 0x01]);
      return 'bad-remaining-length';
    }
    case 4: {
      // reserved fixed-header flags (3.1.1: [MQTT-2.2.2-1], [MQTT-2.2.2-2]; 5.0: §2.1.3), QoS 3 [MQTT-3.3.1-4]
      p.flags = rng.int(16);
      return 'flags';
    }
    case 5: {
      // empty topic or filter, empty payload of SUBSCRIBE
      const s = strings.length > 0 ? rng.pick(strings) : undefined;
      if (!s) return 'noop';
      s.b = Buffer.alloc(0);
      return `empty:${s.role}`;
    }
    default:
      break;
  }
  // MQTT 5 property mutations
  const block = rng.pick(blocks);
  const allowed = PROPERTY_IDS.filter((id) => PROPERTIES.get(id)!.on.includes(block.owner) && !(block.owner === WILL && options.leaveOutOfWills.has(id)));
  switch (kind) {
    case 6: {
      // a property not allowed on this packet (a Malformed Packet, MQTT 5 §2.2.2.2)
      const foreign = PROPERTY_IDS.filter((id) => !PROPERTIES.get(id)!.on.includes(block.owner));
      const id = rng.pick(foreign);
      block.props.push({ id, value: valueOf(rng, PROPERTIES.get(id)!.type) });
      return `foreign-prop:0x${id.toString(16)}`;
    }
    case 7: {
      // a property given twice (a Protocol Error for everything but User Property)
      const id = allowed.length > 0 ? rng.pick(allowed) : 0x26;
      const value = valueOf(rng, PROPERTIES.get(id)!.type);
      block.props.push({ id, value }, { id, value: rng.chance(0.5) ? value : valueOf(rng, PROPERTIES.get(id)!.type) });
      return `duplicate-prop:0x${id.toString(16)}`;
    }
    case 8: {
      // a string/binary/pair property cut short; its length prefix still claims the full value
      const id = rng.pick([0x03, 0x08, 0x09, 0x26, 0x1f, 0x15, 0x16, 0x12, 0x1a, 0x1c]);
      const full = id === 0x26 ? Buffer.concat([lstr(utf8('key')), lstr(utf8('value'))]) : lstr(utf8(rng.pick(['fz/x', 'text/plain', 'abcdefgh'])));
      const value = full.subarray(0, rng.int(full.length));
      if (rng.chance(0.5)) block.props.push({ id, value });
      else block.props.unshift({ id, value });
      return `truncated-prop:0x${id.toString(16)}:${value.length}/${full.length}`;
    }
    case 9: {
      // the property length disagrees with the properties
      const real = encodeProps(block.props).length;
      block.lengthOverride = varint(Math.max(0, real + rng.pick([-3, -2, -1, 1, 2, 7, 300])));
      return 'props-length-lie';
    }
    case 10: {
      // non-minimal or 5-byte property length [MQTT-1.5.5-1]
      const real = encodeProps(block.props).length;
      block.lengthOverride = rng.chance(0.5) ? longVarint(real, 2 + rng.int(3)) : Buffer.from([0x80 | real, 0x80, 0x80, 0x80, 0x01]);
      return 'props-length-varint';
    }
    case 11: {
      // a bad value: invalid UTF-8 or wildcards in a string, bad varint Subscription Identifier, out-of-range byte
      const id = rng.pick(allowed.length > 0 && rng.chance(0.7) ? allowed : PROPERTY_IDS.filter((x) => !(block.owner === WILL && options.leaveOutOfWills.has(x))));
      block.props.push({ id, value: badPropValue(rng, PROPERTIES.get(id)!.type) });
      return `bad-prop-value:0x${id.toString(16)}`;
    }
    case 12: {
      // an unknown property identifier, or a multi-byte (non-minimal) identifier
      block.props.push(
        rng.chance(0.5)
          ? { id: rng.pick([0x00, 0x04, 0x2b, 0x7f, 0x1234]), value: rng.bytes(rng.int(4)) }
          : { id: 0, value: Buffer.concat([Buffer.from([0x80 | 0x26, 0x00]), lstr(utf8('k')), lstr(utf8('v'))]) },
      );
      return 'unknown-prop';
    }
    default: {
      // Topic Alias: 0 [MQTT-3.3.2-8], beyond the maximum, or an empty topic with an alias never set (§3.3.2.3.4)
      block.props.push({ id: 0x23, value: u16(rng.pick([0, 0xffff, 1 + rng.int(10)])) });
      const topic = strings.find((x) => x.role === 'topic');
      if (topic && rng.chance(0.5)) topic.b = Buffer.alloc(0);
      return 'topic-alias';
    }
  }
}

// ---- cases ------------------------------------------------------------------------------------

/** Packets a client might send before CONNECT (each must be refused: [MQTT-3.1.0-1]). */
function preConnectPacket(rng: Rng, version: MqttVersion): Packet {
  return rng.chance(0.7) ? connectPacket(rng, version) : afterConnectPacket(rng, version);
}

function finish(rng: Rng, p: Packet, version: MqttVersion, labels: string[]): Buffer {
  const structural = rng.chance(0.85) ? 1 + rng.int(2) : 0;
  for (let i = 0; i < structural; i++) labels.push(mutatePacket(rng, p, version));
  let wire = encode(p);
  if (rng.chance(structural === 0 ? 0.9 : 0.15)) {
    wire = mutateBytes(rng, wire);
    labels.push('bytes');
  }
  return wire;
}

export function mqttCase(rng: Rng, opts: MqttGenOptions = EVERYTHING): MqttCase {
  options = opts;
  const version: MqttVersion = rng.chance(0.6) ? 5 : 4;
  const labels: string[] = [];
  if (rng.chance(0.08)) {
    // plain noise, sometimes behind a valid CONNECT
    const phase = rng.chance(0.5) ? 'pre' : 'post';
    const noise = rng.bytes(1 + rng.int(64));
    const bytes = phase === 'post' ? Buffer.concat([validConnect(rng, version, opts), noise]) : noise;
    return { version, phase, label: 'noise', writes: splitWrites(rng, bytes) };
  }
  if (rng.chance(0.3)) {
    const bytes = finish(rng, preConnectPacket(rng, version), version, labels);
    return { version, phase: 'pre', label: labels.join(','), writes: splitWrites(rng, bytes) };
  }
  const parts = [validConnect(rng, version, opts)];
  const n = 1 + rng.int(3);
  const fuzzed = rng.int(n);
  for (let i = 0; i < n; i++) {
    const p = afterConnectPacket(rng, version);
    if (i === fuzzed) parts.push(finish(rng, p, version, labels));
    else parts.push(encode(p));
  }
  return { version, phase: 'post', label: `${labels.join(',')}`, writes: splitWrites(rng, Buffer.concat(parts)) };
}

/** Unmutated packets, for the check that the model encodes what a reference parser accepts. */
export function validSeeds(rng: Rng, count: number): Array<{ version: MqttVersion; bytes: Buffer }> {
  options = EVERYTHING;
  const out: Array<{ version: MqttVersion; bytes: Buffer }> = [];
  for (let i = 0; i < count; i++) {
    const version: MqttVersion = rng.chance(0.5) ? 5 : 4;
    out.push({ version, bytes: Buffer.concat([validConnect(rng, version), encode(afterConnectPacket(rng, version))]) });
  }
  return out;
}
