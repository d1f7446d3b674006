/**
 * The few CONNECT fields authentication needs, read straight from the bytes.
 * aedes parses the whole CONNECT again once the front hands it over, so the
 * front only extracts what it must; anything unusual returns undefined and the
 * caller falls back to mqtt-packet's full parser (which also words the error).
 */
export interface ConnectFields {
  protocolVersion: 3 | 4 | 5;
  clientId: string;
  username?: string;
  password?: Buffer;
  authenticationMethod?: string;
  authenticationData?: Buffer;
}

/** Reads a whole CONNECT frame (fixed header included); undefined if it is not a plain, well-formed one. */
export function readConnectFields(frame: Buffer): ConnectFields | undefined {
  const r = new Reader(frame);
  if (r.byte() !== 0x10) return undefined;
  const remaining = r.varint();
  if (remaining === undefined || r.pos + remaining !== frame.length) return undefined;
  const name = r.string();
  const level = r.byte();
  if (!((name === 'MQTT' && (level === 4 || level === 5)) || (name === 'MQIsdp' && level === 3))) return undefined;
  const flags = r.byte();
  if (flags === undefined || (flags & 0x01) !== 0) return undefined;
  const hasWill = (flags & 0x04) !== 0;
  if (!hasWill && (flags & 0x38) !== 0) return undefined;
  r.skip(2); // keep alive
  const fields: ConnectFields = { protocolVersion: level as 3 | 4 | 5, clientId: '' };
  if (level === 5) {
    const end = r.propertiesEnd();
    if (end === undefined) return undefined;
    while (r.pos < end) {
      const id = r.byte();
      switch (id) {
        case 0x11: // session expiry interval
        case 0x27: // maximum packet size
          r.skip(4);
          break;
        case 0x21: // receive maximum
        case 0x22: // topic alias maximum
          r.skip(2);
          break;
        case 0x17: // request problem information
        case 0x19: // request response information
          r.skip(1);
          break;
        case 0x26: // user property
          r.string();
          r.string();
          break;
        case 0x15: {
          const method = r.string();
          if (method === undefined) return undefined;
          fields.authenticationMethod = method;
          break;
        }
        case 0x16: {
          const data = r.binary();
          if (data === undefined) return undefined;
          fields.authenticationData = data;
          break;
        }
        default:
          return undefined;
      }
      if (r.failed) return undefined;
    }
    if (r.pos !== end) return undefined;
  }
  const clientId = r.string();
  if (clientId === undefined) return undefined;
  fields.clientId = clientId;
  if (hasWill) {
    if (level === 5 && !skipWillProperties(r)) return undefined;
    r.string(); // will topic
    r.binary(); // will payload
  }
  if ((flags & 0x80) !== 0) {
    const username = r.string();
    if (username === undefined) return undefined;
    fields.username = username;
  }
  if ((flags & 0x40) !== 0) {
    const password = r.binary();
    if (password === undefined) return undefined;
    fields.password = password;
  }
  if (r.failed || r.pos !== frame.length) return undefined;
  return fields;
}

/** Will properties (MQTT 5 §3.1.3.2): known ids only, each skipped by its type. */
function skipWillProperties(r: Reader): boolean {
  const end = r.propertiesEnd();
  if (end === undefined) return false;
  while (r.pos < end) {
    switch (r.byte()) {
      case 0x18: // will delay interval
      case 0x02: // message expiry interval
        r.skip(4);
        break;
      case 0x01: // payload format indicator
        r.skip(1);
        break;
      case 0x03: // content type
      case 0x08: // response topic
        r.string();
        break;
      case 0x09: // correlation data
        r.binary();
        break;
      case 0x26: // user property
        r.string();
        r.string();
        break;
      default:
        return false;
    }
    if (r.failed) return false;
  }
  return r.pos === end;
}

class Reader {
  pos = 0;
  failed = false;
  constructor(private readonly buf: Buffer) {}

  byte(): number | undefined {
    if (this.pos >= this.buf.length) return this.fail();
    return this.buf[this.pos++];
  }

  skip(n: number): void {
    if (this.pos + n > this.buf.length) this.fail();
    else this.pos += n;
  }

  varint(): number | undefined {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.byte();
      if (b === undefined) return undefined;
      value += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) return value;
      multiplier *= 128;
    }
    return this.fail();
  }

  propertiesEnd(): number | undefined {
    const length = this.varint();
    if (length === undefined || this.pos + length > this.buf.length) return this.fail();
    return this.pos + length;
  }

  binary(): Buffer | undefined {
    if (this.pos + 2 > this.buf.length) return this.fail();
    const len = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    if (this.pos + len > this.buf.length) return this.fail();
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return out;
  }

  string(): string | undefined {
    if (this.pos + 2 > this.buf.length) return this.fail();
    const len = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    if (this.pos + len > this.buf.length) return this.fail();
    const out = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  private fail(): undefined {
    this.failed = true;
    return undefined;
  }
}
