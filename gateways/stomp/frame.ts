/**
 * STOMP 1.0 / 1.1 / 1.2 frame codec for the STOMP gateway (pure: no I/O, no timers).
 *
 * Decoding is incremental: `StompDecoder.push()` accepts a byte stream split anywhere and
 * enforces the EMQX `gateway.stomp.frame` limits (reference §12.1) while bytes arrive, so a
 * peer can never make the decoder hold more than `decoder.bufferLimit` bytes.
 *
 * Choices worth knowing (see the report / tests):
 * - `max_headers_length` is applied per header: bytes of name + value as they appear on the wire
 *   (reference §12.1), not to the whole header section.
 * - CR LF line endings are accepted in every version: the CONNECT frame arrives before a version
 *   is negotiated, and a trailing CR is never meaningful in a header.
 * - A raw ':' inside a header value is accepted (the line is split at the first ':').
 * - Repeated headers are all kept in order; `header()` returns the first occurrence, and the
 *   first `content-length` is the one that frames the body.
 * - CONNECT, STOMP and CONNECTED frames are never escaped. After decoding a CONNECT/STOMP frame
 *   the decoder switches to the version `negotiateVersion()` picks from its `accept-version`,
 *   so frames pipelined behind the CONNECT in the same chunk are decoded with the right rules.
 */

export type StompVersion = '1.0' | '1.1' | '1.2';

export interface StompFrame {
  command: string;
  /** In wire order, unescaped; duplicates kept (first occurrence wins, see `header()`). */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** An EOL received between frames (a heart-beat); the channel uses it for liveness. */
export interface Heartbeat {
  readonly heartbeat: true;
}

export type StompItem = StompFrame | Heartbeat;

export const HEARTBEAT: Heartbeat = Object.freeze({ heartbeat: true as const });

export function isHeartbeat(item: StompItem): item is Heartbeat {
  return 'heartbeat' in item;
}

/** Value of the first header called `name`, or undefined. */
export function header(frame: StompFrame, name: string): string | undefined {
  for (const [key, value] of frame.headers) {
    if (key === name) return value;
  }
  return undefined;
}

export interface StompFrameLimits {
  /** Maximum number of headers in one frame. */
  maxHeaders: number;
  /** Maximum bytes of name + value of one header (escaped form, as received). */
  maxHeadersLength: number;
  /** Maximum body bytes. */
  maxBodyLength: number;
}

/** EMQX 5 defaults for `gateway.stomp.frame` (reference §12.1). */
export const EMQX_DEFAULT_LIMITS: Readonly<StompFrameLimits> = Object.freeze({
  maxHeaders: 10,
  maxHeadersLength: 1024,
  maxBodyLength: 65536,
});

/** Frames a client may send. */
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  'CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK',
  'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT',
]);

/** Frames a server sends (for decoding our own output, e.g. in tests or a client). */
export const SERVER_COMMANDS: ReadonlySet<string> = new Set(['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR']);

export type StompFrameErrorReason =
  | 'unknown_command'
  | 'bad_header_line'
  | 'bad_escape'
  | 'too_many_headers'
  | 'header_too_long'
  | 'body_too_long'
  | 'bad_content_length'
  | 'missing_nul'
  | 'unencodable_command'
  | 'unencodable_header';

/**
 * A malformed frame (decoding) or a frame that cannot be represented (encoding).
 * Messages never contain header values (a CONNECT frame carries the passcode).
 */
export class StompFrameError extends Error {
  readonly reason: StompFrameErrorReason;
  /** Items decoded from the same `push()` call before the failure; process them first. */
  precedingItems: StompItem[] = [];

  constructor(reason: StompFrameErrorReason, detail: string) {
    super(`${reason}: ${detail}`);
    this.name = 'StompFrameError';
    this.reason = reason;
  }
}

const VERSIONS: readonly StompVersion[] = ['1.0', '1.1', '1.2'];

/**
 * Version negotiation as EMQX does it (reference §12.2): no `accept-version` ⇒ 1.0, otherwise the
 * highest listed supported version; undefined when none is supported.
 */
export function negotiateVersion(acceptVersion: string | undefined): StompVersion | undefined {
  if (acceptVersion === undefined) return '1.0';
  const listed = new Set(acceptVersion.split(',').map((v) => v.trim()));
  for (let i = VERSIONS.length - 1; i >= 0; i--) {
    const version = VERSIONS[i] as StompVersion;
    if (listed.has(version)) return version;
  }
  return undefined;
}

/** Frames whose headers are never escaped, whatever the version. */
const UNESCAPED_COMMANDS: ReadonlySet<string> = new Set(['CONNECT', 'STOMP', 'CONNECTED']);

type Escaping = 'none' | '1.1' | '1.2';

