import { dirname, extname, isAbsolute, resolve as resolvePath } from 'node:path';
import { HoconError, type HoconPosition } from './errors.js';
import { describeToken, pathFromParts, tokenize, type PathPart, type Token } from './lexer.js';
import {
  makeArr, makeObj, mergeObjects, setField,
  type Node, type ObjNode, type PrimNode, type ArrNode,
} from './nodes.js';

/** Reads an included file; must throw an error whose `code` is `'ENOENT'` when the file does not exist. */
export type ReadFile = (path: string) => string;

export interface ParseContext {
  /** Name used in error messages. */
  readonly file: string;
  /** Directory that relative includes are resolved against. */
  readonly baseDir: string;
  /** Absolute paths of the files currently being parsed (include cycle detection). */
  readonly includeStack: readonly string[];
  /** Where this text is spliced into the overall config (non-empty for included files). */
  readonly prefix: readonly string[];
  readonly readFile: ReadFile;
}

/** Parses one HOCON text into an unresolved object tree, following includes. */
export function parseDocument(text: string, ctx: ParseContext): ObjNode {
  return new Parser(tokenize(text, ctx.file), ctx).parseRoot();
}

const COLON_HINT =
  "':' is not allowed in unquoted strings, so quote the whole value (e.g. bind = \"0.0.0.0:1883\")";

class Parser {
  private i = 0;

