/**
 * The `clientid_re` / `username_re` entries of the banned list, indexed so that a CONNECT
 * does not run every expression (2 000 unanchored expressions tested one by one cost about
 * 0.2 ms per client here; one alternation of them all is slower still).
 *
 * Each expression is read once for a literal every match must contain (`bad-` in
 * `^bad-[0-9]+$`, `evil` in `x*evil.+`): one three-character window of it, the one fewest
 * expressions use so far, keys the expression in a map. A subject is checked by looking up each of its three-character windows and running only
 * the expressions found there. Expressions without three required literal characters in a row
 * (`^a`, `[0-9]{8}`, `a|b`) are run on every subject; keep those few.
 *
 * Matching is EMQX's `re:run(Subject, RE) =/= nomatch`: an unanchored search (`RegExp.test`,
 * no flags).
 */

/** Something carrying a compiled expression: what the index stores and answers with. */
export interface IndexedPattern {
  readonly pattern: RegExp;
}

/** A lookup key of three characters: a small integer when each is below U+0400, else the text. */
type GramKey = number | string;

const GRAM = 3;

function gramAt(text: string, i: number): GramKey {
  const a = text.charCodeAt(i);
  const b = text.charCodeAt(i + 1);
  const c = text.charCodeAt(i + 2);
  if ((a | b | c) < 1024) return a * 1048576 + b * 1024 + c;
  return text.slice(i, i + GRAM);
}

/** `{n}`, `{n,}` or `{n,m}` at `i`: its minimum count and length, or undefined (a literal brace). */
function braceQuantifier(source: string, i: number): { min: number; length: number } | undefined {
  const m = /^\{(\d+)(,\d*)?\}/.exec(source.slice(i));
  return m ? { min: Number(m[1]), length: m[0].length } : undefined;
}

/** Index past the `]` closing the class that opens at `i`. */
function skipClass(source: string, i: number): number {
  let j = i + 1;
  while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Index past the `)` closing the group that opens at `i`. */
function skipGroup(source: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < source.length) {
    const c = source[j];
    if (c === '\\') j += 2;
    else if (c === '[') j = skipClass(source, j);
    else {
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return j + 1;
      j++;
    }
  }
  return j;
}

/** Escapes that stand for one literal character: `\.`, `\-`, `\/` and other punctuation. */
function escapedLiteral(c: string | undefined): string | undefined {
  return c !== undefined && /[^A-Za-z0-9]/.test(c) ? c : undefined;
}

/**
 * Index past a letter or digit escape at `i`, with what belongs to it: `\x41`, `\u0041`,
 * `\u{41}`, `\cA`, `\k<name>`, `\p{L}`, `\12`.
 */
function skipEscape(source: string, i: number): number {
  const kind = source[i + 1];
  const rest = source.slice(i + 2);
  const tail =
    kind === 'x' ? /^[0-9A-Fa-f]{0,2}/ :
    kind === 'u' ? /^(\{[^}]*\}|[0-9A-Fa-f]{0,4})/ :
    kind === 'c' ? /^[A-Za-z]?/ :
    kind === 'k' ? /^(<[^>]*>)?/ :
    kind === 'p' || kind === 'P' ? /^(\{[^}]*\})?/ :
    kind !== undefined && kind >= '0' && kind <= '9' ? /^\d*/ :
    undefined;
  return i + 2 + (tail ? tail.exec(rest)![0].length : 0);
}

/**
 * The longest run of literal characters every match of `source` contains, or "" when there is
 * none to rely on (a top-level alternation, only classes and groups). Conservative: an atom in
 * doubt ends the run.
 */
export function requiredLiteral(source: string): string {
  const runs: string[] = [];
  let run = '';
  let lastLiteral = false;
  const end = () => {
    if (run) runs.push(run);
    run = '';
    lastLiteral = false;
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '|') return '';
    if (c === '*' || c === '?' || c === '+' || (c === '{' && braceQuantifier(source, i))) {
      // A quantifier: the atom before it may be absent (min 0) and may repeat, so the run ends.
      const brace = c === '{' ? braceQuantifier(source, i)! : undefined;
      const optional = c === '*' || c === '?' || brace?.min === 0;
      if (lastLiteral && optional) run = run.slice(0, -1);
      end();
      i += brace ? brace.length : 1;
      if (source[i] === '?') i++; // lazy
      continue;
    }
    if (c === '\\') {
      const literal = escapedLiteral(source[i + 1]);
      if (literal === undefined) {
        end();
        i = skipEscape(source, i);
      } else {
        run += literal;
        lastLiteral = true;
        i += 2;
      }
      continue;
    }
    if (c === '[') {
      end();
      i = skipClass(source, i);
      continue;
    }
    if (c === '(') {
      end();
      i = skipGroup(source, i);
      continue;
    }
    if (c === '.' || c === '^' || c === '$' || c === ')' || c === ']') {
      end();
      i++;
      continue;
    }
    run += c;
    lastLiteral = true;
    i++;
  }
  end();
  let best = '';
  for (const r of runs) if (r.length > best.length) best = r;
  return best;
}

export class PatternIndex<T extends IndexedPattern> {
  readonly #byGram = new Map<GramKey, T[]>();
  /** Expressions without a usable literal: run on every subject. */
  readonly #unindexed: T[] = [];
  readonly #gramOf = new Map<T, GramKey | undefined>();

  get size(): number {
    return this.#gramOf.size;
  }

  add(item: T): void {
    if (this.#gramOf.has(item)) return;
    const literal = requiredLiteral(item.pattern.source);
    if (literal.length < GRAM) {
      this.#gramOf.set(item, undefined);
      this.#unindexed.push(item);
      return;
    }
    // The literal's least used window: expressions sharing a prefix ("^evil-1", "^evil-2", …)
    // spread over the windows that tell them apart.
    let key = gramAt(literal, 0);
    let load = this.#byGram.get(key)?.length ?? 0;
    for (let i = 1; load > 0 && i + GRAM <= literal.length; i++) {
      const candidate = gramAt(literal, i);
      const candidateLoad = this.#byGram.get(candidate)?.length ?? 0;
      if (candidateLoad < load) {
        key = candidate;
        load = candidateLoad;
      }
    }
    this.#gramOf.set(item, key);
    const bucket = this.#byGram.get(key);
    if (bucket) bucket.push(item);
    else this.#byGram.set(key, [item]);
  }

  delete(item: T): void {
    if (!this.#gramOf.has(item)) return;
    const key = this.#gramOf.get(item);
    this.#gramOf.delete(item);
    const list = key === undefined ? this.#unindexed : this.#byGram.get(key);
    if (!list) return;
    const at = list.indexOf(item);
    if (at >= 0) list.splice(at, 1);
    if (key !== undefined && list.length === 0) this.#byGram.delete(key);
  }

  clear(): void {
    this.#byGram.clear();
    this.#unindexed.length = 0;
    this.#gramOf.clear();
  }

  /** The first item whose expression matches `subject` and that `accept` takes (e.g. not expired). */
  find(subject: string, accept: (item: T) => boolean): T | undefined {
    for (const item of this.#unindexed) if (item.pattern.test(subject) && accept(item)) return item;
    if (this.#byGram.size === 0) return undefined;
    for (let i = 0; i + GRAM <= subject.length; i++) {
      const bucket = this.#byGram.get(gramAt(subject, i));
      if (bucket === undefined) continue;
      for (const item of bucket) if (item.pattern.test(subject) && accept(item)) return item;
    }
    return undefined;
  }
}