function escapingFor(version: StompVersion, command: string): Escaping {
  if (version === '1.0' || UNESCAPED_COMMANDS.has(command)) return 'none';
  return version;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const NUL = 0x00;
const BACKSLASH = 0x5c;

function decodeText(raw: Buffer, escaping: Escaping, what: string): string {
  const text = raw.toString('utf8');
  if (escaping === 'none' || raw.indexOf(BACKSLASH) === -1) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const slash = text.indexOf('\\', i);
    if (slash === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, slash);
    const next = text[slash + 1];
    if (next === 'n') out += '\n';
    else if (next === 'c') out += ':';
    else if (next === '\\') out += '\\';
    else if (next === 'r' && escaping === '1.2') out += '\r';
    else {
      const seq = next === undefined ? 'a trailing \\' : `\\${printable(next)}`;
      throw new StompFrameError('bad_escape', `undefined escape sequence ${seq} in a header ${what} (STOMP ${escaping})`);
    }
    i = slash + 2;
  }
  return out;
}

function printable(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code >= 0x21 && code <= 0x7e ? ch : `x${code.toString(16).padStart(2, '0')}`;
}

type DecoderState = 'command' | 'headers' | 'bodyFixed' | 'bodyScan' | 'nul' | 'failed';

export interface StompDecoderOptions {
  /** Commands accepted; default `CLIENT_COMMANDS` (server side). */
  commands?: ReadonlySet<string>;
  /** Switch version after each CONNECT/STOMP frame (see module comment); default true. */
  followConnectVersion?: boolean;
}

function checkLimit(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`STOMP frame limit ${name} must be a non-negative integer`);
  }
}

export class StompDecoder {
  private readonly limits: Readonly<StompFrameLimits>;
  private readonly commands: ReadonlySet<string>;
  private readonly followConnectVersion: boolean;
  private readonly maxCommandLine: number;
  private versionInUse: StompVersion;

  private state: DecoderState = 'command';
  private failure: StompFrameError | undefined;
  /** Bytes of the line being received (no LF yet). */
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  /** Raw bytes of the completed command and header lines of the current frame. */
  private headerBytes = 0;
  private command = '';
  private headers: Array<[string, string]> = [];
  private fixedBody: Buffer = Buffer.alloc(0);
  private fixedFilled = 0;
  private scanParts: Buffer[] = [];
  private scanLength = 0;

  constructor(limits: StompFrameLimits, version: StompVersion = '1.0', options: StompDecoderOptions = {}) {
    checkLimit('maxHeaders', limits.maxHeaders);
    checkLimit('maxHeadersLength', limits.maxHeadersLength);
    checkLimit('maxBodyLength', limits.maxBodyLength);
    this.limits = Object.freeze({ ...limits });
    this.commands = options.commands ?? CLIENT_COMMANDS;
    this.followConnectVersion = options.followConnectVersion ?? true;
    let longest = 0;
    for (const command of this.commands) longest = Math.max(longest, Buffer.byteLength(command));
    this.maxCommandLine = longest + 1; // + optional CR
    this.versionInUse = version;
  }

  get version(): StompVersion {
    return this.versionInUse;
  }

  /** Escaping rules for the frames that follow (call after CONNECTED is decided). */
  setVersion(version: StompVersion): void {
    this.versionInUse = version;
  }

  /** Bytes currently held for the frame in progress. */
  get bufferedBytes(): number {
    return this.lineLength + this.headerBytes + this.fixedBody.length + this.scanLength;
  }

  /** Upper bound of `bufferedBytes` for these limits. */
  get bufferLimit(): number {
    const { maxHeaders, maxHeadersLength, maxBodyLength } = this.limits;
    // command line with its EOL + header lines (each ≤ name+value + ':' + CR LF), counting the
    // line in progress or the blank line, + body
    return this.maxCommandLine + 1 + (maxHeaders + 1) * (maxHeadersLength + 3) + maxBodyLength;
  }

