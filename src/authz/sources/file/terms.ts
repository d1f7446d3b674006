/**
 * A reader for the Erlang terms of EMQX's acl.conf (§8.6): a sequence of terms, each ended
 * by `.`; `%` comments to the end of the line. Terms are tuples `{...}`, lists `[...]`, atoms
 * (`allow`, quoted `'and'`), strings `"..."` (adjacent strings join, as in Erlang), binaries
 * `<<"...">>`, and integers. Every error names the line and column (1-based) where it is.
 * Variables, floats, maps, improper lists and the rest of Erlang are refused by name.
 */

export interface Position {
  line: number;
  column: number;
}

interface Located {
  readonly at: Position;
  /** Offsets of the term in the text, for quoting it back. */
  readonly start: number;
  readonly end: number;
}

export type Term =
  | (Located & { readonly kind: 'atom'; readonly value: string })
  | (Located & { readonly kind: 'string'; readonly value: string })
  | (Located & { readonly kind: 'integer'; readonly value: number })
  | (Located & { readonly kind: 'tuple'; readonly items: readonly Term[] })
  | (Located & { readonly kind: 'list'; readonly items: readonly Term[] });

/** A mistake in acl.conf, syntax or rule, at a line and column (1-based). */
export class AclFileError extends Error {
  override readonly name = 'AclFileError';
  constructor(
    readonly reason: string,
    readonly at: Position,
  ) {
    super(`line ${at.line}, column ${at.column}: ${reason}`);
  }
}

type TokenKind = '{' | '}' | '[' | ']' | ',' | '.' | '<<' | '>>' | 'atom' | 'string' | 'integer' | 'eof';

interface Token {
  kind: TokenKind;
  value: string;
  at: Position;
  start: number;
  end: number;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', s: ' ', f: '\f', b: '\b', v: '\v', e: '\x1b', d: '\x7f' };

class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  private here(at = this.pos): Position {
    return { line: this.line, column: at - this.lineStart + 1 };
  }

  private fail(reason: string, at: Position = this.here()): never {
    throw new AclFileError(reason, at);
  }

  private skipBlank(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        this.pos++;
      } else if (c === '%') {
        while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      } else {
        return;
      }
    }
  }

  next(): Token {
    this.skipBlank();
    const t = this.text;
    const start = this.pos;
    const at = this.here();
    const token = (kind: TokenKind, value: string): Token => ({ kind, value, at, start, end: this.pos });
    if (start >= t.length) return token('eof', '');
    const c = t[start]!;
    if ('{}[],'.includes(c)) {
      this.pos++;
      return token(c as TokenKind, c);
    }
    if (c === '.') {
      this.pos++;
      const after = t[this.pos];
      if (after !== undefined && !/[\s%]/.test(after)) this.fail(`expected whitespace, a comment or the end after the '.' ending a term, got ${JSON.stringify(after)}`);
      return token('.', '.');
    }
    if (t.startsWith('<<', start) || t.startsWith('>>', start)) {
      this.pos += 2;
      return token(t.slice(start, start + 2) as TokenKind, t.slice(start, start + 2));
    }
    if (c === '"') return token('string', this.quoted('"'));
    if (c === "'") return token('atom', this.quoted("'"));
    if (/[a-z]/.test(c)) {
      while (this.pos < t.length && /[A-Za-z0-9_@]/.test(t[this.pos]!)) this.pos++;
      return token('atom', t.slice(start, this.pos));
    }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(t[start + 1] ?? ''))) {
      this.pos++;
      while (this.pos < t.length && /[0-9]/.test(t[this.pos]!)) this.pos++;
      if (t[this.pos] === '.' && /[0-9]/.test(t[this.pos + 1] ?? '')) this.fail('floats are not allowed here', at);
      if (t[this.pos] === '#') this.fail('only decimal integers are allowed', at);
      return token('integer', t.slice(start, this.pos));
    }
    if (/[A-Z_]/.test(c)) {
      let end = start;
      while (end < t.length && /[A-Za-z0-9_@]/.test(t[end]!)) end++;
      this.fail(`${t.slice(start, end)} is an Erlang variable; write an atom in lower case, a 'quoted atom' or a "string"`, at);
    }
    if (c === '#') this.fail('maps (#{...}) are not allowed in acl.conf', at);
    if (c === '|') this.fail("improper lists ('|') are not allowed in acl.conf", at);
    return this.fail(`unexpected character ${JSON.stringify(c)}`, at);
  }

  /** A "string" or 'quoted atom' starting at pos, with Erlang's escapes. */
  private quoted(quote: '"' | "'"): string {
    const t = this.text;
    const open = this.here();
    this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= t.length) this.fail(`${quote === '"' ? 'string' : 'quoted atom'} not closed (opened here)`, open);
      const c = t[this.pos]!;
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
        out += c;
        continue;
      }
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const escAt = this.here();
      const e = t[this.pos + 1];
      if (e === undefined) this.fail('backslash at the end of the file', escAt);
      this.pos += 2;
      if (e in ESCAPES) out += ESCAPES[e];
      else if (/[0-7]/.test(e)) {
        let digits = e;
        while (digits.length < 3 && /[0-7]/.test(t[this.pos] ?? '')) digits += t[this.pos++];
        out += String.fromCodePoint(parseInt(digits, 8));
      } else if (e === 'x') {
        let hex: string;
        if (t[this.pos] === '{') {
          const close = t.indexOf('}', this.pos);
          hex = close < 0 ? '' : t.slice(this.pos + 1, close);
          if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) this.fail('bad \\x{...} escape', escAt);
          this.pos = close + 1;
        } else {
          hex = t.slice(this.pos, this.pos + 2);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail('bad \\xHH escape', escAt);
          this.pos += 2;
        }
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) this.fail('bad \\x{...} escape', escAt);
        out += String.fromCodePoint(code);
      } else if (e === '^') {
        const ctl = t[this.pos++];
        if (ctl === undefined) this.fail('backslash at the end of the file', escAt);
        out += String.fromCharCode(ctl.charCodeAt(0) & 31);
      } else if (e === '\n') {
        this.line++;
        this.lineStart = this.pos;
        out += '\n';
      } else {
        out += e; // Erlang: any other escaped character stands for itself (\\ \" \' ...)
      }
    }
  }
}

