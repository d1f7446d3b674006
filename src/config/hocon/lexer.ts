import { HoconError, type HoconPosition } from './errors.js';

export type Token =
  | { readonly kind: 'ws'; readonly text: string; readonly pos: HoconPosition }
  | { readonly kind: 'newline'; readonly pos: HoconPosition }
  | { readonly kind: 'punct'; readonly text: '{' | '}' | '[' | ']' | ',' | ':' | '=' | '+='; readonly pos: HoconPosition }
  | { readonly kind: 'quoted'; readonly text: string; readonly pos: HoconPosition }
  | { readonly kind: 'unquoted'; readonly text: string; readonly pos: HoconPosition }
  | { readonly kind: 'number'; readonly text: string; readonly value: number; readonly pos: HoconPosition }
  | { readonly kind: 'subst'; readonly path: readonly string[]; readonly optional: boolean; readonly pos: HoconPosition }
  | { readonly kind: 'eof'; readonly pos: HoconPosition };

/** Characters that may not appear in unquoted text (HOCON spec), besides whitespace. */
const FORBIDDEN = new Set(['$', '"', '{', '}', '[', ']', ':', '=', ',', '+', '#', '`', '^', '?', '!', '@', '*', '&', '\\']);
const NUMBER_CHARS = /[0-9eE+.\-]/;
const NUMBER_RE = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function isHoconWhitespace(c: string): boolean {
  return c !== '\n' && /\s/u.test(c);
}

export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'ws': return 'whitespace';
    case 'newline': return 'end of line';
    case 'eof': return 'end of input';
    case 'punct': return `'${t.text}'`;
    // String contents are never echoed: they may be secrets.
    case 'quoted': return 'quoted string';
    case 'unquoted': return 'unquoted text';
    case 'subst': return `substitution \${${t.optional ? '?' : ''}${t.path.join('.')}}`;
    case 'number': return `number ${t.text}`;
  }
}

/** Splits HOCON text into tokens; comments are dropped, newlines are kept. */
export function tokenize(text: string, file: string): Token[] {
  return new Lexer(text, file).run();
}