  /**
   * Decode as much as `chunk` completes. Throws `StompFrameError` on malformed input; the error's
   * `precedingItems` holds what this call decoded before it. After an error the decoder stays
   * failed and rethrows it.
   */
  push(chunk: Buffer): StompItem[] {
    if (this.failure !== undefined) {
      throw new StompFrameError(this.failure.reason, 'decoder already failed on an earlier frame');
    }
    const out: StompItem[] = [];
    try {
      let i = 0;
      while (i < chunk.length) {
        switch (this.state) {
          case 'command':
          case 'headers':
            i = this.consumeLine(chunk, i, out);
            break;
          case 'bodyFixed': {
            const n = Math.min(this.fixedBody.length - this.fixedFilled, chunk.length - i);
            chunk.copy(this.fixedBody, this.fixedFilled, i, i + n);
            this.fixedFilled += n;
            i += n;
            if (this.fixedFilled === this.fixedBody.length) this.state = 'nul';
            break;
          }
          case 'nul':
            if (chunk[i] !== NUL) {
              throw new StompFrameError('missing_nul', `no NUL octet after the ${this.fixedBody.length}-byte body given by content-length`);
            }
            i += 1;
            this.emit(this.fixedBody, out);
            break;
          case 'bodyScan': {
            const nul = chunk.indexOf(NUL, i);
            const end = nul === -1 ? chunk.length : nul;
            if (this.scanLength + (end - i) > this.limits.maxBodyLength) {
              throw new StompFrameError('body_too_long', `body exceeds ${this.limits.maxBodyLength} bytes before its NUL terminator`);
            }
            if (end > i) {
              this.scanParts.push(Buffer.from(chunk.subarray(i, end)));
              this.scanLength += end - i;
            }
            i = end;
            if (nul !== -1) {
              i += 1;
              const body = this.scanParts.length === 1 ? (this.scanParts[0] as Buffer) : Buffer.concat(this.scanParts, this.scanLength);
              this.emit(body, out);
            }
            break;
          }
          case 'failed':
            throw new Error('unreachable: failed decoder state');
        }
      }
    } catch (err) {
      if (err instanceof StompFrameError) {
        err.precedingItems = out;
        this.fail(err);
      }
      throw err;
    }
    return out;
  }

  private fail(err: StompFrameError): void {
    this.failure = err;
    this.state = 'failed';
    this.lineParts = [];
    this.lineLength = 0;
    this.headerBytes = 0;
    this.headers = [];
    this.fixedBody = Buffer.alloc(0);
    this.scanParts = [];
    this.scanLength = 0;
  }

  /** Consume bytes of a command or header line starting at `i`; returns the next index. */
  private consumeLine(chunk: Buffer, i: number, out: StompItem[]): number {
    const lf = chunk.indexOf(LF, i);
    const end = lf === -1 ? chunk.length : lf;
    const total = this.lineLength + (end - i);
    const nulAt = chunk.subarray(i, end).indexOf(NUL);

    if (this.state === 'command') {
      if (nulAt !== -1 || total > this.maxCommandLine) {
        throw new StompFrameError('unknown_command', 'command line is not a known STOMP command');
      }
    } else {
      // Each in-line rule fires at a byte position of the line (1-based); the earliest wins, ties
      // in this order. This makes the reported reason independent of how the input was split.
      const nulPos = nulAt === -1 ? Infinity : this.lineLength + nulAt + 1;
      let tooManyPos = Infinity;
      if (this.headers.length >= this.limits.maxHeaders && total > 0) {
        // A line started after maxHeaders headers must be the blank line (at most a CR before LF).
        const first = this.lineLength > 0 ? (this.lineParts[0] as Buffer)[0] : chunk[i];
        tooManyPos = first === CR ? 2 : 1;
      }
      // name + value ≥ line bytes − ':' − a possible trailing CR
      const tooLongPos = this.limits.maxHeadersLength + 3;
      const pos = Math.min(nulPos, tooManyPos, tooLongPos);
      if (pos <= total) {
        const index = this.headers.length + 1;
        if (pos === nulPos) throw new StompFrameError('bad_header_line', `NUL octet in header ${index}`);
        if (pos === tooManyPos) throw new StompFrameError('too_many_headers', `more than ${this.limits.maxHeaders} headers`);
        throw new StompFrameError('header_too_long', `header ${index} is longer than ${this.limits.maxHeadersLength} bytes`);
      }
    }

    if (lf === -1) {
      if (end > i) {
        this.lineParts.push(Buffer.from(chunk.subarray(i, end)));
        this.lineLength = total;
      }
      return chunk.length;
    }

    let line: Buffer;
    if (this.lineParts.length === 0) {
      line = chunk.subarray(i, lf);
    } else {
      this.lineParts.push(chunk.subarray(i, lf));
      line = Buffer.concat(this.lineParts, total);
    }
    this.lineParts = [];
    this.lineLength = 0;
    const rawLength = total + 1;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);

