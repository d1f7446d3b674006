import type { AuthzClient, AuthzRequest } from './types.js';
import { TopicRule, TopicRuleError, firstWordHash } from './topic.js';

/**
 * A compiled authorization rule (§8.4): permission, who, action condition, topics. It
 * matches when the action matches, the client is among "who" and any topic covers the
 * request; first match wins in every rule list. Compiled once; `matches` allocates nothing.
 */

export type Permission = 'allow' | 'deny';

/** What a source answers when one of its rules (or its backend) decided. */
export interface SourceMatch {
  readonly permission: Permission;
  /** The rule that matched, as written (for the denial log line and explain). */
  readonly rule?: string;
}

/** A client condition ("who"): a predicate on the client, described for explain. */
export interface Who {
  readonly text: string;
  test(client: AuthzClient): boolean;
}

export const EVERYONE: Who = { text: 'all', test: () => true };

/** Which actions, QoS levels and retain flags a rule covers. */
export interface ActionCondition {
  readonly publish: boolean;
  readonly subscribe: boolean;
  /** Bit n set: QoS n is covered. */
  readonly qos: number;
  /** Publish only: which retain flags are covered. */
  readonly retain: boolean | 'all';
}

export const ALL_QOS = 0b111;

export class Rule implements SourceMatch {
  constructor(
    readonly permission: Permission,
    readonly who: Who,
    readonly action: ActionCondition,
    readonly topics: readonly TopicRule[],
    /** The rule as written, with where it came from (`acl.conf:12 {deny, ...}`). */
    readonly rule: string,
  ) {}

  matches(client: AuthzClient, request: AuthzRequest): boolean {
    return this.who.test(client) && this.covers(client, request);
  }

  /** The action and topic part alone: for a client already known to be among "who". */
  covers(client: AuthzClient, request: AuthzRequest): boolean {
    const action = this.action;
    if (request.action === 'publish') {
      if (!action.publish) return false;
      if (action.retain !== 'all' && action.retain !== request.retain) return false;
    } else if (!action.subscribe) {
      return false;
    }
    if ((action.qos & (1 << request.qos)) === 0) return false;
    const topics = this.topics;
    for (let i = 0; i < topics.length; i++) if (topics[i]!.matches(request.topic, client)) return true;
    return false;
  }
}

/** The first rule of `rules` that matches, or undefined. */
export function firstMatch(rules: readonly Rule[], client: AuthzClient, request: AuthzRequest): Rule | undefined {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (rule.matches(client, request)) return rule;
  }
  return undefined;
}

/** The first rule of `rules` that covers the request, for a client among every rule's "who". */
function firstCovering(rules: readonly Rule[], client: AuthzClient, request: AuthzRequest): Rule | undefined {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (rule.covers(client, request)) return rule;
  }
  return undefined;
}

/** Runs for everyone this long or longer are indexed by first level. */
const INDEX_FROM = 16;
/** An index whose buckets would hold more rule slots than this in all is not made. */
const INDEX_MAX_SLOTS = 200_000;

/**
 * A run of rules for everyone indexed by the first level of their topics: a request only
 * walks, in their order, the rules whose topics can start with its first level plus those
 * whose first level is not fixed (`+`, `#`, a placeholder, `all`). One hash of the request's
 * first level (in place) and one Map lookup; no allocation.
 */
class IndexedRun {
  private readonly buckets = new Map<number, readonly Rule[]>();
  /** The rules whose first level is not fixed: the candidates of every other first level. */
  private readonly unkeyed: readonly Rule[];

  private constructor(rules: readonly Rule[], keys: ReadonlyArray<ReadonlySet<number> | undefined>, hashes: ReadonlySet<number>) {
    for (const h of hashes) this.buckets.set(h, rules.filter((_, i) => keys[i] === undefined || keys[i]!.has(h)));
    this.unkeyed = rules.filter((_, i) => keys[i] === undefined);
  }

