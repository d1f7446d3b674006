import { placeholderValue, Template, type PlaceholderClient } from '../authn/placeholders.js';

/**
 * The topic part of an authorization rule (§8.5), compiled once and matched against the
 * topic of a publish or the filter of a subscribe, as the client sent it.
 *
 * - A plain filter matches word by word: `+` one word, a trailing `#` zero or more words.
 *   A subscribe request is itself a filter, and its words are compared as words: a rule `+`
 *   takes a requested `+` or `#`, a rule `#` takes anything left, a requested `+`/`#` never
 *   matches a rule's literal word (so `a/#` allows subscribing `a/+/b`, and `a/b` does not
 *   allow `a/+`).
 * - A topic whose first word starts with `$` is not matched by a rule whose first word is
 *   `+` or `#` ([MQTT-4.7.2-1]: `#` never covers `$SYS/...`; `$SYS/#` does).
 * - `eq t` (`{eq, "t"}` in acl.conf) is exact equality with the request, wildcards included.
 * - `all` (acl.conf only) matches every topic, `$`-topics too.
 * - Placeholders (`${username}`, `${clientid}`, `${peerhost}`, `${cert_common_name}`,
 *   `${cert_subject}`, `${zone}`, `${client_attrs.NAME}`) are compared in place, never
 *   rendered into a new filter: a value is only ever equal text. A placeholder whose value
 *   is absent or empty makes the rule not match (gatehouse-choices 3); so does a value that
 *   holds `+`, `#`, `/` or NUL (gatehouse-choices 4), and a value starting with `$` at the
 *   start of the filter (it would reach `$SYS/...` and the like through a client's own name).
 *
 * Matching scans the request in place: no split, no string built, no allocation.
 */

const PLUS = 0;
const HASH = 1;
const TEXT = 2;
const TEMPLATE = 3;
type WordKind = typeof PLUS | typeof HASH | typeof TEXT | typeof TEMPLATE;

/** A piece of a templated word: literal text, or a placeholder (with its client attribute name). */
interface Part {
  readonly text: string;
  /** The placeholder's name, or undefined for literal text. */
  readonly name: string | undefined;
  /** For `${client_attrs.NAME}`: NAME, looked up without building a string. */
  readonly attr: string | undefined;
}

interface Word {
  readonly kind: WordKind;
  /** TEXT: the word. */
  readonly text: string;
  /** TEMPLATE: its pieces, in order. */
  readonly parts: readonly Part[];
}

/** A rule topic that cannot be compiled: the message says why. */
export class TopicRuleError extends Error {
  override readonly name = 'TopicRuleError';
}

type Mode = 'filter' | 'eq' | 'all';

const SLASH = 47;
const DOLLAR = 36;

export class TopicRule {
  private constructor(
    /** The topic as written in the rule (`eq t/#`, `${username}/#`, `all`). */
    readonly source: string,
    private readonly mode: Mode,
    private readonly words: readonly Word[],
    /** `eq`: the exact topic. */
    private readonly exact: string,
    /** Placeholders that are not allowed in rule topics and were kept as literal text (§5.1). */
    readonly rejectedPlaceholders: readonly string[],
  ) {}

  /** Every topic, `$`-topics included (acl.conf's `all`). */
  static all(): TopicRule {
    return new TopicRule('all', 'all', [], '', []);
  }

  /** `{eq, "t"}`: exact equality, no wildcards, no placeholders. */
  static eq(topic: string): TopicRule {
    if (topic.length === 0) throw new TopicRuleError('an eq topic must not be empty');
    if (topic.includes('\0')) throw new TopicRuleError('a topic must not contain NUL');
    return new TopicRule(`eq ${topic}`, 'eq', [], topic, []);
  }

  /** A rule topic as raw rules write it: a filter with placeholders, or `eq <topic>`. */
  static compile(text: string): TopicRule {
    if (text.startsWith('eq ')) return TopicRule.eq(text.slice(3));
    if (text.length === 0) throw new TopicRuleError('a topic must not be empty');
    if (text.includes('\0')) throw new TopicRuleError('a topic must not contain NUL');
    const template = Template.compile(text, 'acl_topic');
    const words = splitWords(template, text);
    return new TopicRule(text, 'filter', words, '', template.rejected);
  }

  /**
   * The first level every topic this rule covers must have, when the rule fixes it (a literal
   * first word, or an `eq` topic's); undefined when it can be anything (`+`, `#`, a
   * placeholder, `all`). `RuleList` indexes long rule lists by it.
   */
  get firstWord(): string | undefined {
    if (this.mode === 'eq') {
      const slash = this.exact.indexOf('/');
      return slash < 0 ? this.exact : this.exact.slice(0, slash);
    }
    const first = this.words[0];
    return this.mode === 'filter' && first !== undefined && first.kind === TEXT ? first.text : undefined;
  }