class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;
  private readonly out: Token[] = [];

  constructor(private readonly src: string, private readonly file: string) {}

  private pos(): HoconPosition {
    return { file: this.file, line: this.line, col: this.col };
  }

  private fail(pos: HoconPosition, reason: string): never {
    throw new HoconError(pos, reason);
  }

  private advance(n = 1): void {
    for (let k = 0; k < n; k++) {
      if (this.src[this.i] === '\n') {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }
      this.i++;
    }
  }

  private startsWith(s: string): boolean {
    return this.src.startsWith(s, this.i);
  }

  run(): Token[] {
    const src = this.src;
    while (this.i < src.length) {
      const c = src[this.i]!;
      const pos = this.pos();
      if (c === '\n') {
        this.advance();
        this.out.push({ kind: 'newline', pos });
      } else if (isHoconWhitespace(c)) {
        const start = this.i;
        while (this.i < src.length && isHoconWhitespace(src[this.i]!)) this.advance();
        this.out.push({ kind: 'ws', text: src.slice(start, this.i), pos });
      } else if (c === '#' || this.startsWith('//')) {
        while (this.i < src.length && src[this.i] !== '\n') this.advance();
      } else if (c === '{' || c === '}' || c === '[' || c === ']' || c === ',' || c === ':' || c === '=') {
        this.advance();
        this.out.push({ kind: 'punct', text: c, pos });
      } else if (this.startsWith('+=')) {
        this.advance(2);
        this.out.push({ kind: 'punct', text: '+=', pos });
      } else if (this.startsWith('"""')) {
        this.out.push(this.tripleQuoted(pos));
      } else if (c === '"') {
        this.out.push({ kind: 'quoted', text: this.quoted(pos), pos });
      } else if (this.startsWith('${')) {
        this.out.push(this.substitution(pos));
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        this.out.push(this.numberOrText(pos));
      } else if (FORBIDDEN.has(c)) {
        this.fail(pos, forbiddenReason(c));
      } else {
        this.out.push({ kind: 'unquoted', text: this.unquoted(), pos });
      }
    }
    this.out.push({ kind: 'eof', pos: this.pos() });
    return this.out;
  }

  private unquoted(): string {
    const start = this.i;
    while (this.i < this.src.length) {
      const c = this.src[this.i]!;
      if (c === '\n' || isHoconWhitespace(c) || FORBIDDEN.has(c) || this.startsWith('//')) break;
      this.advance();
    }
    return this.src.slice(start, this.i);
  }

  private numberOrText(pos: HoconPosition): Token {
    const start = this.i;
    while (this.i < this.src.length && NUMBER_CHARS.test(this.src[this.i]!)) this.advance();
    const text = this.src.slice(start, this.i);
    if (NUMBER_RE.test(text)) return { kind: 'number', text, value: Number(text), pos };
    if (text.includes('+')) this.fail(pos, "not a number, and '+' is not allowed in unquoted text; use double quotes");
    return { kind: 'unquoted', text: text + this.unquoted(), pos };
  }

  private quoted(pos: HoconPosition): string {
    this.advance(); // opening quote
    let out = '';
    for (;;) {
      if (this.i >= this.src.length) this.fail(pos, 'unterminated quoted string (missing closing \'"\')');
      const c = this.src[this.i]!;
      if (c === '"') {
        this.advance();
        return out;
      }
      if (c === '\n') {
        this.fail(pos, 'unterminated quoted string: a quoted string cannot span lines (use \\n or a """triple-quoted""" string)');
      }
      if (c === '\\') {
        const escPos = this.pos();
        const e = this.src[this.i + 1];
        if (e === undefined) this.fail(pos, 'unterminated quoted string (missing closing \'"\')');
        if (e === 'u') {
          const hex = this.src.slice(this.i + 2, this.i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(escPos, 'bad \\u escape: expected four hex digits');
          out += String.fromCharCode(parseInt(hex, 16));
          this.advance(6);
          continue;
        }
        const rep = ESCAPES[e];
        if (rep === undefined) this.fail(escPos, `bad escape '\\${e === '\n' ? '\\n' : e}' in quoted string`);
        out += rep;
        this.advance(2);
        continue;
      }
      out += c;
      this.advance();
    }
  }

  private tripleQuoted(pos: HoconPosition): Token {
    this.advance(3);
    const start = this.i;
    for (;;) {
      if (this.i >= this.src.length) this.fail(pos, 'unterminated triple-quoted string (missing closing \'"""\')');
      if (this.startsWith('"""')) {
        // A run of more than three quotes ends the string; the extra quotes belong to it.
        let end = this.i;
        while (this.src[end] === '"') end++;
        const text = this.src.slice(start, end - 3);
        this.advance(end - this.i);
        return { kind: 'quoted', text, pos };
      }
      this.advance();
    }
  }

  private substitution(pos: HoconPosition): Token {
    this.advance(2);
    let optional = false;
    if (this.src[this.i] === '?') {
      optional = true;
      this.advance();
    }
    const parts: PathPart[] = [];
    for (;;) {
      if (this.i >= this.src.length) this.fail(pos, "unterminated substitution (missing '}')");
      const c = this.src[this.i]!;
      const here = this.pos();
      if (c === '}') {
        this.advance();
        break;
      }
      if (c === '\n') this.fail(pos, "unterminated substitution (missing '}' before end of line)");
      if (isHoconWhitespace(c)) {
        const s = this.i;
        while (this.i < this.src.length && isHoconWhitespace(this.src[this.i]!)) this.advance();
        parts.push({ quoted: false, text: this.src.slice(s, this.i), ws: true });
      } else if (c === '"') {
        if (this.startsWith('"""')) this.fail(here, 'triple-quoted strings are not allowed in a substitution path');
        parts.push({ quoted: true, text: this.quoted(here), ws: false });
      } else if (FORBIDDEN.has(c)) {
        this.fail(here, `bad substitution: '${c}' is not allowed in a substitution path`);
      } else if (this.startsWith('//')) {
        this.fail(here, "bad substitution: '//' is not allowed in a substitution path");
      } else {
        parts.push({ quoted: false, text: this.unquoted(), ws: false });
      }
    }
    const path = pathFromParts(parts, pos, 'substitution');
    return { kind: 'subst', path, optional, pos };
  }
}

function forbiddenReason(c: string): string {
  if (c === '$') return "'$' must start a substitution '${path}'; quote the text if a literal '$' is meant";
  return `character '${c}' is not allowed here; put the text in double quotes`;
}

/** A piece of a key or substitution path: quoted text is taken literally, unquoted text is split on '.'. */
export interface PathPart {
  readonly quoted: boolean;
  readonly text: string;
  readonly ws: boolean;
}

/** Builds a path (list of keys) from key pieces, per the HOCON path-expression rules. */
export function pathFromParts(rawParts: readonly PathPart[], pos: HoconPosition, what: string): string[] {
  const parts = [...rawParts];
  while (parts.length > 0 && parts[0]!.ws) parts.shift();
  while (parts.length > 0 && parts[parts.length - 1]!.ws) parts.pop();
  if (parts.length === 0) throw new HoconError(pos, `empty ${what} path`);
  const path: string[] = [];
  let current = '';
  let started = false;
  for (const p of parts) {
    if (p.quoted || p.ws) {
      current += p.text;
      started = true;
      continue;
    }
    const pieces = p.text.split('.');
    for (let k = 0; k < pieces.length; k++) {
      if (k > 0) {
        if (!started) throw new HoconError(pos, `bad ${what} path: empty path element (stray '.')`);
        path.push(current);
        current = '';
        started = false;
      }
      if (pieces[k] !== '') {
        current += pieces[k];
        started = true;
      }
    }
  }
  if (!started) throw new HoconError(pos, `bad ${what} path: empty path element (stray '.')`);
  path.push(current);
  return path;
}