  /** The run indexed, or the run itself when indexing would not pay (short, or too many unkeyed rules to copy into each bucket). */
  static of(rules: readonly Rule[]): IndexedRun | readonly Rule[] {
    if (rules.length < INDEX_FROM) return rules;
    const keys = rules.map((rule) => {
      const hashes = new Set<number>();
      for (const topic of rule.topics) {
        const word = topic.firstWord;
        if (word === undefined) return undefined;
        hashes.add(firstWordHash(word));
      }
      return hashes;
    });
    const hashes = new Set<number>();
    for (const k of keys) if (k) for (const h of k) hashes.add(h);
    const unkeyed = keys.filter((k) => k === undefined).length;
    if (hashes.size === 0 || unkeyed * hashes.size > INDEX_MAX_SLOTS) return rules;
    return new IndexedRun(rules, keys, hashes);
  }

  candidates(topic: string): readonly Rule[] {
    return this.buckets.get(firstWordHash(topic)) ?? this.unkeyed;
  }
}

type PlanStep = readonly Rule[] | IndexedRun;

/**
 * An ordered rule list (an acl.conf) that works out once per client which of its rules can
 * apply to it: a rule's "who" depends on the client alone (names, address, attributes), so
 * a publish walks only the rules for this client, not every user's. Runs of rules for
 * everyone are shared between clients, so a client's plan costs a few array slots; a long
 * run is indexed by first topic level (`IndexedRun`), so a publish walks only the rules that
 * can match its first level.
 */
export class RuleList {
  /** Runs of consecutive rules for everyone (shared), and the other rules one by one. */
  private readonly blocks: ReadonlyArray<PlanStep | Rule>;
  private readonly plans = new WeakMap<AuthzClient, readonly PlanStep[]>();

  constructor(readonly rules: readonly Rule[]) {
    const blocks: Array<Rule[] | Rule> = [];
    let run: Rule[] | undefined;
    for (const rule of rules) {
      if (rule.who === EVERYONE) {
        if (!run) blocks.push((run = []));
        run.push(rule);
      } else {
        run = undefined;
        blocks.push(rule);
      }
    }
    this.blocks = blocks.map((b) => (Array.isArray(b) ? IndexedRun.of(b) : b));
  }

  firstMatch(client: AuthzClient, request: AuthzRequest): Rule | undefined {
    let plan = this.plans.get(client);
    if (plan === undefined) {
      plan = this.planFor(client);
      this.plans.set(client, plan);
    }
    for (let i = 0; i < plan.length; i++) {
      const step = plan[i]!;
      const rule = firstCovering(step instanceof IndexedRun ? step.candidates(request.topic) : step, client, request);
      if (rule !== undefined) return rule;
    }
    return undefined;
  }

  private planFor(client: AuthzClient): PlanStep[] {
    const plan: PlanStep[] = [];
    let own: Rule[] | undefined;
    for (const block of this.blocks) {
      if (block instanceof IndexedRun || Array.isArray(block)) {
        plan.push(block);
        own = undefined;
      } else if ((block as Rule).who.test(client)) {
        if (!own) plan.push((own = []));
        own.push(block as Rule);
      }
    }
    return plan;
  }
}

