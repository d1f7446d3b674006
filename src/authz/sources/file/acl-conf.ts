import { ALL_QOS, EVERYONE, Rule, type ActionCondition, type Permission, type Who } from '../../rule.js';
import { TopicRule, TopicRuleError } from '../../topic.js';
import { allOf, anyOf, clientAttrIs, clientAttrMatches, fieldIs, fieldMatches, peerIn, regex, WhoError } from '../../who.js';
import { AclFileError, parseTerms, type Term } from './terms.js';

export { AclFileError };

/**
 * EMQX's acl.conf (§8.6) compiled into rules, top to bottom:
 *
 *   rule    := {Perm, Who, Action, Topics} | {Perm, all}
 *   Perm    := allow | deny
 *   Who     := all | {user|username, S | {re, R}} | {client|clientid, S | {re, R}}
 *            | {client_attr, Name, S | {re, R}} | {ipaddr, "IP or CIDR"} | {ipaddrs, [...]}
 *            | {'and', [Who...]} | {'or', [Who...]}
 *   Action  := publish | subscribe | all | {publish|all, [{qos, Q} | {retain, true|false|all}]}
 *            | {subscribe, [{qos, Q}]}                 Q := 0..2 | [0..2, ...]
 *   Topics  := all | [S | {eq, S}, ...]                S may be "eq t" or hold placeholders
 *
 * `{Perm, all}` is `{Perm, all, all, all}`: every client, action and topic ($-topics too).
 * Any mistake fails the whole file, with the line and column of the term at fault.
 */

export interface AclFile {
  rules: Rule[];
  /** Placeholders kept as literal text (not allowed in rule topics, §5.1), with where they are. */
  warnings: string[];
}

/** Compiles acl.conf text; `name` (the file's name) prefixes each rule's description. Throws AclFileError. */
export function compileAclFile(text: string, name = 'acl.conf'): AclFile {
  const terms = parseTerms(text);
  const warnings: string[] = [];
  const rules = terms.map((term) => compileRule(term, text, name, warnings));
  return { rules, warnings };
}

function fail(term: Term, reason: string): never {
  throw new AclFileError(reason, term.at);
}

function describe(term: Term): string {
  switch (term.kind) {
    case 'atom':
      return `the atom ${term.value}`;
    case 'string':
      return `the string ${JSON.stringify(term.value)}`;
    case 'integer':
      return `the number ${term.value}`;
    case 'tuple':
      return `a tuple of ${term.items.length}`;
    case 'list':
      return 'a list';
  }
}

function isAtom(term: Term | undefined, ...names: string[]): boolean {
  return term?.kind === 'atom' && names.includes(term.value);
}

function compileRule(term: Term, text: string, file: string, warnings: string[]): Rule {
  if (term.kind !== 'tuple' || (term.items.length !== 2 && term.items.length !== 4)) {
    fail(term, `a rule is {Permission, Who, Action, Topics} or {Permission, all}; got ${describe(term)}`);
  }
  const [permTerm, second, actionTerm, topicsTerm] = term.items as [Term, Term, Term?, Term?];
  if (!isAtom(permTerm, 'allow', 'deny')) fail(permTerm, `expected the permission allow or deny, got ${describe(permTerm)}`);
  const permission = (permTerm as { value: Permission }).value;
  const written = `${file}:${term.at.line} ${text.slice(term.start, term.end).replace(/\s+/g, ' ')}`;
  if (term.items.length === 2) {
    if (!isAtom(second, 'all')) fail(second, `{${permission}, ...} with two elements takes only all ({${permission}, all}), got ${describe(second)}`);
    return new Rule(permission, EVERYONE, { publish: true, subscribe: true, qos: ALL_QOS, retain: 'all' }, [TopicRule.all()], written);
  }
  const who = compileWho(second);
  const action = compileAction(actionTerm!);
  const topics = compileTopics(topicsTerm!, warnings, file);
  return new Rule(permission, who, action, topics, written);
}

function stringOf(term: Term | undefined, what: string, parent: Term): string {
  if (term?.kind !== 'string') fail(term ?? parent, `expected ${what} as a "string", got ${term ? describe(term) : 'nothing'}`);
  return term.value;
}

/** `S` or `{re, R}`: the value of a username/clientid/client_attr condition. */
function exactOrRegex(term: Term | undefined, parent: Term): { exact: string } | { re: RegExp } {
  if (term?.kind === 'tuple' && isAtom(term.items[0], 're')) {
    if (term.items.length !== 2) fail(term, 'expected {re, "regex"}');
    const source = stringOf(term.items[1], 'the regular expression', term);
    try {
      return { re: regex(source) };
    } catch (err) {
      if (err instanceof WhoError) fail(term.items[1]!, err.message);
      throw err;
    }
  }
  return { exact: stringOf(term, 'a value or {re, "regex"}', parent) };
}