  constructor(private readonly toks: Token[], private readonly ctx: ParseContext) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }

  private next(): Token {
    const t = this.toks[this.i]!;
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private skipWs(): void {
    while (this.peek().kind === 'ws') this.i++;
  }

  private skipWsAndNewlines(): void {
    while (this.peek().kind === 'ws' || this.peek().kind === 'newline') this.i++;
  }

  private isPunct(t: Token, p: string): boolean {
    return t.kind === 'punct' && t.text === p;
  }

  private fail(pos: HoconPosition, reason: string): never {
    throw new HoconError(pos, reason);
  }

  parseRoot(): ObjNode {
    this.skipWsAndNewlines();
    const t = this.peek();
    if (this.isPunct(t, '[')) this.fail(t.pos, 'the root of a config file must be an object, not an array');
    if (this.isPunct(t, '{')) {
      this.next();
      const obj = this.parseObjectBody(t, []);
      this.skipWsAndNewlines();
      const after = this.peek();
      if (after.kind !== 'eof') {
        this.fail(after.pos, `unexpected ${describeToken(after)} after the closing '}' of the root object`);
      }
      return obj;
    }
    return this.parseObjectBody(null, []);
  }

  /** Parses fields up to the matching '}' (or end of input for a root without braces). */
  private parseObjectBody(open: Token | null, path: readonly string[]): ObjNode {
    const fields = new Map<string, Node>();
    const pos = open?.pos ?? this.peek().pos;
    let needSep = false;
    for (;;) {
      this.skipWs();
      const t = this.peek();
      if (t.kind === 'newline') {
        this.next();
        needSep = false;
        continue;
      }
      if (this.isPunct(t, ',')) {
        if (!needSep) this.fail(t.pos, "unexpected ',' (expected a field)");
        this.next();
        needSep = false;
        this.rejectDoubleComma();
        continue;
      }
      if (t.kind === 'eof') {
        if (open) this.fail(open.pos, "unbalanced braces: '{' is never closed (missing '}')");
        return makeObj(fields, pos);
      }
      if (this.isPunct(t, '}')) {
        if (!open) this.fail(t.pos, "unbalanced braces: unexpected '}' without a matching '{'");
        this.next();
        return makeObj(fields, pos);
      }
      if (needSep) this.failAfterValue(t, 'between fields');
      if (t.kind === 'unquoted' && t.text === 'include' && this.looksLikeInclude()) {
        this.parseInclude(fields, path);
      } else {
        this.parseField(fields, path);
      }
      needSep = true;
    }
  }

  private rejectDoubleComma(): void {
    const save = this.i;
    this.skipWsAndNewlines();
    const t = this.peek();
    if (this.isPunct(t, ',')) this.fail(t.pos, "unexpected ',' (two commas in a row)");
    this.i = save;
  }

  private failAfterValue(t: Token, where: string): never {
    if (this.isPunct(t, ':') || this.isPunct(t, '=')) {
      this.fail(t.pos, `unexpected '${t.kind === 'punct' ? t.text : ''}' after a value; ${COLON_HINT}`);
    }
    this.fail(t.pos, `expected ',' or a new line ${where}, found ${describeToken(t)}`);
  }

  private parseField(fields: Map<string, Node>, objPath: readonly string[]): void {
    const keyTok = this.peek();
    const key = this.parseKey();
    this.skipWs();
    const sep = this.peek();
    const fieldPath = [...objPath, ...key];
    let value: Node;
    if (this.isPunct(sep, '=') || this.isPunct(sep, ':')) {
      this.next();
      this.skipWsAndNewlines();
      value = this.parseValue(fieldPath);
    } else if (this.isPunct(sep, '+=')) {
      this.next();
      this.skipWsAndNewlines();
      const item = this.parseValue(fieldPath);
      const self: Node = { kind: 'subst', path: fieldPath, optional: true, prefix: this.ctx.prefix, pos: sep.pos };
      value = { kind: 'concat', parts: [self, makeArr([item], item.pos)], pos: sep.pos };
    } else if (this.isPunct(sep, '{')) {
      value = this.parseValue(fieldPath);
    } else {
      this.fail(sep.pos, `expected '=', ':', '+=' or '{' after key '${key.join('.')}', found ${describeToken(sep)}`);
    }
    for (let k = key.length - 1; k >= 1; k--) {
      value = makeObj(new Map([[key[k]!, value]]), keyTok.pos);
    }
    setField(fields, key[0]!, value);
  }

  private parseKey(): string[] {
    const start = this.peek();
    const parts: PathPart[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'unquoted' || t.kind === 'number') parts.push({ quoted: false, text: t.text, ws: false });
      else if (t.kind === 'quoted') parts.push({ quoted: true, text: t.text, ws: false });
      else if (t.kind === 'ws') parts.push({ quoted: false, text: t.text, ws: true });
      else if (t.kind === 'subst') this.fail(t.pos, 'substitutions are not allowed in keys');
      else break;
      this.next();
    }
    if (parts.every((p) => p.ws)) this.fail(start.pos, `expected a key, found ${describeToken(this.peek())}`);
    return pathFromParts(parts, start.pos, 'key');
  }

  /** A value concatenation: one or more simple values, objects, arrays or substitutions on one line. */
  private parseValue(fieldPath: readonly string[]): Node {
    const parts: Node[] = [];
    let pendingWs: Token | null = null;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'ws') {
        this.next();
        if (parts.length > 0) pendingWs = t;
        continue;
      }
      const startsValue =
        t.kind === 'quoted' || t.kind === 'unquoted' || t.kind === 'number' || t.kind === 'subst' ||
        this.isPunct(t, '{') || this.isPunct(t, '[');
      if (!startsValue) break;
      if (pendingWs && pendingWs.kind === 'ws') {
        parts.push({ kind: 'prim', value: pendingWs.text, text: pendingWs.text, ws: true, pos: pendingWs.pos });
      }
      pendingWs = null;
      parts.push(this.parseSingle(fieldPath));
    }
    if (parts.length === 0) {
      const t = this.peek();
      this.fail(t.pos, `expected a value, found ${describeToken(t)}`);
    }
    return concatenate(parts);
  }

  private parseSingle(fieldPath: readonly string[]): Node {
    const t = this.next();
    switch (t.kind) {
      case 'quoted':
        return prim(t.text, t.text, t.pos);
      case 'number':
        return prim(t.value, t.text, t.pos);
      case 'unquoted':
        if (t.text === 'true') return prim(true, t.text, t.pos);
        if (t.text === 'false') return prim(false, t.text, t.pos);
        if (t.text === 'null') return prim(null, t.text, t.pos);
        return prim(t.text, t.text, t.pos);
      case 'subst':
        return { kind: 'subst', path: t.path, optional: t.optional, prefix: this.ctx.prefix, pos: t.pos };
      case 'punct':
        if (t.text === '{') return this.parseObjectBody(t, fieldPath);
        if (t.text === '[') return this.parseArray(t, fieldPath);
    }
    return this.fail(t.pos, `expected a value, found ${describeToken(t)}`);
  }

  private parseArray(open: Token, fieldPath: readonly string[]): ArrNode {
    const items: Node[] = [];
    let needSep = false;
    for (;;) {
      this.skipWs();
      const t = this.peek();
      if (t.kind === 'newline') {
        this.next();
        needSep = false;
        continue;
      }
      if (this.isPunct(t, ',')) {
        if (!needSep) this.fail(t.pos, "unexpected ',' in array (expected a value)");
        this.next();
        needSep = false;
        this.rejectDoubleComma();
        continue;
      }
      if (this.isPunct(t, ']')) {
        this.next();
        return makeArr(items, open.pos);
      }
      if (t.kind === 'eof') this.fail(open.pos, "unbalanced brackets: '[' is never closed (missing ']')");
      if (this.isPunct(t, '}')) this.fail(t.pos, "unbalanced brackets: found '}' while an array is open (missing ']')");
      if (needSep) this.failAfterValue(t, 'between array elements');
      items.push(this.parseValue(fieldPath));
      needSep = true;
    }
  }

  // ---- includes ----

  private looksLikeInclude(): boolean {
    let j = this.i + 1;
    while (this.toks[j]!.kind === 'ws') j++;
    const t = this.toks[j]!;
    if (t.kind === 'quoted') return true;
    return t.kind === 'unquoted' && /^(required|file|url|classpath)\(/.test(t.text);
  }

  private parseInclude(fields: Map<string, Node>, objPath: readonly string[]): void {
    const kw = this.next();
    // Collect the include specification up to the end of the statement.
    let shape = '';
    let name: string | null = null;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'ws') {
        this.next();
      } else if (t.kind === 'unquoted') {
        shape += t.text;
        this.next();
      } else if (t.kind === 'quoted') {
        if (name !== null) this.fail(t.pos, 'an include takes exactly one quoted file name');
        name = t.text;
        shape += '\u0000';
        this.next();
      } else {
        break;
      }
    }
    let required = false;
    let inner = shape;
    const m = /^required\((.*)\)$/.exec(inner);
    if (m) {
      required = true;
      inner = m[1]!;
    }
    if (/^(url|classpath)\(/.test(inner)) {
      this.fail(kw.pos, `include ${inner.slice(0, inner.indexOf('('))}(...) is not supported; use file("...") or a quoted path`);
    }
    const f = /^file\((.*)\)$/.exec(inner);
    if (f) inner = f[1]!;
    if (inner !== '\u0000' || name === null) {
      this.fail(kw.pos, 'bad include: expected include "file", include file("file") or include required(file("file"))');
    }
    if (name === '') this.fail(kw.pos, 'bad include: empty file name');
    const included = this.loadInclude(name, required, kw.pos, objPath);
    if (included) for (const [k, v] of included.fields) setField(fields, k, v);
  }

  private loadInclude(name: string, required: boolean, pos: HoconPosition, objPath: readonly string[]): ObjNode | null {
    const target = isAbsolute(name) ? name : resolvePath(this.ctx.baseDir, name);
    const candidates = extname(target) === '' ? [`${target}.conf`, `${target}.json`] : [target];
    for (const file of candidates) {
      if (this.ctx.includeStack.includes(file)) {
        const chain = [...this.ctx.includeStack, file].join(' -> ');
        this.fail(pos, `include cycle: ${chain}`);
      }
      let text: string;
      try {
        text = this.ctx.readFile(file);
      } catch (err) {
        if (isMissing(err)) continue;
        const why = err instanceof Error ? err.message : String(err);
        return this.fail(pos, `cannot read included file '${file}': ${why}`);
      }
      return parseDocument(text, {
        file,
        baseDir: dirname(file),
        includeStack: [...this.ctx.includeStack, file],
        prefix: [...this.ctx.prefix, ...objPath],
        readFile: this.ctx.readFile,
      });
    }
    if (required) this.fail(pos, `required include '${name}' not found (looked for ${candidates.join(', ')})`);
    return null;
  }
}