class Parser {
  private token: Token;

  constructor(private readonly lexer: Lexer) {
    this.token = lexer.next();
  }

  private advance(): Token {
    const t = this.token;
    this.token = this.lexer.next();
    return t;
  }

  private expected(what: string): never {
    const t = this.token;
    const got = t.kind === 'eof' ? 'the end of the file' : t.kind === 'string' ? `the string ${JSON.stringify(t.value)}` : `'${t.value}'`;
    throw new AclFileError(`expected ${what}, got ${got}`, t.at);
  }

  /** Every term of the text, each ended by a dot. */
  all(): Term[] {
    const terms: Term[] = [];
    while (this.token.kind !== 'eof') {
      terms.push(this.term());
      if (this.token.kind !== '.') this.expected("'.' after the term");
      this.advance();
    }
    return terms;
  }

  private term(): Term {
    const t = this.token;
    switch (t.kind) {
      case 'atom':
        this.advance();
        return { kind: 'atom', value: t.value, at: t.at, start: t.start, end: t.end };
      case 'integer':
        this.advance();
        return { kind: 'integer', value: Number(t.value), at: t.at, start: t.start, end: t.end };
      case 'string': {
        let value = t.value;
        let end = t.end;
        this.advance();
        // "a" "b" is "ab" in Erlang.
        while (this.token.kind === 'string') {
          value += this.token.value;
          end = this.advance().end;
        }
        return { kind: 'string', value, at: t.at, start: t.start, end };
      }
      case '<<': {
        this.advance();
        const s = this.token;
        if (s.kind !== 'string') this.expected('a "string" inside <<...>>');
        this.advance();
        if (this.token.kind !== '>>') this.expected("'>>'");
        const end = this.advance().end;
        return { kind: 'string', value: s.value, at: t.at, start: t.start, end };
      }
      case '{':
      case '[': {
        const close = t.kind === '{' ? '}' : ']';
        this.advance();
        const items: Term[] = [];
        if (this.token.kind !== close) {
          for (;;) {
            items.push(this.term());
            if (this.token.kind === ',') {
              this.advance();
              continue;
            }
            if (this.token.kind === close) break;
            this.expected(`',' or '${close}'`);
          }
        }
        const end = this.advance().end;
        return { kind: t.kind === '{' ? 'tuple' : 'list', items, at: t.at, start: t.start, end };
      }
      default:
        return this.expected('a term (an atom, a "string", a number, a {tuple} or a [list])');
    }
  }
}

/** The terms of an acl.conf text; throws AclFileError with the line and column. */
export function parseTerms(text: string): Term[] {
  return new Parser(new Lexer(text)).all();
}
