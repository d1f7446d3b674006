import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_COMMANDS,
  StompDecoder,
  StompFrameError,
  encodeFrame,
  isHeartbeat,
  type StompFrame,
  type StompFrameLimits,
  type StompItem,
  type StompVersion,
} from '../../gateways/stomp/frame.js';
import { prng } from '../helpers/prng.js';

const CASES = 100_000;
const SEED = 0x5eed_5707;

const rnd = prng(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

const COMMANDS = [...CLIENT_COMMANDS];
const VERSIONS: readonly StompVersion[] = ['1.0', '1.1', '1.2'];
const TEXT_CHARS = ['a', 'b', 'Z', '0', '9', '-', '/', ' ', ':', '\\', 'é', '€'];
const INTERESTING = [0x00, 0x0a, 0x0d, 0x3a, 0x5c, 0x63, 0x6e, 0x72, 0x74, 0xff, 0xc3, 0x80];

function text(maxLen: number): string {
  let s = '';
  const len = int(maxLen + 1);
  for (let i = 0; i < len; i++) s += pick(TEXT_CHARS);
  return s;
}

function randomLimits(): StompFrameLimits {
  // half tight (limits hit often), half roomy (most frames decode fully)
  return rnd() < 0.5
    ? { maxHeaders: int(8), maxHeadersLength: 4 + int(60), maxBodyLength: int(200) }
    : { maxHeaders: 8 + int(16), maxHeadersLength: 64 + int(100), maxBodyLength: 400 + int(400) };
}

/** A valid frame encoded for `version`, sometimes bigger than the limits. */
function validWire(version: StompVersion): Buffer {
  const command = pick(COMMANDS);
  const headers: Array<[string, string]> = [];
  const count = int(9);
  for (let i = 0; i < count; i++) headers.push([text(6).replaceAll(':', '_') || 'k', text(rnd() < 0.1 ? 80 : 12)]);
  const body = Buffer.alloc(rnd() < 0.1 ? int(400) : int(40));
  for (let i = 0; i < body.length; i++) body[i] = rnd() < 0.1 ? 0 : int(256);
  const wire = encodeFrame({ command, headers, body }, version);
  if (rnd() < 0.3) {
    // drop content-length so the body is scanned (a body holding NUL then splits: still fair input)
    const s = wire.toString('latin1');
    return Buffer.from(s.replace(/content-length:\d+\n/, ''), 'latin1');
  }
  return wire;
}

function mutate(wire: Buffer): Buffer {
  const s = wire.toString('latin1');
  switch (int(9)) {
    case 0: {
      // byte flips
      const out = Buffer.from(wire);
      const flips = 1 + int(4);
      for (let i = 0; i < flips && out.length > 0; i++) out[int(out.length)] = rnd() < 0.5 ? pick(INTERESTING) : int(256);
      return out;
    }
    case 1:
      return wire.subarray(0, int(wire.length + 1)); // truncation
    case 2: {
      // insertion of random / interesting bytes
      const at = int(wire.length + 1);
      const extra = Buffer.from(Array.from({ length: 1 + int(6) }, () => (rnd() < 0.5 ? pick(INTERESTING) : int(256))));
      return Buffer.concat([wire.subarray(0, at), extra, wire.subarray(at)]);
    }
    case 3: {
      // duplicated header lines
      const lines = s.split('\n');
      const headerEnd = lines.indexOf('');
      if (headerEnd > 1) {
        const line = lines[1 + int(headerEnd - 1)] as string;
        const copies = 1 + int(12);
        lines.splice(1 + int(headerEnd), 0, ...Array.from({ length: copies }, () => line));
      }
      return Buffer.from(lines.join('\n'), 'latin1');
    }
    case 4: {
      // huge or bogus content-length
      const value = pick(['99999999999999999999', '4294967296', '65537', '-1', '1e3', String(int(500)), '']);
      const injected = `content-length:${value}\n`;
      const nl = s.indexOf('\n');
      return Buffer.from(s.slice(0, nl + 1) + injected + s.slice(nl + 1), 'latin1');
    }
    case 5: {
      // huge header line or huge body without NUL
      const nl = s.indexOf('\n');
      const fill = 'x'.repeat(50 + int(3000));
      return rnd() < 0.5
        ? Buffer.from(`${s.slice(0, nl + 1)}k:${fill}\n${s.slice(nl + 1)}`, 'latin1')
        : Buffer.from(`SEND\n\n${fill}`, 'latin1');
    }
    case 6:
      // several frames glued with heart-beats
      return Buffer.concat([wire, Buffer.from(pick(['', '\n', '\r\n', '\n\n'])), validWire(pick(VERSIONS))]);
    case 7:
      // pure noise
      return Buffer.from(Array.from({ length: int(64) }, () => (rnd() < 0.3 ? pick(INTERESTING) : int(256))));
    default:
      return wire; // unmutated
  }
}

type Outcome = { items: unknown[]; error?: string };

function view(items: StompItem[]): unknown[] {
  return items.map((item) => (isHeartbeat(item) ? 'HB' : [item.command, item.headers, item.body.toString('hex')]));
}

function checkFrame(frame: StompFrame, limits: StompFrameLimits): void {
  assert.ok(CLIENT_COMMANDS.has(frame.command), `unexpected command ${frame.command}`);
  assert.ok(frame.headers.length <= limits.maxHeaders, 'too many headers escaped the limit');
  assert.ok(frame.body.length <= limits.maxBodyLength, 'body longer than the limit');
  for (const [name, value] of frame.headers) {
    // each decoded UTF-16 unit comes from at least one raw byte
    assert.ok(name.length + value.length <= limits.maxHeadersLength, 'header longer than the limit');
  }
}

/** Decode `input` cut into chunks; only StompFrameError may escape, buffering stays bounded. */
function run(input: Buffer, limits: StompFrameLimits, version: StompVersion, maxChunk: number): Outcome {
  const decoder = new StompDecoder(limits, version);
  const items: StompItem[] = [];
  let i = 0;
  while (i < input.length) {
    const n = maxChunk >= input.length ? input.length : 1 + int(maxChunk);
    try {
      items.push(...decoder.push(input.subarray(i, i + n)));
    } catch (err) {
      if (!(err instanceof StompFrameError)) throw err;
      items.push(...err.precedingItems);
      for (const item of items) if (!isHeartbeat(item)) checkFrame(item, limits);
      return { items: view(items), error: err.reason };
    }
    if (decoder.bufferedBytes > decoder.bufferLimit) {
      assert.fail(`buffered ${decoder.bufferedBytes} > bound ${decoder.bufferLimit}`);
    }
    i += n;
  }
  for (const item of items) if (!isHeartbeat(item)) checkFrame(item, limits);
  return { items: view(items) };
}

it(`fuzz: ${CASES} random and mutated frames never escape StompFrameError or the limits`, () => {
  const started = performance.now();
  const reasons = new Map<string, number>();
  let framesDecoded = 0;
  for (let n = 0; n < CASES; n++) {
    const version = pick(VERSIONS);
    const limits = randomLimits();
    const input = mutate(validWire(version));
    let whole: Outcome;
    let chunked: Outcome;
    try {
      whole = run(input, limits, version, Number.MAX_SAFE_INTEGER);
      chunked = run(input, limits, version, 1 + int(24));
    } catch (err) {
      assert.fail(`case ${n} (seed ${SEED}) input ${input.toString('hex')}: ${String(err)}`);
    }
    // chunking must not change the outcome
    assert.deepEqual(chunked, whole, `case ${n}: chunked decoding differs`);
    const key = whole.error ?? 'ok';
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
    framesDecoded += whole.items.filter((item) => item !== 'HB').length;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `stomp frame fuzz: ${CASES} cases, ${framesDecoded} frames decoded, outcomes ${JSON.stringify(Object.fromEntries(reasons))}, ${seconds.toFixed(2)} s`,
  );
  // the corpus must exercise both success and every decoder error reason
  for (const reason of ['ok', 'unknown_command', 'bad_header_line', 'bad_escape', 'too_many_headers', 'header_too_long', 'body_too_long', 'bad_content_length', 'missing_nul']) {
    assert.ok((reasons.get(reason) ?? 0) > 0, `fuzz corpus never produced ${reason}`);
  }
});