/** A rule that cannot be compiled; `field` names the key at fault. */
export class RuleError extends Error {
  override readonly name = 'RuleError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * The stored form of a raw rule (§9.3, what the built-in database keeps and answers): one
 * topic, long action names, QoS as a list, retain as true, false or "all".
 */
export interface StoredRule {
  topic: string;
  permission: Permission;
  action: 'publish' | 'subscribe' | 'all';
  qos: Array<0 | 1 | 2>;
  retain: boolean | 'all';
}

const ACTIONS: Record<string, StoredRule['action']> = { publish: 'publish', pub: 'publish', subscribe: 'subscribe', sub: 'subscribe', all: 'all' };

/**
 * Reads one raw rule object (§8.4: `permission`, `action`, `topic` or `topics`, `qos`,
 * `retain`) into its stored form, one rule per topic. Throws RuleError naming the field.
 * `longActionsOnly`: the built-in database REST schema takes only `publish`/`subscribe`/`all`.
 */
export function readRawRule(raw: unknown, opts: { longActionsOnly?: boolean } = {}): StoredRule[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RuleError('a rule must be an object');
  const r = raw as Record<string, unknown>;
  const permission = r['permission'];
  if (permission !== 'allow' && permission !== 'deny') throw new RuleError(`permission must be "allow" or "deny", got ${show(permission)}`, 'permission');
  const actionText = r['action'];
  const action = typeof actionText === 'string' ? ACTIONS[actionText] : undefined;
  if (!action || (opts.longActionsOnly && actionText !== action)) {
    const allowed = opts.longActionsOnly ? '"publish", "subscribe" or "all"' : '"publish", "pub", "subscribe", "sub" or "all"';
    throw new RuleError(`action must be ${allowed}, got ${show(actionText)}`, 'action');
  }
  let topics: string[];
  if (r['topic'] !== undefined && r['topic'] !== null) {
    if (typeof r['topic'] !== 'string') throw new RuleError(`topic must be a string, got ${show(r['topic'])}`, 'topic');
    topics = [r['topic']];
  } else if (Array.isArray(r['topics'])) {
    topics = r['topics'].map((t, i) => {
      if (typeof t !== 'string') throw new RuleError(`topics[${i}] must be a string, got ${show(t)}`, 'topics');
      return t;
    });
  } else {
    throw new RuleError('a rule needs topic (a string) or topics (an array of strings)', 'topic');
  }
  for (const topic of topics) {
    try {
      TopicRule.compile(topic);
    } catch (err) {
      if (err instanceof TopicRuleError) throw new RuleError(`topic ${err.message}`, 'topic');
      throw err;
    }
  }
  const qos = readQos(r['qos']);
  const retain = readRetain(r['retain']);
  return topics.map((topic) => ({ topic, permission, action, qos, retain }));
}

function readQos(value: unknown): Array<0 | 1 | 2> {
  if (value === undefined || value === null) return [0, 1, 2];
  const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : Array.isArray(value) ? value : [value];
  const out = new Set<0 | 1 | 2>();
  for (const item of items) {
    const n = typeof item === 'string' && /^[0-2]$/.test(item) ? Number(item) : item;
    if (n !== 0 && n !== 1 && n !== 2) throw new RuleError(`qos must be 0, 1, 2, a list of them or a comma-separated string, got ${show(value)}`, 'qos');
    out.add(n);
  }
  if (out.size === 0) throw new RuleError('qos must not be an empty list', 'qos');
  return [...out].sort();
}

function readRetain(value: unknown): boolean | 'all' {
  switch (value) {
    case undefined:
    case null:
    case 'all':
      return 'all';
    case true:
    case 'true':
    case 1:
    case '1':
      return true;
    case false:
    case 'false':
    case 0:
    case '0':
      return false;
    default:
      throw new RuleError(`retain must be true, false or "all", got ${show(value)}`, 'retain');
  }
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Compiles stored rules (all for everyone: the rule set is already the client's). */
export function compileStoredRules(rules: readonly StoredRule[], describe: (rule: StoredRule, index: number) => string): Rule[] {
  return rules.map((r, i) => {
    const action: ActionCondition = {
      publish: r.action !== 'subscribe',
      subscribe: r.action !== 'publish',
      qos: r.qos.reduce<number>((mask, q) => mask | (1 << q), 0),
      retain: r.retain,
    };
    return new Rule(r.permission, EVERYONE, action, [TopicRule.compile(r.topic)], describe(r, i));
  });
}

/** A stored rule in one line, for logs and explain: `deny publish t/1 qos [0,1] retain all`. */
export function storedRuleText(r: StoredRule): string {
  const qos = r.qos.length === 3 ? '' : ` qos ${r.qos.join(',')}`;
  const retain = r.retain === 'all' || r.action === 'subscribe' ? '' : ` retain ${r.retain}`;
  return `${r.permission} ${r.action} ${r.topic}${qos}${retain}`;
}