function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err &&
    ((err as { code?: unknown }).code === 'ENOENT' || (err as { code?: unknown }).code === 'ENOTDIR');
}

function prim(value: string | number | boolean | null, text: string, pos: HoconPosition): PrimNode {
  return { kind: 'prim', value, text, ws: false, pos };
}

/** Concatenates adjacent values that need no substitution; otherwise defers to the resolver. */
function concatenate(parts: Node[]): Node {
  if (parts.length === 1) return parts[0]!;
  if (parts.some((p) => p.kind === 'subst' || p.kind === 'concat' || p.kind === 'merge')) {
    return { kind: 'concat', parts, pos: parts[0]!.pos };
  }
  const solid = parts.filter((p) => !(p.kind === 'prim' && p.ws));
  const first = solid[0]!;
  if (first.kind === 'obj' || first.kind === 'arr') {
    const odd = solid.find((p) => p.kind !== first.kind);
    if (odd) throw new HoconError(odd.pos, `cannot concatenate ${kindName(first)} with ${kindName(odd)}`);
    if (first.kind === 'obj') {
      return (solid as ObjNode[]).reduce((a, b) => mergeObjects(a, b));
    }
    return makeArr((solid as ArrNode[]).flatMap((a) => a.items), first.pos);
  }
  const odd = solid.find((p) => p.kind === 'obj' || p.kind === 'arr');
  if (odd) throw new HoconError(odd.pos, `cannot concatenate a string with ${kindName(odd)}`);
  const text = (parts as PrimNode[]).map((p) => p.text).join('');
  return prim(text, text, first.pos);
}

function kindName(n: Node): string {
  if (n.kind === 'obj') return 'an object';
  if (n.kind === 'arr') return 'an array';
  return 'a string';
}