    if (this.state === 'command') this.onCommandLine(line, rawLength, out);
    else this.onHeaderLine(line, rawLength);
    return lf + 1;
  }

  private onCommandLine(line: Buffer, rawLength: number, out: StompItem[]): void {
    if (line.length === 0) {
      out.push(HEARTBEAT);
      return;
    }
    const command = line.toString('latin1');
    if (!this.commands.has(command)) {
      throw new StompFrameError('unknown_command', 'command line is not a known STOMP command');
    }
    this.command = command;
    this.headers = [];
    this.headerBytes = rawLength;
    this.state = 'headers';
  }

  private onHeaderLine(line: Buffer, rawLength: number): void {
    if (line.length === 0) {
      this.headerBytes += rawLength;
      this.startBody();
      return;
    }
    const index = this.headers.length + 1;
    if (this.headers.length >= this.limits.maxHeaders) {
      throw new StompFrameError('too_many_headers', `more than ${this.limits.maxHeaders} headers`);
    }
    const colon = line.indexOf(COLON);
    if (colon === -1) throw new StompFrameError('bad_header_line', `header ${index} has no ':'`);
    if (colon === 0) throw new StompFrameError('bad_header_line', `header ${index} has an empty name`);
    if (line.length - 1 > this.limits.maxHeadersLength) {
      throw new StompFrameError('header_too_long', `header ${index} is longer than ${this.limits.maxHeadersLength} bytes`);
    }
    const escaping = escapingFor(this.versionInUse, this.command);
    const name = decodeText(line.subarray(0, colon), escaping, `name (header ${index})`);
    const value = decodeText(line.subarray(colon + 1), escaping, `value (header ${index})`);
    this.headers.push([name, value]);
    this.headerBytes += rawLength;
  }

  private startBody(): void {
    let contentLength: string | undefined;
    for (const [name, value] of this.headers) {
      if (name === 'content-length') {
        contentLength = value;
        break;
      }
    }
    if (contentLength === undefined) {
      this.scanParts = [];
      this.scanLength = 0;
      this.state = 'bodyScan';
      return;
    }
    if (!/^[0-9]+$/.test(contentLength)) {
      throw new StompFrameError('bad_content_length', 'content-length is not a non-negative decimal integer');
    }
    const length = Number(contentLength);
    if (length > this.limits.maxBodyLength) {
      throw new StompFrameError('body_too_long', `content-length exceeds ${this.limits.maxBodyLength} bytes`);
    }
    this.fixedBody = Buffer.allocUnsafe(length);
    this.fixedFilled = 0;
    this.state = length === 0 ? 'nul' : 'bodyFixed';
  }

  private emit(body: Buffer, out: StompItem[]): void {
    const frame: StompFrame = { command: this.command, headers: this.headers, body };
    out.push(frame);
    this.command = '';
    this.headers = [];
    this.headerBytes = 0;
    this.fixedBody = Buffer.alloc(0);
    this.fixedFilled = 0;
    this.scanParts = [];
    this.scanLength = 0;
    this.state = 'command';
    if (this.followConnectVersion && (frame.command === 'CONNECT' || frame.command === 'STOMP')) {
      const negotiated = negotiateVersion(header(frame, 'accept-version'));
      if (negotiated !== undefined) this.versionInUse = negotiated;
    }
  }
}

function encodeText(text: string, escaping: Escaping, isName: boolean, index: number): string {
  const what = `header ${index} ${isName ? 'name' : 'value'}`;
  if (isName && text.length === 0) throw new StompFrameError('unencodable_header', `${what} is empty`);
  if (text.includes('\0')) throw new StompFrameError('unencodable_header', `${what} contains a NUL character`);
  if (escaping === 'none') {
    if (/[\r\n]/.test(text) || (isName && text.includes(':'))) {
      throw new StompFrameError('unencodable_header', `${what} contains a character this frame cannot carry unescaped`);
    }
    return text;
  }
  if (escaping === '1.1' && text.includes('\r')) {
    throw new StompFrameError('unencodable_header', `${what} contains CR, which STOMP 1.1 cannot escape`);
  }
  if (!/[\\\r\n:]/.test(text)) return text;
  return text.replace(/[\\\r\n:]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\r' ? '\\r' : ch === '\n' ? '\\n' : '\\c'));
}

/**
 * Serialize a frame for `version`. Header names and values are escaped per version (never for
 * CONNECT/STOMP/CONNECTED). Any `content-length` in `frame.headers` is dropped and a correct one is
 * appended when the body is non-empty. Throws `StompFrameError` when a header cannot be represented
 * (e.g. a newline in a STOMP 1.0 value), so header injection is impossible.
 */
export function encodeFrame(frame: StompFrame, version: StompVersion): Buffer {
  if (!/^[A-Z]+$/.test(frame.command)) {
    throw new StompFrameError('unencodable_command', 'command must be upper-case letters');
  }
  const escaping = escapingFor(version, frame.command);
  let head = `${frame.command}\n`;
  let index = 0;
  for (const [name, value] of frame.headers) {
    index += 1;
    if (name === 'content-length') continue;
    head += `${encodeText(name, escaping, true, index)}:${encodeText(value, escaping, false, index)}\n`;
  }
  if (frame.body.length > 0) head += `content-length:${frame.body.length}\n`;
  head += '\n';
  const headBytes = Buffer.from(head, 'utf8');
  const out = Buffer.allocUnsafe(headBytes.length + frame.body.length + 1);
  headBytes.copy(out, 0);
  frame.body.copy(out, headBytes.length);
  out[out.length - 1] = NUL;
  return out;
}
