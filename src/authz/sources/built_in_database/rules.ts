import type { AclKind, AclListQuery, BuiltInStore } from '../../../store/index.js';
import { readRawRule, RuleError, type StoredRule } from '../../rule.js';

/**
 * Rule management of the built-in database source (§8.8, §9.3), for the REST API and
 * `gatehouse acl`: rules are read as raw rules (long action names only, as EMQX's REST
 * schema), stored one topic per rule, at most `max_rules` per record.
 */

export const DEFAULT_MAX_RULES = 100;

/** A rule-management failure with EMQX's error code (§9.3). */
export class AclRuleError extends Error {
  override readonly name = 'AclRuleError';
  constructor(
    readonly code: 'NOT_FOUND' | 'ALREADY_EXISTS' | 'BAD_REQUEST',
    message: string,
  ) {
    super(message);
  }
}

export interface AclRecordView {
  who: string;
  rules: StoredRule[];
}

const NAMES: Record<'clientid' | 'username', { one: string; key: string }> = {
  clientid: { one: 'Client', key: 'ClientID' },
  username: { one: 'User', key: 'Username' },
};

/** The rules of one record read and normalised; throws AclRuleError (400) naming the rule and field. */
export function normaliseRules(raw: unknown, maxRules: number, what: string): StoredRule[] {
  if (!Array.isArray(raw)) throw new AclRuleError('BAD_REQUEST', `rules of ${what} must be an array`);
  const rules: StoredRule[] = [];
  raw.forEach((r, i) => {
    try {
      rules.push(...readRawRule(r, { longActionsOnly: true }));
    } catch (err) {
      if (err instanceof RuleError) throw new AclRuleError('BAD_REQUEST', `rules[${i}]${err.field ? `.${err.field}` : ''} of ${what}: ${err.message}`);
      throw err;
    }
  });
  if (rules.length > maxRules) {
    throw new AclRuleError('BAD_REQUEST', what === 'all' ? 'The length of rules exceeds the maximum limit.' : `The rules length of ${what} exceeds the maximum limit.`);
  }
  return rules;
}

export class AclRules {
  constructor(
    private readonly store: BuiltInStore,
    private readonly maxRules: () => number,
  ) {}

  private label(kind: 'clientid' | 'username', who: string): string {
    return `${NAMES[kind].one} '${who}'`;
  }

  list(kind: 'clientid' | 'username', query: AclListQuery): { data: AclRecordView[]; meta: { page: number; limit: number; count: number; hasnext: boolean } } {
    const page = this.store.acl.list(kind, query);
    return { data: page.data.map((r) => ({ who: r.who, rules: r.rules as StoredRule[] })), meta: page.meta };
  }

  get(kind: 'clientid' | 'username', who: string): AclRecordView {
    const rules = this.store.acl.get(kind, who);
    if (rules === undefined) throw new AclRuleError('NOT_FOUND', 'Not Found');
    return { who, rules: rules as StoredRule[] };
  }

  /** POST: creates every record or none (409 when one exists). */
  add(kind: 'clientid' | 'username', records: ReadonlyArray<{ who: string; rules: unknown }>): void {
    const normalised = records.map((r) => {
      if (typeof r.who !== 'string' || r.who === '') throw new AclRuleError('BAD_REQUEST', `${kind} must be a non-empty string`);
      return { who: r.who, rules: normaliseRules(r.rules, this.maxRules(), this.label(kind, r.who)) };
    });
    const result = this.store.acl.insertMany(kind, normalised);
    if (result) throw new AclRuleError('ALREADY_EXISTS', `${this.label(kind, result.exists)} already exist`);
  }

  /** PUT: creates or replaces one record. */
  put(kind: 'clientid' | 'username', who: string, rules: unknown): void {
    if (who === '') throw new AclRuleError('BAD_REQUEST', `${kind} must be a non-empty string`);
    this.store.acl.put(kind, who, normaliseRules(rules, this.maxRules(), this.label(kind, who)));
  }

  /** Adds rules at the end of a record (creating it): `gatehouse acl add`. */
  append(kind: AclKind, who: string, rules: unknown): StoredRule[] {
    const existing = (this.store.acl.get(kind, who) ?? []) as StoredRule[];
    const what = kind === 'all' ? 'all' : this.label(kind, who);
    const all = normaliseRules([...existing, ...(Array.isArray(rules) ? rules : [rules])], this.maxRules(), what);
    this.store.acl.put(kind, who, all);
    return all;
  }

  delete(kind: 'clientid' | 'username', who: string): void {
    if (this.store.acl.delete(kind, who) === 'not_found') throw new AclRuleError('NOT_FOUND', `${NAMES[kind].key} Not Found`);
  }

  getAll(): StoredRule[] {
    return (this.store.acl.get('all', '') ?? []) as StoredRule[];
  }

  /** POST .../rules/all: replaces the rules for every client. */
  setAll(rules: unknown): void {
    this.store.acl.put('all', '', normaliseRules(rules, this.maxRules(), 'all'));
  }

  /** DELETE .../rules/all: the list becomes empty. */
  clearAll(): void {
    this.store.acl.put('all', '', []);
  }

  /** DELETE .../rules: every record goes. */
  purge(): void {
    this.store.acl.purge();
  }

  /**
   * Imports `{"users": [{username, rules}], "clients": [{clientid, rules}], "all": [rules]}`
   * (the REST bodies of §9.3 in one file): every record is checked first, then all are
   * written (created or replaced) in one transaction. Returns how many records were written.
   */
  import(content: unknown): { users: number; clients: number; all: number } {
    if (content === null || typeof content !== 'object' || Array.isArray(content)) {
      throw new AclRuleError('BAD_REQUEST', 'expected a JSON object with users, clients and/or all');
    }
    const doc = content as Record<string, unknown>;
    const unknownKeys = Object.keys(doc).filter((k) => k !== 'users' && k !== 'clients' && k !== 'all');
    if (unknownKeys.length > 0) throw new AclRuleError('BAD_REQUEST', `unknown key ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')}: expected users, clients and/or all`);
    const records: Array<{ kind: AclKind; who: string; rules: StoredRule[] }> = [];
    const seen = new Set<string>();
    for (const [key, kind, field] of [['users', 'username', 'username'], ['clients', 'clientid', 'clientid']] as const) {
      const list = doc[key];
      if (list === undefined) continue;
      if (!Array.isArray(list)) throw new AclRuleError('BAD_REQUEST', `${key} must be an array of {"${field}": ..., "rules": [...]}`);
      list.forEach((entry: unknown, i) => {
        const e = (entry ?? {}) as Record<string, unknown>;
        const who = e[field];
        if (typeof who !== 'string' || who === '') throw new AclRuleError('BAD_REQUEST', `${key}[${i}].${field} must be a non-empty string`);
        if (seen.has(`${kind}:${who}`)) throw new AclRuleError('BAD_REQUEST', `${key}[${i}]: ${this.label(kind, who)} appears twice`);
        seen.add(`${kind}:${who}`);
        records.push({ kind, who, rules: normaliseRules(e['rules'], this.maxRules(), this.label(kind, who)) });
      });
    }
    if (doc['all'] !== undefined) records.push({ kind: 'all', who: '', rules: normaliseRules(doc['all'], this.maxRules(), 'all') });
    this.store.acl.putMany(records);
    return {
      users: records.filter((r) => r.kind === 'username').length,
      clients: records.filter((r) => r.kind === 'clientid').length,
      all: records.filter((r) => r.kind === 'all').length,
    };
  }
}
