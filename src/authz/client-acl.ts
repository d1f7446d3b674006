import type { ClientAcl } from '../authn/types.js';
import { coarseClock, type Clock } from '../metrics/clock.js';
import { compileStoredRules, firstMatch, readRawRule, RuleError, storedRuleText, type Rule, type SourceMatch } from './rule.js';
import { TopicRule, TopicRuleError } from './topic.js';
import type { AuthzClient, AuthzRequest } from './types.js';

/**
 * The client's own ACL from authentication (EMQX's `client_info` source, §8.4), asked after
 * the superuser check and before the cache and the configured sources:
 * - list form: raw rules in order, first match wins, none → nomatch (the sources decide);
 * - map form (JWT v1): `pub`, `sub` and `all` allow-lists (placeholders and `eq ` allowed),
 *   none matching → deny;
 * - with `expireAt` in the past: deny everything.
 * Compiled once per ACL object. An ACL that cannot be compiled denies everything (fail
 * closed): authenticators should refuse such a client at login (`compileClientAcl` throws).
 */

type Compiled =
  | { form: 'list'; rules: Rule[] }
  | { form: 'map'; pub: TopicMatch[]; sub: TopicMatch[]; all: TopicMatch[]; deny: SourceMatch }
  | { form: 'invalid'; deny: SourceMatch };

interface TopicMatch extends SourceMatch {
  readonly topic: TopicRule;
}

/** Compiles an ACL; throws RuleError naming the rule or entry at fault. */
export function compileClientAcl(acl: ClientAcl): Compiled {
  if (acl.map !== undefined) {
    const list = (key: 'pub' | 'sub' | 'all'): TopicMatch[] => {
      const value = acl.map![key];
      if (value === undefined || value === null) return [];
      if (!Array.isArray(value)) throw new RuleError(`acl.${key} must be an array of topics`, key);
      return value.map((t, i) => {
        if (typeof t !== 'string') throw new RuleError(`acl.${key}[${i}] must be a string`, key);
        try {
          return { permission: 'allow', rule: `${acl.source} acl ${key} ${t}`, topic: TopicRule.compile(t) };
        } catch (err) {
          if (err instanceof TopicRuleError) throw new RuleError(`acl.${key}[${i}]: ${err.message}`, key);
          throw err;
        }
      });
    };
    return { form: 'map', pub: list('pub'), sub: list('sub'), all: list('all'), deny: { permission: 'deny', rule: `${acl.source} acl: no pub, sub or all entry matched` } };
  }
  if (!Array.isArray(acl.rules)) throw new RuleError('acl must be a list of rules');
  const stored = acl.rules.flatMap((r, i) => {
    try {
      return readRawRule(r);
    } catch (err) {
      if (err instanceof RuleError) throw new RuleError(`acl rule ${i + 1}: ${err.message}`, err.field);
      throw err;
    }
  });
  return { form: 'list', rules: compileStoredRules(stored, (r, i) => `${acl.source} acl rule ${i + 1}: ${storedRuleText(r)}`) };
}

export class ClientAclChecker {
  private readonly compiled = new WeakMap<ClientAcl, Compiled>();

  constructor(
    private readonly onInvalid: (acl: ClientAcl, err: Error) => void,
    private readonly clock: Clock = coarseClock,
  ) {}

  /** The ACL's answer: a match (allow or deny, with the rule), or undefined for nomatch. */
  check(acl: ClientAcl, client: AuthzClient, request: AuthzRequest): SourceMatch | undefined {
    const c = this.of(acl);
    if (acl.expireAt !== undefined && acl.expireAt <= this.clock.now) return this.expired(acl);
    switch (c.form) {
      case 'list':
        return firstMatch(c.rules, client, request);
      case 'invalid':
        return c.deny;
      case 'map': {
        const own = request.action === 'publish' ? c.pub : c.sub;
        return matchTopic(own, client, request) ?? matchTopic(c.all, client, request) ?? c.deny;
      }
    }
  }

  private of(acl: ClientAcl): Compiled {
    let c = this.compiled.get(acl);
    if (c === undefined) {
      try {
        c = compileClientAcl(acl);
      } catch (err) {
        this.onInvalid(acl, err as Error);
        c = { form: 'invalid', deny: { permission: 'deny', rule: `${acl.source} acl: invalid (${(err as Error).message}), everything denied` } };
      }
      this.compiled.set(acl, c);
    }
    return c;
  }

  private readonly expiredMatches = new WeakMap<ClientAcl, SourceMatch>();

  private expired(acl: ClientAcl): SourceMatch {
    let m = this.expiredMatches.get(acl);
    if (m === undefined) {
      m = { permission: 'deny', rule: `${acl.source} acl expired at ${new Date(acl.expireAt!).toISOString()}` };
      this.expiredMatches.set(acl, m);
    }
    return m;
  }
}

function matchTopic(list: readonly TopicMatch[], client: AuthzClient, request: AuthzRequest): TopicMatch | undefined {
  for (let i = 0; i < list.length; i++) if (list[i]!.topic.matches(request.topic, client)) return list[i];
  return undefined;
}