  /** True when the rule uses no placeholder (the same for every client). */
  get isLiteral(): boolean {
    return this.words.every((w) => w.kind !== TEMPLATE);
  }

  /** Does this rule cover `topic` (a publish topic or a subscribe filter) for `client`? */
  matches(topic: string, client: PlaceholderClient): boolean {
    if (this.mode === 'eq') return topic === this.exact;
    if (this.mode === 'all') return true;
    const words = this.words;
    const dollar = topic.charCodeAt(0) === DOLLAR;
    const length = topic.length;
    // Start of the request's current word, or -1 once its words are used up.
    let pos = 0;
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      const kind = word.kind;
      if (kind === HASH) return !(i === 0 && dollar);
      if (pos < 0) return false;
      let end: number;
      if (kind === PLUS) {
        if (i === 0 && dollar) return false;
        end = topic.indexOf('/', pos);
        if (end < 0) end = length;
      } else {
        end = kind === TEXT ? (topic.startsWith(word.text, pos) ? pos + word.text.length : -1) : matchParts(word.parts, topic, pos, client);
        if (end < 0 || (end !== length && topic.charCodeAt(end) !== SLASH)) return false;
      }
      pos = end === length ? -1 : end + 1;
    }
    return pos < 0;
  }
}

/** Where the templated word ends in `topic` when it matches at `pos`, else -1. */
function matchParts(parts: readonly Part[], topic: string, pos: number, client: PlaceholderClient): number {
  let p = pos;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    let value: string | undefined;
    if (part.name === undefined) value = part.text;
    else {
      value = part.attr !== undefined ? client.client_attrs[part.attr] : placeholderValue(part.name, client);
      if (value === undefined || !safeValue(value, p === 0)) return -1;
    }
    if (!topic.startsWith(value, p)) return -1;
    p += value.length;
  }
  return p;
}

/**
 * gatehouse-choices 3 and 4: a value fills a rule only as plain, present text. Empty,
 * wildcard characters, a level separator or NUL: the rule does not match this client. A
 * value at the very start of the filter may not begin with `$` either.
 */
function safeValue(value: string, atStart: boolean): boolean {
  const n = value.length;
  if (n === 0) return false;
  if (atStart && value.charCodeAt(0) === DOLLAR) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 43 || c === 35 || c === SLASH || c === 0) return false;
  }
  return true;
}

/** The template's pieces as words: literal text split at `/`, placeholders kept inside their word. */
function splitWords(template: Template, text: string): Word[] {
  const words: Word[] = [];
  let current: Part[] = [];
  const finish = () => {
    words.push(wordOf(current, text, words.length));
    current = [];
  };
  for (const part of template.parts) {
    if ('name' in part) {
      const attr = part.name.startsWith('client_attrs.') ? part.name.slice('client_attrs.'.length) : undefined;
      current.push({ text: '', name: part.name, attr });
      continue;
    }
    const pieces = part.text.split('/');
    pieces.forEach((piece, i) => {
      if (i > 0) finish();
      if (piece.length > 0) current.push({ text: piece, name: undefined, attr: undefined });
    });
  }
  finish();
  const hash = words.findIndex((w) => w.kind === HASH);
  if (hash >= 0 && hash !== words.length - 1) throw new TopicRuleError(`${JSON.stringify(text)}: '#' must be the last level of a filter`);
  return words;
}

function wordOf(parts: Part[], text: string, index: number): Word {
  const templated = parts.some((p) => p.name !== undefined);
  const literal = parts.map((p) => p.text).join('');
  if (/[+#]/.test(literal)) {
    if (templated || (literal !== '+' && literal !== '#')) {
      throw new TopicRuleError(`${JSON.stringify(text)}: level ${index + 1} mixes a wildcard with other characters ('+' and '#' must be a whole level)`);
    }
    return { kind: literal === '+' ? PLUS : HASH, text: literal, parts: [] };
  }
  if (!templated) return { kind: TEXT, text: literal, parts: [] };
  return { kind: TEMPLATE, text: '', parts };
}

/**
 * A hash of `topic`'s first level (up to the first `/`), for `RuleList`'s index; computed in
 * place (no substring) and kept a small integer, so a Map lookup by it allocates nothing.
 */
export function firstWordHash(topic: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH) break;
    h = Math.imul(h ^ c, 16777619);
  }
  return h & 0x3fffffff;
}
