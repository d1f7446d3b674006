import { Rng, mutateBytes, splitWrites } from './prng.js';

/**
 * STOMP 1.0/1.1/1.2 input generator for the gateway: frames built as raw header lines (so a
 * value can hold any bytes), valid first, then mutated at the frame level (destinations with
 * wildcards or bad UTF-8, duplicated and missing headers, bad escapes, lying content-length,
 * bad heart-beats) and at the byte level.
 */

export interface StompCase {
  phase: 'pre' | 'post';
  label: string;
  writes: Buffer[];
}

interface RawFrame {
  command: string;
  headers: Array<[Buffer, Buffer]>;
  body: Buffer;
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function encodeRaw(f: RawFrame, eol: string): Buffer {
  const parts: Buffer[] = [b(f.command + eol)];
  for (const [k, v] of f.headers) parts.push(k, b(':'), v, b(eol));
  parts.push(b(eol), f.body, Buffer.from([0]));
  return Buffer.concat(parts);
}

const DESTINATIONS = ['fz/stomp/a', 'fz/stomp/é', '/queue/fz', 'fz/stomp/b/c'];
const FILTERS = ['fz/#', 'fz/stomp/+', '#', '/queue/fz'];
const BAD_DESTINATIONS: readonly Buffer[] = [
  b('fz/+'), b('fz/#'), b('#'), b('+'), b(''), b('$SYS/x'), b('$share/g/fz'), b('fz/a#'),
  Buffer.from([0x66, 0x7a, 0x2f, 0xff]), Buffer.from([0x66, 0x7a, 0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]),
  b('fz/\\c'), b('fz/\\x'), b('fz/\\'), b('a'.repeat(2000)),
];
const BAD_FILTERS: readonly Buffer[] = [b('fz/#/a'), b('fz/a+'), b('#/'), b(''), Buffer.from([0xff, 0x23]), b('$share/g/#')];

function connectFrame(rng: Rng): RawFrame {
  const headers: Array<[Buffer, Buffer]> = [[b('accept-version'), b(rng.pick(['1.2', '1.1', '1.0', '1.0,1.1,1.2', '1.1,1.2']))], [b('host'), b('/')]];
  if (rng.chance(0.3)) headers.push([b('heart-beat'), b(rng.pick(['0,0', '1000,0', '0,500']))]);
  if (rng.chance(0.2)) headers.push([b('login'), b('fz')], [b('passcode'), b('pw')]);
  return { command: rng.chance(0.8) ? 'CONNECT' : 'STOMP', headers, body: Buffer.alloc(0) };
}

function afterConnectFrame(rng: Rng): RawFrame {
  const id = b(String(rng.int(4)));
  switch (rng.pick(['SEND', 'SEND', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT'])) {
    case 'SEND': {
      const body = rng.bytes(rng.int(20));
      const headers: Array<[Buffer, Buffer]> = [[b('destination'), b(rng.pick(DESTINATIONS))]];
      if (rng.chance(0.5)) headers.push([b('content-length'), b(String(body.length))]);
      if (rng.chance(0.3)) headers.push([b('content-type'), b('text/plain')]);
      if (rng.chance(0.3)) headers.push([b('x-fz'), b(rng.pick(['v', 'ü', 'a\\cb', 'line\\nbreak']))]);
      if (rng.chance(0.2)) headers.push([b('receipt'), b('r1')]);
      if (rng.chance(0.2)) headers.push([b('transaction'), b('t1')]);
      return { command: 'SEND', headers, body: headers.some(([k]) => k.toString() === 'content-length') ? body : Buffer.from(body.filter((x) => x !== 0)) };
    }
    case 'SUBSCRIBE':
      return { command: 'SUBSCRIBE', headers: [[b('id'), id], [b('destination'), b(rng.pick(FILTERS))], [b('ack'), b(rng.pick(['auto', 'client', 'client-individual']))]], body: Buffer.alloc(0) };
    case 'UNSUBSCRIBE':
      return { command: 'UNSUBSCRIBE', headers: [[b('id'), id]], body: Buffer.alloc(0) };
    case 'ACK':
    case 'NACK':
      return { command: rng.pick(['ACK', 'NACK']), headers: [[b('id'), id], [b('message-id'), id], [b('subscription'), id]], body: Buffer.alloc(0) };
    case 'BEGIN':
    case 'COMMIT':
    case 'ABORT':
      return { command: rng.pick(['BEGIN', 'COMMIT', 'ABORT']), headers: [[b('transaction'), b('t1')]], body: Buffer.alloc(0) };
    default:
      return { command: 'DISCONNECT', headers: rng.chance(0.5) ? [[b('receipt'), b('bye')]] : [], body: Buffer.alloc(0) };
  }
}

/** One frame-level change; returns its name. */
function mutateFrame(rng: Rng, f: RawFrame): string {
  switch (rng.int(9)) {
    case 0: {
      const dest = f.headers.find(([k]) => k.toString() === 'destination');
      if (!dest) return 'noop';
      dest[1] = f.command === 'SUBSCRIBE' && rng.chance(0.5) ? rng.pick(BAD_FILTERS) : rng.pick(BAD_DESTINATIONS);
      return 'bad-destination';
    }
    case 1: {
      if (f.headers.length === 0) return 'noop';
      const h = rng.pick(f.headers);
      const copies = 1 + rng.int(12);
      for (let i = 0; i < copies; i++) f.headers.push([h[0], rng.chance(0.5) ? h[1] : b(String(rng.int(9)))]);
      return `duplicate:${h[0].toString()}`;
    }
    case 2:
      if (f.headers.length === 0) return 'noop';
      f.headers.splice(rng.int(f.headers.length), 1);
      return 'missing-header';
    case 3:
      f.headers.unshift([b('content-length'), b(rng.pick(['99999999999999999999', '4294967296', '-1', '1e3', '', String(rng.int(60))]))]);
      return 'content-length';
    case 4: {
      if (f.headers.length === 0) return 'noop';
      const h = rng.pick(f.headers);
      h[1] = Buffer.concat([h[1], rng.pick([b('\\x'), b('\\'), b('\\r'), Buffer.from([0xff, 0xfe]), b('\r'), b(':')])]);
      return `bad-value:${h[0].toString()}`;
    }
    case 5:
      f.headers.push([b('heart-beat'), b(rng.pick(['99999999999,1', '-1,0', 'x,y', '1', '0,0,0', '4294967296,4294967296']))]);
      return 'heart-beat';
    case 6:
      f.headers.push([b('accept-version'), b(rng.pick(['', '2.0', '1.3', '1.2,', ',', '1.0;1.1']))]);
      return 'accept-version';
    case 7:
      f.command = rng.pick(['send', 'MESSAGE', 'CONNECTED', 'ERROR', '', 'SEND ', 'CONNECT\r']);
      return 'command';
    default:
      f.body = rng.bytes(rng.int(200));
      return 'body';
  }
}

function finish(rng: Rng, f: RawFrame, labels: string[]): Buffer {
  const n = rng.chance(0.8) ? 1 + rng.int(2) : 0;
  for (let i = 0; i < n; i++) labels.push(mutateFrame(rng, f));
  let wire = encodeRaw(f, rng.chance(0.2) ? '\r\n' : '\n');
  if (rng.chance(n === 0 ? 0.9 : 0.15)) {
    wire = mutateBytes(rng, wire);
    labels.push('bytes');
  }
  return wire;
}

export function stompCase(rng: Rng): StompCase {
  const labels: string[] = [];
  if (rng.chance(0.08)) {
    const phase = rng.chance(0.5) ? 'pre' : 'post';
    const noise = rng.bytes(1 + rng.int(64));
    const bytes = phase === 'post' ? Buffer.concat([encodeRaw(connectFrame(rng), '\n'), noise]) : noise;
    return { phase, label: 'noise', writes: splitWrites(rng, bytes) };
  }
  if (rng.chance(0.3)) {
    const f = rng.chance(0.7) ? connectFrame(rng) : afterConnectFrame(rng);
    return { phase: 'pre', label: labels.join(','), writes: splitWrites(rng, finish(rng, f, labels)) };
  }
  const parts = [encodeRaw(connectFrame(rng), '\n')];
  const n = 1 + rng.int(3);
  const fuzzed = rng.int(n);
  for (let i = 0; i < n; i++) {
    const f = afterConnectFrame(rng);
    parts.push(i === fuzzed ? finish(rng, f, labels) : encodeRaw(f, '\n'));
    if (rng.chance(0.2)) parts.push(b('\n')); // a heart-beat between frames
  }
  return { phase: 'post', label: labels.join(','), writes: splitWrites(rng, Buffer.concat(parts)) };
}

/** A valid STOMP CONNECT and one SEND (for the Proxy Protocol fuzzer's payload). */
export function validStompSession(rng: Rng): Buffer {
  return Buffer.concat([encodeRaw(connectFrame(rng), '\n'), encodeRaw({ command: 'SEND', headers: [[b('destination'), b('fz/stomp/proxied')]], body: b('p') }, '\n')]);
}