function compileWho(term: Term): Who {
  if (isAtom(term, 'all')) return EVERYONE;
  if (term.kind !== 'tuple' || term.items.length < 2 || term.items[0]!.kind !== 'atom') {
    fail(term, `expected who: all, {username, ...}, {clientid, ...}, {client_attr, ...}, {ipaddr, ...}, {ipaddrs, ...}, {'and', [...]} or {'or', [...]}; got ${describe(term)}`);
  }
  const [head, a, b] = term.items as [Term & { value: string }, Term, Term?];
  const expectSize = (n: number) => {
    if (term.items.length !== n) fail(term, `{${head.value}, ...} takes ${n - 1} element${n === 2 ? '' : 's'} after ${head.value}`);
  };
  switch (head.value) {
    case 'user':
    case 'username':
    case 'client':
    case 'clientid': {
      expectSize(2);
      const field = head.value.startsWith('user') ? 'username' : 'clientid';
      const v = exactOrRegex(a, term);
      return 'exact' in v ? fieldIs(field, v.exact) : fieldMatches(field, v.re);
    }
    case 'client_attr': {
      expectSize(3);
      const name = stringOf(a, 'the attribute name', term);
      const v = exactOrRegex(b, term);
      return 'exact' in v ? clientAttrIs(name, v.exact) : clientAttrMatches(name, v.re);
    }
    case 'ipaddr':
    case 'ipaddrs': {
      expectSize(2);
      const entries = head.value === 'ipaddr' ? [a] : a.kind === 'list' ? a.items : fail(a, `{ipaddrs, [...]} takes a list of addresses, got ${describe(a)}`);
      const addresses = entries.map((e) => stringOf(e, 'an IP address or CIDR', term));
      try {
        return peerIn(addresses, `{${head.value}, ${head.value === 'ipaddr' ? JSON.stringify(addresses[0]) : JSON.stringify(addresses)}}`);
      } catch (err) {
        if (err instanceof WhoError) fail(a, err.message);
        throw err;
      }
    }
    case 'and':
    case 'or': {
      expectSize(2);
      if (a.kind !== 'list' || a.items.length === 0) fail(a, `{'${head.value}', [...]} takes a non-empty list of conditions, got ${describe(a)}`);
      const conditions = a.items.map(compileWho);
      return head.value === 'and' ? allOf(conditions) : anyOf(conditions);
    }
    default:
      return fail(head, `unknown who condition ${head.value}: expected username, user, clientid, client, client_attr, ipaddr, ipaddrs, 'and' or 'or'`);
  }
}

function compileAction(term: Term): ActionCondition {
  const base = (name: string): ActionCondition | undefined =>
    name === 'publish'
      ? { publish: true, subscribe: false, qos: ALL_QOS, retain: 'all' }
      : name === 'subscribe'
        ? { publish: false, subscribe: true, qos: ALL_QOS, retain: 'all' }
        : name === 'all'
          ? { publish: true, subscribe: true, qos: ALL_QOS, retain: 'all' }
          : undefined;
  if (term.kind === 'atom') {
    const action = base(term.value);
    if (action) return action;
  }
  if (term.kind !== 'tuple' || term.items.length !== 2 || term.items[0]!.kind !== 'atom' || !base(term.items[0]!.value)) {
    fail(term, `expected the action publish, subscribe, all or {Action, [Options]}, got ${describe(term)}`);
  }
  const name = (term.items[0] as { value: string }).value;
  const opts = term.items[1]!;
  if (opts.kind !== 'list') fail(opts, `{${name}, [...]} takes a list of options such as [{qos, 1}, {retain, true}], got ${describe(opts)}`);
  let qos = 0;
  let retain: boolean | 'all' = 'all';
  for (const opt of opts.items) {
    if (opt.kind !== 'tuple' || opt.items.length !== 2 || !isAtom(opt.items[0], 'qos', 'retain')) {
      fail(opt, `expected {qos, 0..2}, {qos, [0..2]} or {retain, true | false | all}, got ${describe(opt)}`);
    }
    const [key, value] = opt.items as [Term & { value: string }, Term];
    if (key.value === 'qos') {
      const levels = value.kind === 'list' ? value.items : [value];
      if (levels.length === 0) fail(value, 'expected at least one QoS level');
      for (const level of levels) {
        if (level.kind !== 'integer' || level.value < 0 || level.value > 2) fail(level, `expected a QoS level 0, 1 or 2, got ${describe(level)}`);
        qos |= 1 << level.value; // repeated qos options add up (§8.6)
      }
    } else {
      if (name === 'subscribe') fail(opt, 'retain applies to publish only: {subscribe, [...]} takes qos options');
      if (!isAtom(value, 'true', 'false', 'all')) fail(value, `expected retain true, false or all, got ${describe(value)}`);
      const v = (value as { value: string }).value;
      retain = v === 'all' ? 'all' : v === 'true';
    }
  }
  return { ...base(name)!, qos: qos === 0 ? ALL_QOS : qos, retain };
}

function compileTopics(term: Term, warnings: string[], file: string): TopicRule[] {
  if (isAtom(term, 'all')) return [TopicRule.all()];
  if (term.kind !== 'list') {
    fail(term, `topics must be all or a list such as ["t/#", {eq, "#"}], got ${describe(term)}${term.kind === 'string' ? ' (put it in [...])' : ''}`);
  }
  return term.items.map((t) => {
    try {
      if (t.kind === 'string') {
        const rule = TopicRule.compile(t.value);
        for (const name of rule.rejectedPlaceholders) {
          warnings.push(`${file}:${t.at.line}:${t.at.column}: \${${name}} is not a placeholder of rule topics; it is kept as literal text`);
        }
        return rule;
      }
      if (t.kind === 'tuple' && t.items.length === 2 && isAtom(t.items[0], 'eq')) {
        return TopicRule.eq(stringOf(t.items[1], 'the exact topic', t));
      }
    } catch (err) {
      if (err instanceof TopicRuleError) fail(t, err.message);
      throw err;
    }
    return fail(t, `expected a topic "filter" or {eq, "topic"}, got ${describe(t)}`);
  });
}
