import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_COMMANDS,
  EMQX_DEFAULT_LIMITS,
  HEARTBEAT,
  SERVER_COMMANDS,
  StompDecoder,
  StompFrameError,
  encodeFrame,
  header,
  isHeartbeat,
  negotiateVersion,
  type StompFrame,
  type StompFrameErrorReason,
  type StompFrameLimits,
  type StompItem,
  type StompVersion,
} from '../../gateways/stomp/frame.js';
import { prng } from '../helpers/prng.js';

const LIMITS: StompFrameLimits = { ...EMQX_DEFAULT_LIMITS };

function b(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function decodeAll(input: Buffer, version: StompVersion = '1.2', limits: StompFrameLimits = LIMITS): StompItem[] {
  return new StompDecoder(limits, version).push(input);
}

function frames(items: StompItem[]): StompFrame[] {
  return items.filter((item): item is StompFrame => !isHeartbeat(item));
}

function only(items: StompItem[]): StompFrame {
  const fs = frames(items);
  assert.equal(fs.length, 1, 'expected exactly one frame');
  return fs[0] as StompFrame;
}

function decodeError(input: Buffer, version: StompVersion = '1.2', limits: StompFrameLimits = LIMITS): StompFrameError {
  const decoder = new StompDecoder(limits, version);
  try {
    decoder.push(input);
  } catch (err) {
    assert.ok(err instanceof StompFrameError, `expected StompFrameError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a StompFrameError');
}

function expectReason(input: Buffer, reason: StompFrameErrorReason, version: StompVersion = '1.2', limits: StompFrameLimits = LIMITS): StompFrameError {
  const err = decodeError(input, version, limits);
  assert.equal(err.reason, reason, `got ${err.message}`);
  return err;
}

/** Plain-data view for deep comparison. */
function plain(items: StompItem[]): unknown[] {
  return items.map((item) =>
    isHeartbeat(item) ? 'HB' : { command: item.command, headers: item.headers, body: item.body.toString('hex') },
  );
}

describe('StompDecoder: commands and bodies', () => {
  for (const command of CLIENT_COMMANDS) {
    it(`parses ${command}`, () => {
      const f = only(decodeAll(b(`${command}\nreceipt:r-1\nx-custom:v\n\nhello\0`)));
      assert.equal(f.command, command);
      assert.deepEqual(f.headers, [['receipt', 'r-1'], ['x-custom', 'v']]);
      assert.equal(f.body.toString(), 'hello');
    });
  }

  it('parses a CONNECT frame with no body and no headers', () => {
    const f = only(decodeAll(b('CONNECT\n\n\0')));
    assert.equal(f.command, 'CONNECT');
    assert.deepEqual(f.headers, []);
    assert.equal(f.body.length, 0);
  });

  it('accepts CR LF line endings', () => {
    const f = only(decodeAll(b('SEND\r\ndestination:/a\r\ncontent-type:text/plain\r\n\r\nhi\0')));
    assert.equal(f.command, 'SEND');
    assert.deepEqual(f.headers, [['destination', '/a'], ['content-type', 'text/plain']]);
    assert.equal(f.body.toString(), 'hi');
  });

  it('keeps NUL octets in a body framed by content-length', () => {
    const body = Buffer.from([0, 1, 0, 0, 255, 0]);
    const input = Buffer.concat([b(`SEND\ndestination:t\ncontent-length:${body.length}\n\n`), body, b('\0')]);
    const f = only(decodeAll(input));
    assert.deepEqual(f.body, body);
  });

  it('uses the first content-length when repeated', () => {
    const f = only(decodeAll(b('SEND\ncontent-length:3\ncontent-length:1\n\na\0b\0')));
    assert.equal(f.body.toString('latin1'), 'a\0b');
    assert.equal(header(f, 'content-length'), '3');
  });

  it('accepts content-length 0 and a body exactly at the limit', () => {
    assert.equal(only(decodeAll(b('SEND\ncontent-length:0\n\n\0'))).body.length, 0);
    const limits = { ...LIMITS, maxBodyLength: 8 };
    assert.equal(only(decodeAll(b('SEND\ncontent-length:8\n\n12345678\0'), '1.2', limits)).body.toString(), '12345678');
    assert.equal(only(decodeAll(b('SEND\n\n12345678\0'), '1.2', limits)).body.toString(), '12345678');
  });

  it('header() returns the first occurrence', () => {
    const f = only(decodeAll(b('SEND\nfoo:first\nfoo:second\n\n\0')));
    assert.equal(header(f, 'foo'), 'first');
    assert.equal(header(f, 'missing'), undefined);
    assert.equal(f.headers.length, 2);
  });

  it('keeps header values verbatim (no trimming, colons allowed)', () => {
    const f = only(decodeAll(b('SEND\ndestination: /a:b \n\n\0'), '1.0'));
    assert.equal(header(f, 'destination'), ' /a:b ');
  });

  it('decodes several frames and heart-beats in one chunk', () => {
    const items = decodeAll(b('\nSEND\ndestination:a\n\n1\0\r\n\nACK\nid:1\n\n\0\nDISCONNECT\nreceipt:9\n\n\0'));
    assert.deepEqual(plain(items), [
      'HB',
      { command: 'SEND', headers: [['destination', 'a']], body: Buffer.from('1').toString('hex') },
      'HB',
      'HB',
      { command: 'ACK', headers: [['id', '1']], body: '' },
      'HB',
      { command: 'DISCONNECT', headers: [['receipt', '9']], body: '' },
    ]);
  });
});

describe('StompDecoder: heart-beats', () => {
  it('yields one heart-beat per LF or CR LF between frames', () => {
    const items = decodeAll(b('\n\r\n\n'));
    assert.equal(items.length, 3);
    assert.ok(items.every((item) => item === HEARTBEAT));
  });

  it('yields a heart-beat for a CR LF split across chunks', () => {
    const decoder = new StompDecoder(LIMITS, '1.2');
    assert.deepEqual(decoder.push(b('\r')), []);
    assert.deepEqual(decoder.push(b('\n')), [HEARTBEAT]);
  });

  it('rejects a lone CR followed by something else', () => {
    expectReason(b('\rSEND\n\n\0'), 'unknown_command');
  });
});

describe('StompDecoder: incremental parsing', () => {
  const stream = Buffer.concat([
    b('\nCONNECT\naccept-version:1.2\nhost:h\nlogin:u\npasscode:p\\w\n\n\0'),
    b('SEND\r\ndestination:/q\\c1\r\ncontent-length:5\r\n\r\n'),
    Buffer.from([1, 0, 2, 0, 3]),
    b('\0\r\n'),
    b('SUBSCRIBE\nid:0\ndestination:a\\nb\n\n\0'),
    b('SEND\ndestination:x\n\nscanned body\0\n\n'),
    b('DISCONNECT\nreceipt:77\n\n\0'),
  ]);
  const whole = plain(new StompDecoder(LIMITS, '1.0').push(stream));

  it('decodes the reference stream as expected', () => {
    assert.equal(whole.filter((item) => item !== 'HB').length, 5);
    assert.equal(whole.filter((item) => item === 'HB').length, 4);
    const f = frames(new StompDecoder(LIMITS, '1.0').push(stream));
    assert.equal(header(f[0] as StompFrame, 'passcode'), 'p\\w', 'CONNECT is never unescaped');
    assert.equal(header(f[1] as StompFrame, 'destination'), '/q:1');
    assert.deepEqual((f[1] as StompFrame).body, Buffer.from([1, 0, 2, 0, 3]));
    assert.equal(header(f[2] as StompFrame, 'destination'), 'a\nb');
  });

  it('gives the same result when fed one byte at a time', () => {
    const decoder = new StompDecoder(LIMITS, '1.0');
    const items: StompItem[] = [];
    for (let i = 0; i < stream.length; i++) items.push(...decoder.push(stream.subarray(i, i + 1)));
    assert.deepEqual(plain(items), whole);
  });

  it('gives the same result for a split at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new StompDecoder(LIMITS, '1.0');
      const items = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      assert.deepEqual(plain(items), whole, `split at ${cut}`);
    }
  });

  it('gives the same result for random chunk sizes', () => {
    const rnd = prng(42);
    for (let round = 0; round < 200; round++) {
      const decoder = new StompDecoder(LIMITS, '1.0');
      const items: StompItem[] = [];
      let i = 0;
      while (i < stream.length) {
        const n = 1 + Math.floor(rnd() * 40);
        items.push(...decoder.push(stream.subarray(i, i + n)));
        i += n;
      }
      assert.deepEqual(plain(items), whole, `round ${round}`);
    }
  });

  it('copies bodies out of the input chunk', () => {
    const input = b('SEND\n\nabc\0');
    const f = only(decodeAll(input));
    input.fill(0x7a);
    assert.equal(f.body.toString(), 'abc');
  });
});

describe('StompDecoder: escaping and versions', () => {
  it('unescapes \\r \\n \\c \\\\ in STOMP 1.2', () => {
    const f = only(decodeAll(b('SEND\nk\\cey:a\\rb\\nc\\cd\\\\e\n\n\0'), '1.2'));
    assert.deepEqual(f.headers, [['k:ey', 'a\rb\nc:d\\e']]);
  });

  it('unescapes \\n \\c \\\\ in STOMP 1.1 and rejects \\r', () => {
    const f = only(decodeAll(b('SEND\nk:a\\nb\\cc\\\\d\n\n\0'), '1.1'));
    assert.deepEqual(f.headers, [['k', 'a\nb:c\\d']]);
    expectReason(b('SEND\nk:a\\rb\n\n\0'), 'bad_escape', '1.1');
  });

  it('does not unescape in STOMP 1.0', () => {
    const f = only(decodeAll(b('SEND\nk:a\\tb\\n\n\n\0'), '1.0'));
    assert.equal(header(f, 'k'), 'a\\tb\\n');
  });

  it('never unescapes CONNECT / STOMP headers', () => {
    for (const command of ['CONNECT', 'STOMP']) {
      const decoder = new StompDecoder(LIMITS, '1.2', { followConnectVersion: false });
      const f = only(decoder.push(b(`${command}\npasscode:se\\cret\\t\n\n\0`)));
      assert.equal(header(f, 'passcode'), 'se\\cret\\t');
    }
  });

  it('rejects undefined escapes with a reason that does not echo the value', () => {
    const err = expectReason(b('SEND\npasscode:hunter2\\t\n\n\0'), 'bad_escape', '1.2');
    assert.match(err.message, /\\t/);
    assert.doesNotMatch(err.message, /hunter2/);
    expectReason(b('SEND\nk:trailing\\\n\n\0'), 'bad_escape', '1.2');
    expectReason(b('SEND\nk\\x:v\n\n\0'), 'bad_escape', '1.2');
  });

  it('switches to the negotiated version right after CONNECT (pipelined frames)', () => {
    const decoder = new StompDecoder(LIMITS);
    assert.equal(decoder.version, '1.0');
    const items = decoder.push(b('CONNECT\naccept-version:1.0,1.2\n\n\0SEND\ndestination:a\\cb\n\n\0'));
    assert.equal(decoder.version, '1.2');
    assert.equal(header(frames(items)[1] as StompFrame, 'destination'), 'a:b');
  });

  it('keeps the version when CONNECT lists nothing supported, and follows setVersion()', () => {
    const decoder = new StompDecoder(LIMITS, '1.1');
    decoder.push(b('CONNECT\naccept-version:2.0\n\n\0'));
    assert.equal(decoder.version, '1.1');
    decoder.setVersion('1.0');
    assert.equal(header(only(decoder.push(b('SEND\nd:a\\cb\n\n\0'))), 'd'), 'a\\cb');
  });

  it('negotiateVersion follows EMQX rules', () => {
    assert.equal(negotiateVersion(undefined), '1.0');
    assert.equal(negotiateVersion('1.0,1.1'), '1.1');
    assert.equal(negotiateVersion('1.2, 1.0'), '1.2');
    assert.equal(negotiateVersion('1.3,1.1'), '1.1');
    assert.equal(negotiateVersion('2.0'), undefined);
  });
});

describe('StompDecoder: errors', () => {
  it('unknown_command', () => {
    expectReason(b('FOO\n\n\0'), 'unknown_command');
    expectReason(b('send\n\n\0'), 'unknown_command');
    expectReason(b('MESSAGE\n\n\0'), 'unknown_command');
    expectReason(b('\0'), 'unknown_command');
  });

  it('unknown_command is detected before a long command line completes', () => {
    expectReason(b('X'.repeat(13)), 'unknown_command');
  });

  it('bad_header_line: no colon, empty name, NUL in the header section', () => {
    expectReason(b('SEND\nnocolon\n\n\0'), 'bad_header_line');
    expectReason(b('SEND\n:value\n\n\0'), 'bad_header_line');
    expectReason(b('DISCONNECT\n\0'), 'bad_header_line');
  });

  it('too_many_headers (limit inclusive)', () => {
    const hs = (n: number) => Array.from({ length: n }, (_, i) => `h${i}:v\n`).join('');
    assert.equal(only(decodeAll(b(`SEND\n${hs(10)}\n\0`))).headers.length, 10);
    expectReason(b(`SEND\n${hs(11)}\n\0`), 'too_many_headers');
    // detected on the first byte of the extra header line
    expectReason(b(`SEND\n${hs(10)}x`), 'too_many_headers');
    const zero = { ...LIMITS, maxHeaders: 0 };
    assert.equal(only(decodeAll(b('SEND\r\n\r\n\0'), '1.2', zero)).headers.length, 0);
    expectReason(b('SEND\na:b\n\n\0'), 'too_many_headers', '1.2', zero);
  });

  it('header_too_long counts name + value bytes (limit inclusive)', () => {
    const ok = `k:${'v'.repeat(1023)}`;
    assert.equal(only(decodeAll(b(`SEND\n${ok}\r\n\n\0`))).headers.length, 1);
    expectReason(b(`SEND\nk:${'v'.repeat(1024)}\n\n\0`), 'header_too_long');
    // detected without waiting for the end of the line
    expectReason(b(`SEND\nk:${'v'.repeat(1026)}`), 'header_too_long');
  });

  it('body_too_long by content-length and while scanning for NUL', () => {
    const limits = { ...LIMITS, maxBodyLength: 8 };
    expectReason(b('SEND\ncontent-length:9\n\n'), 'body_too_long', '1.2', limits);
    expectReason(b('SEND\ncontent-length:99999999999999999999999\n\n'), 'body_too_long', '1.2', limits);
    expectReason(b('SEND\n\n123456789'), 'body_too_long', '1.2', limits); // no NUL seen yet
    expectReason(b('SEND\n\n123456789\0'), 'body_too_long', '1.2', limits);
  });

  it('bad_content_length', () => {
    for (const value of ['-1', 'abc', ' 5', '5 ', '1.5', '', '0x10', '+3']) {
      expectReason(b(`SEND\ncontent-length:${value}\n\n\0`), 'bad_content_length');
    }
  });

  it('missing_nul after a content-length body', () => {
    expectReason(b('SEND\ncontent-length:2\n\nabc\0'), 'missing_nul');
    expectReason(b('SEND\ncontent-length:0\n\n\n'), 'missing_nul');
  });

  it('reports frames decoded before the error and stays failed', () => {
    const decoder = new StompDecoder(LIMITS, '1.2');
    let caught: unknown;
    try {
      decoder.push(b('SEND\nd:a\n\nx\0\nBAD\n\n\0'));
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof StompFrameError);
    assert.equal(caught.reason, 'unknown_command');
    assert.deepEqual(plain(caught.precedingItems), [{ command: 'SEND', headers: [['d', 'a']], body: '78' }, 'HB']);
    assert.throws(() => decoder.push(b('\n')), (err: unknown) => err instanceof StompFrameError && err.reason === 'unknown_command');
  });

  it('rejects invalid limits', () => {
    assert.throws(() => new StompDecoder({ ...LIMITS, maxHeaders: -1 }), RangeError);
    assert.throws(() => new StompDecoder({ ...LIMITS, maxBodyLength: 1.5 }), RangeError);
  });
});

describe('StompDecoder: buffering stays bounded', () => {
  const limits = { maxHeaders: 3, maxHeadersLength: 32, maxBodyLength: 64 };

  function feedBounded(input: Buffer): StompFrameErrorReason | 'ok' {
    const decoder = new StompDecoder(limits, '1.2');
    for (let i = 0; i < input.length; i++) {
      try {
        decoder.push(input.subarray(i, i + 1));
      } catch (err) {
        assert.ok(err instanceof StompFrameError);
        return err.reason;
      }
      assert.ok(decoder.bufferedBytes <= decoder.bufferLimit, `${decoder.bufferedBytes} > ${decoder.bufferLimit}`);
    }
    return 'ok';
  }

  it('refuses endless header lines, bodies and command lines early', () => {
    assert.equal(feedBounded(Buffer.concat([b('SEND\nk:'), Buffer.alloc(10_000, 0x61)])), 'header_too_long');
    assert.equal(feedBounded(Buffer.concat([b('SEND\n\n'), Buffer.alloc(10_000, 0x61)])), 'body_too_long');
    assert.equal(feedBounded(Buffer.alloc(10_000, 0x41)), 'unknown_command');
    assert.equal(feedBounded(b(`SEND\n${'a:b\n'.repeat(1000)}`)), 'too_many_headers');
  });

  it('reaches its largest legal frame without exceeding the bound', () => {
    const hs = Array.from({ length: 3 }, (_, i) => `h${i}:${'v'.repeat(32 - 3)}\r\n`).join('');
    const input = b(`UNSUBSCRIBE\r\n${hs}\r\n${'x'.repeat(64)}\0`);
    assert.equal(feedBounded(input), 'ok');
    assert.equal(only(decodeAll(input, '1.2', limits)).body.length, 64);
  });
});

describe('encodeFrame', () => {
  it('adds content-length for a non-empty body and replaces a user-supplied one', () => {
    const out = encodeFrame({ command: 'MESSAGE', headers: [['content-length', '999'], ['destination', 'a']], body: b('hey') }, '1.2');
    assert.equal(out.toString('latin1'), 'MESSAGE\ndestination:a\ncontent-length:3\n\nhey\0');
    const empty = encodeFrame({ command: 'RECEIPT', headers: [['receipt-id', '1'], ['content-length', '0']], body: Buffer.alloc(0) }, '1.2');
    assert.equal(empty.toString('latin1'), 'RECEIPT\nreceipt-id:1\n\n\0');
  });

  it('escapes per version and never escapes CONNECTED', () => {
    const headers: Array<[string, string]> = [['k:1', 'a\nb\\c:d']];
    const body = Buffer.alloc(0);
    assert.equal(encodeFrame({ command: 'MESSAGE', headers, body }, '1.2').toString(), 'MESSAGE\nk\\c1:a\\nb\\\\c\\cd\n\n\0');
    assert.equal(encodeFrame({ command: 'MESSAGE', headers: [['k', 'a\rb']], body }, '1.2').toString(), 'MESSAGE\nk:a\\rb\n\n\0');
    assert.equal(encodeFrame({ command: 'MESSAGE', headers, body }, '1.1').toString(), 'MESSAGE\nk\\c1:a\\nb\\\\c\\cd\n\n\0');
    assert.equal(
      encodeFrame({ command: 'CONNECTED', headers: [['version', '1.2'], ['heart-beat', '0,0'], ['x', 'a\\b:c']], body }, '1.2').toString(),
      'CONNECTED\nversion:1.2\nheart-beat:0,0\nx:a\\b:c\n\n\0',
    );
    assert.equal(encodeFrame({ command: 'MESSAGE', headers: [['k', 'a\\b:c']], body }, '1.0').toString(), 'MESSAGE\nk:a\\b:c\n\n\0');
  });

  it('refuses headers that would break framing instead of injecting', () => {
    const body = Buffer.alloc(0);
    const reason = (frame: StompFrame, version: StompVersion): string => {
      try {
        encodeFrame(frame, version);
      } catch (err) {
        assert.ok(err instanceof StompFrameError);
        return err.reason;
      }
      return 'ok';
    };
    assert.equal(reason({ command: 'MESSAGE', headers: [['k', 'a\ninjected:1']], body }, '1.0'), 'unencodable_header');
    assert.equal(reason({ command: 'CONNECTED', headers: [['k', 'a\n']], body }, '1.2'), 'unencodable_header');
    assert.equal(reason({ command: 'MESSAGE', headers: [['k:x', 'v']], body }, '1.0'), 'unencodable_header');
    assert.equal(reason({ command: 'MESSAGE', headers: [['k', 'a\rb']], body }, '1.1'), 'unencodable_header');
    assert.equal(reason({ command: 'MESSAGE', headers: [['', 'v']], body }, '1.2'), 'unencodable_header');
    assert.equal(reason({ command: 'MESSAGE', headers: [['k', 'a\0b']], body }, '1.2'), 'unencodable_header');
    assert.equal(reason({ command: 'MESS\nAGE', headers: [], body }, '1.2'), 'unencodable_command');
    assert.equal(reason({ command: 'MESSAGE', headers: [['k', 'a:b']], body }, '1.0'), 'ok');
  });

  it('round-trips random frames through encode/decode (property test)', () => {
    const rnd = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const alphabet12 = ['a', 'Z', '0', ':', '\\', '\n', '\r', ' ', 'é', '€', '/', '-'];
    const alphabet11 = alphabet12.filter((c) => c !== '\r');
    const alphabet10 = alphabet12.filter((c) => c !== '\r' && c !== '\n' && c !== ':');
    const commands = [...CLIENT_COMMANDS, ...SERVER_COMMANDS].filter((c) => c !== 'CONNECT' && c !== 'STOMP');
    for (let n = 0; n < 3000; n++) {
      const version = pick<StompVersion>(['1.0', '1.1', '1.2']);
      const command = pick(commands);
      const unescaped = version === '1.0' || command === 'CONNECTED';
      const alphabet = unescaped ? alphabet10 : version === '1.1' ? alphabet11 : alphabet12;
      const text = (min: number) => {
        let s = '';
        const len = min + Math.floor(rnd() * 12);
        for (let i = 0; i < len; i++) s += pick(alphabet);
        return s;
      };
      const headers: Array<[string, string]> = [];
      const count = Math.floor(rnd() * 6);
      for (let i = 0; i < count; i++) headers.push([text(1), text(0)]);
      const body = Buffer.alloc(Math.floor(rnd() * 40));
      for (let i = 0; i < body.length; i++) body[i] = rnd() < 0.2 ? 0 : Math.floor(rnd() * 256);
      const frame: StompFrame = { command, headers: headers.filter(([k]) => k !== 'content-length'), body };

      const wire = encodeFrame(frame, version);
      const decoder = new StompDecoder(LIMITS, version, { commands: new Set([...CLIENT_COMMANDS, ...SERVER_COMMANDS]) });
      const items: StompItem[] = [];
      let i = 0;
      while (i < wire.length) {
        const step = 1 + Math.floor(rnd() * 16);
        items.push(...decoder.push(wire.subarray(i, i + step)));
        i += step;
      }
      const decoded = only(items);
      const expectedHeaders = body.length > 0 ? [...frame.headers, ['content-length', String(body.length)]] : frame.headers;
      assert.equal(decoded.command, command);
      assert.deepEqual(decoded.headers, expectedHeaders, `frame ${n} (${version})`);
      assert.deepEqual(decoded.body, body);
    }
  });
});
