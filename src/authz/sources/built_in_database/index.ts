import { Type } from '@sinclair/typebox';
import type { AclKind, BuiltInStore } from '../../../store/index.js';
import { ALL_QOS, compileStoredRules, EVERYONE, firstMatch, readRawRule, Rule, storedRuleText, type StoredRule } from '../../rule.js';
import { TopicRule } from '../../topic.js';
import type { AuthzSource, AuthzSourceType, SourceAnswer, SourceContext, SourceTrace } from '../../source.js';
import type { AuthzClient, AuthzRequest } from '../../types.js';
import { AclRules, DEFAULT_MAX_RULES } from './rules.js';

export { AclRules, AclRuleError, DEFAULT_MAX_RULES } from './rules.js';
export type { AclRecordView } from './rules.js';

/** `{type = built_in_database, enable, max_rules = 100}` (§8.8). */
export const BuiltInDatabaseSourceSchema = Type.Object(
  {
    type: Type.Literal('built_in_database'),
    enable: Type.Boolean({ default: true }),
    max_rules: Type.Integer({ minimum: 1, default: DEFAULT_MAX_RULES, description: 'rules per client id, username or the all record' }),
  },
  { additionalProperties: false },
);

/** How often another process's writes (`gatehouse acl ...`) are looked for. */
export const GENERATION_POLL_MS = 1000;

export const builtInDatabaseSource: AuthzSourceType = {
  type: 'built_in_database',
  schema: BuiltInDatabaseSourceSchema,
  async create(config, ctx) {
    return new BuiltInDatabaseSource(config, ctx);
  },
};

/**
 * Rules kept in the node's store and answered from an in-memory index (§8.8): the client's
 * client-id record, then its username record, then the all record; first match wins. A write
 * through this process updates the index at once; a write by another process within
 * GENERATION_POLL_MS (the store's generation counter). Every change drops cached decisions.
 */
export class BuiltInDatabaseSource implements AuthzSource {
  private clients = new Map<string, Rule[]>();
  private users = new Map<string, Rule[]>();
  private everyone: Rule[] = [];
  private seen = -1;
  private maxRules: number;
  private readonly timer: NodeJS.Timeout;
  private readonly unlisten: () => void;
  /** Rule management for the API. */
  readonly rules: AclRules;

  constructor(
    config: Record<string, unknown>,
    private readonly ctx: SourceContext,
  ) {
    this.maxRules = typeof config['max_rules'] === 'number' ? config['max_rules'] : DEFAULT_MAX_RULES;
    this.rules = new AclRules(ctx.store, () => this.maxRules);
    this.reloadAll();
    this.unlisten = ctx.store.acl.onChange((kind, who) => this.changed(kind, who));
    this.timer = setInterval(() => this.poll(), GENERATION_POLL_MS);
    this.timer.unref();
  }

  authorize(client: AuthzClient, request: AuthzRequest, trace?: SourceTrace): SourceAnswer {
    const own = this.clients.get(client.clientid);
    let rule = own && firstMatch(own, client, request);
    let byName: Rule[] | undefined;
    if (!rule && client.username !== undefined) {
      byName = this.users.get(client.username);
      rule = byName && firstMatch(byName, client, request);
    }
    rule ??= firstMatch(this.everyone, client, request);
    if (trace && !rule) {
      trace.detail = `no rule matched (clientid record: ${own?.length ?? 0} rules, username record: ${byName?.length ?? 0} rules, all: ${this.everyone.length} rules)`;
    }
    return rule ?? 'nomatch';
  }

  async update(config: Record<string, unknown>): Promise<void> {
    this.maxRules = typeof config['max_rules'] === 'number' ? config['max_rules'] : DEFAULT_MAX_RULES;
  }

  status(): 'connected' {
    return 'connected';
  }

  async destroy(): Promise<void> {
    clearInterval(this.timer);
    this.unlisten();
  }

  private poll(): void {
    if (!this.ctx.store.isOpen) return;
    if (this.ctx.store.acl.generation() !== this.seen) this.reloadAll();
  }

  /** A write through this process: that record alone, unless another process wrote too. */
  private changed(kind: AclKind | undefined, who: string | undefined): void {
    const generation = this.ctx.store.acl.generation();
    if (kind === undefined || who === undefined || generation !== this.seen + 1) {
      this.reloadAll();
      return;
    }
    this.seen = generation;
    this.reloadRecord(kind, who, this.ctx.store.acl.get(kind, who));
    this.ctx.rulesChanged(kind === 'clientid' ? { clientid: who } : kind === 'username' ? { username: who } : undefined);
  }

  private reloadAll(): void {
    const store: BuiltInStore = this.ctx.store;
    this.seen = store.acl.generation();
    this.clients = new Map();
    this.users = new Map();
    this.everyone = [];
    for (const record of store.acl.records()) this.reloadRecord(record.kind, record.who, record.rules);
    this.ctx.rulesChanged();
  }

  private reloadRecord(kind: AclKind, who: string, rules: unknown[] | undefined): void {
    const compiled = rules === undefined ? undefined : compile(kind, who, rules, this.ctx);
    if (kind === 'all') this.everyone = compiled ?? [];
    else {
      const map = kind === 'clientid' ? this.clients : this.users;
      if (compiled === undefined || compiled.length === 0) map.delete(who);
      else map.set(who, compiled);
    }
  }
}

/**
 * A record's stored rules compiled. Rules written by this Gatehouse are valid; one that is not
 * (edited by hand) fails closed: the record becomes a single deny-everything rule, logged.
 */
function compile(kind: AclKind, who: string, rules: unknown[], ctx: SourceContext): Rule[] {
  const where = kind === 'all' ? 'all' : `${kind} ${who}`;
  try {
    const stored: StoredRule[] = rules.flatMap((r) => readRawRule(r));
    return compileStoredRules(stored, (r, i) => `built_in_database ${where} rule ${i + 1}: ${storedRuleText(r)}`);
  } catch (err) {
    ctx.logger.error({ source: 'built_in_database', record: where, err: (err as Error).message }, 'unreadable stored authorization rules: denying everything for this record');
    const everything = { publish: true, subscribe: true, qos: ALL_QOS, retain: 'all' } as const;
    return [new Rule('deny', EVERYONE, everything, [TopicRule.all()], `built_in_database ${where}: unreadable stored rules, everything denied`)];
  }
}
