import type { Logger } from 'pino';
import type { Static } from '@sinclair/typebox';
import type { AuthorizationConfig } from '../config/schema.js';
import { parseDuration } from '../config/hocon/units.js';
import { MetricSet } from '../metrics/counters.js';
import { coarseClock, type Clock } from '../metrics/clock.js';
import { fillDefaults } from '../config/defaults.js';
import type { BuiltInStore } from '../store/index.js';
import type { ClientAcl } from '../authn/types.js';
import { DecisionCache, type CachedDecision } from './cache.js';
import { ClientAclChecker } from './client-acl.js';
import type { SourceMatch } from './rule.js';
import { DEFAULT_SOURCE_TIMEOUT_MS, type AuthzSource, type SourceAnswer, type SourceContext, type SourceFiles, type SourceRegistry, type SourceStatus, type SourceTrace } from './source.js';
import { TopicRule } from './topic.js';
import type { AuthorizationService, AuthzClient, AuthzDecision, AuthzRequest, DenyAction, RulesScope } from './types.js';

export type AuthorizationSettings = Static<typeof AuthorizationConfig>;

/** §13.1's authorization counters, under EMQX's names. */
export const AUTHZ_METRICS = [
  'authorization.allow',
  'authorization.deny',
  'authorization.nomatch',
  'authorization.superuser',
  'authorization.cache_hit',
  'authorization.cache_miss',
  'authorization.matched.allow',
  'authorization.matched.deny',
  'client.authorize',
] as const;
export type AuthzMetric = (typeof AUTHZ_METRICS)[number];

/** Per-source counters (§9.1 status), by source type; a rate is kept on `total`. */
export const SOURCE_METRICS = ['total', 'allow', 'deny', 'nomatch', 'ignore'] as const;
export type SourceMetric = (typeof SOURCE_METRICS)[number];

/** One step of a decision, recorded by explain. */
export interface AuthzStep {
  step: 'reserved' | 'superuser' | 'client_acl' | 'cache' | 'source' | 'no_match';
  /** The source type, for `source` steps; the ACL's authenticator for `client_acl`. */
  source?: string;
  result: 'allow' | 'deny' | 'nomatch' | 'ignore' | 'hit' | 'miss' | 'skipped' | 'disabled' | 'error' | 'timeout';
  rule?: string;
  detail?: string;
}

export interface AuthzExplanation {
  decision: AuthzDecision;
  steps: AuthzStep[];
}

export interface AuthorizerOptions {
  logger: Logger;
  registry: SourceRegistry;
  store: BuiltInStore;
  baseDir: string;
  dataDir: string;
  /** The clock of cache TTLs and ACL expiry (tests); the coarse clock by default. */
  clock?: Clock;
}

interface SourceEntry {
  type: string;
  enable: boolean;
  config: Record<string, unknown>;
  /** Undefined while disabled: a disabled source is not created. */
  source: AuthzSource | undefined;
  metrics: MetricSet<SourceMetric>;
}

const RESERVED: AuthzDecision = Object.freeze({ result: 'deny', from: 'reserved', reason: '$SYS/ topics are reserved for the broker' });
const SUPERUSER: AuthzDecision = Object.freeze({ result: 'allow', from: 'superuser' });

/**
 * The authorizer (§8.1): for each publish, subscribe and will, in order:
 * `$SYS/` publishes are the broker's (deny) → superuser (allow) → the client's own ACL from
 * authentication → the per-client cache → the enabled sources in order, first allow or deny
 * wins, nomatch/ignore/error/timeout go on → `no_match`.
 *
 * Every step that answers from memory answers synchronously, without a promise or an
 * allocation (decisions are made once per rule and reused). A source that returns a promise
 * is waited for at most its `timeoutMs`; an error or a timeout counts as its nomatch, is
 * logged and counted, and the next source decides.
 */
export class Authorizer implements AuthorizationService {
  readonly metrics = new MetricSet(AUTHZ_METRICS, ['authorization.allow', 'authorization.deny']);
  private entries: SourceEntry[] = [];
  /** The enabled entries, in order: what a decision walks. */
  private active: SourceEntry[] = [];
  private readonly sourceMetrics = new Map<string, MetricSet<SourceMetric>>();
  private readonly cache: DecisionCache;
  private readonly clientAcl: ClientAclChecker;
  /** A decision object per matched rule, made once (no allocation per publish). */
  private readonly decisions = new WeakMap<SourceMatch, AuthzDecision>();
  private settings: AuthorizationSettings | undefined;
  private noMatch: AuthzDecision = Object.freeze({ result: 'allow', from: 'default', reason: 'no source matched (authorization.no_match = allow)' });
  /** Told after every change of the rules (see `onRulesChanged`). */
  private readonly changeListeners: Array<(scope: RulesScope | undefined) => void> = [];

  constructor(private readonly opts: AuthorizerOptions) {
    const clock = opts.clock ?? coarseClock;
    this.cache = new DecisionCache(clock);
    this.clientAcl = new ClientAclChecker(
      (acl: ClientAcl, err: Error) => opts.logger.warn({ acl_source: acl.source, err: err.message }, "client's ACL cannot be read: everything is denied to it"),
      clock,
    );
  }

  /** The source types this node knows (the management API's bodies and answers). */
  get registry(): SourceRegistry {
    return this.opts.registry;
  }

  /** Where sources' files are (the API stores `file` rules under `dataDir`). */
  get files(): SourceFiles {
    return { baseDir: this.opts.baseDir, dataDir: this.opts.dataDir };
  }

  /** `authorization.deny_action` (§8.2), for the protocol fronts. */
  get denyAction(): DenyAction {
    return this.settings?.deny_action ?? 'ignore';
  }

  /**
   * Applies validated settings: every enabled source is created first; if one fails, the
   * ones made are destroyed, the running ones stay and the error is thrown. Then the new
   * sources replace the old, and every cached decision goes.
   */
  async configure(settings: AuthorizationSettings): Promise<void> {
    const ctx: SourceContext = {
      logger: this.opts.logger,
      store: this.opts.store,
      baseDir: this.opts.baseDir,
      dataDir: this.opts.dataDir,
      rulesChanged: (scope) => this.rulesChanged(scope),
    };
    const excludes = settings.cache.excludes.map((f) => TopicRule.compile(f));
    const made: SourceEntry[] = [];
    try {
      for (const block of settings.sources) {
        const config = { ...block } as Record<string, unknown>;
        const type = String(config['type']);
        const sourceType = this.opts.registry.find(type);
        if (!sourceType) throw new Error(`unknown authorization source type ${type}`);
        fillDefaults(sourceType.schema, config);
        if (made.some((e) => e.type === type)) throw new Error(`duplicated_authz_source_type: ${type}`);
        const enable = config['enable'] !== false;
        const metrics = this.sourceMetrics.get(type) ?? new MetricSet(SOURCE_METRICS, ['total']);
        made.push({ type, enable, config, metrics, source: enable ? await sourceType.create(config, ctx) : undefined });
      }
    } catch (err) {
      await Promise.all(made.map((e) => e.source?.destroy()));
      throw err;
    }
    const old = this.entries;
    this.entries = made;
    this.active = made.filter((e) => e.enable);
    for (const e of made) this.sourceMetrics.set(e.type, e.metrics);
    for (const type of [...this.sourceMetrics.keys()]) if (!made.some((e) => e.type === type)) this.sourceMetrics.delete(type);
    this.settings = settings;
    this.noMatch = Object.freeze({
      result: settings.no_match,
      from: 'default',
      reason: `no source matched (authorization.no_match = ${settings.no_match})`,
    });
    this.cache.configure({
      enable: settings.cache.enable,
      maxSize: settings.cache.max_size,
      ttlMs: parseDuration(settings.cache.ttl),
      excludes,
    });
    await Promise.all(old.map((e) => e.source?.destroy()));
    // Sources added, removed, reordered, enabled or disabled, settings changed: anyone's rules.
    this.rulesChanged(undefined);
  }

  /**
   * Beyond EMQX: `listener` is told, synchronously, after every change of the rules (a source's
   * reload or rule write, `configure`), with whose rules changed (undefined: anyone's), once the
   * affected cached decisions are gone. The access service re-checks the connected clients'
   * subscriptions with it. Returns the listener's removal.
   */
  onRulesChanged(listener: (scope: RulesScope | undefined) => void): () => void {
    this.changeListeners.push(listener);
    return () => {
      const i = this.changeListeners.indexOf(listener);
      if (i >= 0) this.changeListeners.splice(i, 1);
    };
  }

  /** The rules of `scope` (anyone's without one) changed: their cached decisions go at once, then the listeners are told. */
  private rulesChanged(scope: RulesScope | undefined): void {
    if (scope === undefined) this.cache.invalidate();
    else if ('clientid' in scope) this.cache.invalidate(scope.clientid);
    else this.cache.invalidateUsername(scope.username);
    for (const listener of this.changeListeners) {
      try {
        listener(scope);
      } catch (err) {
        this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'authorization rules-changed listener failed');
      }
    }
  }

  /** Drops cached decisions: every client's, or one client's (the cache API; a rule change does it by itself). */
  invalidate(clientid?: string): void {
    this.cache.invalidate(clientid);
  }

  /** A connected client's cached decisions; undefined when it has no cache. */
  cachedDecisions(clientid: string): CachedDecision[] | undefined {
    return this.cache.list(clientid);
  }

  /** The configured sources in order, with their state. */
  sources(): Array<{ type: string; enable: boolean; config: Record<string, unknown>; status: SourceStatus | 'disabled'; metrics: MetricSet<SourceMetric> }> {
    return this.entries.map((e) => ({ type: e.type, enable: e.enable, config: e.config, status: e.source?.status() ?? 'disabled', metrics: e.metrics }));
  }

  /** A running source of a type (the built-in database's rule management). */
  source(type: string): AuthzSource | undefined {
    return this.entries.find((e) => e.type === type)?.source;
  }

  async destroy(): Promise<void> {
    const entries = this.entries;
    this.entries = [];
    this.active = [];
    await Promise.all(entries.map((e) => e.source?.destroy()));
  }

  authorize(client: AuthzClient, request: AuthzRequest): AuthzDecision | Promise<AuthzDecision> {
    return this.decide(client, request, undefined);
  }

  /** The same decision with each step recorded; counts nothing and leaves the cache as it is. */
  async explain(client: AuthzClient, request: AuthzRequest): Promise<AuthzExplanation> {
    const steps: AuthzStep[] = [];
    const decision = await this.decide(client, { ...request }, steps);
    return { decision, steps };
  }

  private decide(client: AuthzClient, request: AuthzRequest, steps: AuthzStep[] | undefined): AuthzDecision | Promise<AuthzDecision> {
    if (request.action === 'publish' && request.topic.startsWith('$SYS/')) {
      steps?.push({ step: 'reserved', result: 'deny', detail: RESERVED.reason! });
      return this.final(RESERVED, steps);
    }
    if (client.isSuperuser) {
      if (steps) steps.push({ step: 'superuser', result: 'allow' });
      else this.metrics.inc('authorization.superuser');
      return this.final(SUPERUSER, steps);
    }
    steps?.push({ step: 'superuser', result: 'skipped', detail: 'not a superuser' });
    const acl = client.acl;
    if (acl !== undefined) {
      const match = this.clientAcl.check(acl, client, request);
      steps?.push({ step: 'client_acl', source: acl.source, result: match ? match.permission : 'nomatch', ...(match?.rule ? { rule: match.rule } : {}) });
      if (match) return this.final(this.decisionOf(acl.source, match), steps);
    }
    if (this.active.length === 0) {
      // No source: the service's own answer, no_match (allow unless configured otherwise).
      if (!steps) this.metrics.inc('client.authorize');
      return this.runSources(client, request, 0, false, steps);
    }
    // §8.2: a shared subscription is checked against its real filter.
    if (request.action === 'subscribe' && (request.topic.startsWith('$share/') || request.topic.startsWith('$queue/'))) {
      request = { ...request, topic: realFilter(request.topic) };
    }
    const cacheable = this.cache.enabled && !this.cache.excluded(request.topic, client);
    if (cacheable) {
      const hit = this.cache.get(client, request);
      if (hit !== undefined) {
        if (steps) steps.push({ step: 'cache', result: 'hit', detail: `cached ${hit.result} from ${hit.from}`, ...(hit.rule ? { rule: hit.rule } : {}) });
        else this.metrics.inc('authorization.cache_hit');
        return this.final(hit, steps);
      }
      if (steps) steps.push({ step: 'cache', result: 'miss' });
      else this.metrics.inc('authorization.cache_miss');
    } else {
      steps?.push({ step: 'cache', result: 'skipped', detail: this.cache.enabled ? 'topic is in cache.excludes' : 'cache disabled' });
    }
    if (!steps) this.metrics.inc('client.authorize');
    return this.runSources(client, request, 0, cacheable, steps);
  }

  /** Asks the enabled sources from `from` on; synchronous until one answers with a promise. */
  private runSources(
    client: AuthzClient,
    request: AuthzRequest,
    from: number,
    cacheable: boolean,
    steps: AuthzStep[] | undefined,
  ): AuthzDecision | Promise<AuthzDecision> {
    const active = this.active;
    for (let i = from; i < active.length; i++) {
      const entry = active[i]!;
      if (!steps) entry.metrics.inc('total');
      const trace: StepTrace | undefined = steps ? {} : undefined;
      let answer: SourceAnswer | Promise<SourceAnswer>;
      try {
        answer = entry.source!.authorize(client, request, trace);
      } catch (err) {
        answer = this.failed(entry, 'error', (err as Error).message, trace);
      }
      if (answer instanceof Promise) {
        const copy: AuthzRequest = { action: request.action, topic: request.topic, qos: request.qos, retain: request.retain };
        return this.waitFor(entry, answer, trace).then((a) => this.afterAnswer(client, copy, i, a, cacheable, steps, trace));
      }
      const decided = this.judge(entry, answer, steps, trace);
      if (decided) return this.concluded(client, request, decided, cacheable, steps);
    }
    if (steps) steps.push({ step: 'no_match', result: this.noMatch.result, detail: this.noMatch.reason! });
    else this.metrics.inc('authorization.nomatch');
    return this.concluded(client, request, this.noMatch, cacheable, steps);
  }

  private afterAnswer(
    client: AuthzClient,
    request: AuthzRequest,
    index: number,
    answer: SourceAnswer,
    cacheable: boolean,
    steps: AuthzStep[] | undefined,
    trace: StepTrace | undefined,
  ): AuthzDecision | Promise<AuthzDecision> {
    const entry = this.active[index];
    // The sources changed while this one was being waited for: start again with the new ones.
    if (entry === undefined || entry.source === undefined) return this.runSources(client, request, 0, cacheable, steps);
    const decided = this.judge(entry, answer, steps, trace);
    if (decided) return this.concluded(client, request, decided, cacheable, steps);
    return this.runSources(client, request, index + 1, cacheable, steps);
  }

  /** A source's promise, bounded by its timeout; a failure or a timeout is its nomatch. */
  private waitFor(entry: SourceEntry, answer: Promise<SourceAnswer>, trace: StepTrace | undefined): Promise<SourceAnswer> {
    const timeoutMs = entry.source?.timeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS;
    return new Promise<SourceAnswer>((resolve) => {
      const timer = setTimeout(() => resolve(this.failed(entry, 'timeout', `no answer within ${timeoutMs} ms`, trace)), timeoutMs);
      answer.then(
        (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        (err: unknown) => {
          clearTimeout(timer);
          resolve(this.failed(entry, 'error', err instanceof Error ? err.message : String(err), trace));
        },
      );
    });
  }

  /** Logs (or, explaining, records) a source that failed; its answer counts as nomatch (§8.1). */
  private failed(entry: SourceEntry, failure: 'error' | 'timeout', detail: string, trace: StepTrace | undefined): 'nomatch' {
    if (trace) {
      trace.failure = failure;
      trace.detail = detail;
    } else {
      this.opts.logger.warn({ source: entry.type, result: failure, err: detail }, 'authorization source failed: counted as nomatch');
    }
    return 'nomatch';
  }

  /** A source's answer: a decision when it matched, undefined to go on. */
  private judge(entry: SourceEntry, answer: SourceAnswer, steps: AuthzStep[] | undefined, trace: StepTrace | undefined): AuthzDecision | undefined {
    if (answer === 'nomatch' || answer === 'ignore') {
      if (steps) steps.push({ step: 'source', source: entry.type, result: trace?.failure ?? answer, ...(trace?.detail ? { detail: trace.detail } : {}) });
      else entry.metrics.inc(answer);
      return undefined;
    }
    if (steps) steps.push({ step: 'source', source: entry.type, result: answer.permission, ...(answer.rule ? { rule: answer.rule } : {}) });
    else {
      entry.metrics.inc(answer.permission);
      this.metrics.inc(answer.permission === 'allow' ? 'authorization.matched.allow' : 'authorization.matched.deny');
    }
    return this.decisionOf(entry.type, answer);
  }

  private decisionOf(from: string, match: SourceMatch): AuthzDecision {
    let d = this.decisions.get(match);
    if (d === undefined || d.from !== from) {
      d = Object.freeze(match.rule !== undefined ? { result: match.permission, from, rule: match.rule } : { result: match.permission, from });
      this.decisions.set(match, d);
    }
    return d;
  }

  private concluded(client: AuthzClient, request: AuthzRequest, decision: AuthzDecision, cacheable: boolean, steps: AuthzStep[] | undefined): AuthzDecision {
    if (cacheable && !steps) this.cache.put(client, request, decision);
    return this.final(decision, steps);
  }

  private final(decision: AuthzDecision, steps: AuthzStep[] | undefined): AuthzDecision {
    if (!steps) this.metrics.inc(decision.result === 'allow' ? 'authorization.allow' : 'authorization.deny');
    return decision;
  }
}

/** What explain learns from a source: its own trace, and whether it failed. */
interface StepTrace extends SourceTrace {
  failure?: 'error' | 'timeout';
}

/** `$share/<group>/<filter>` and `$queue/<filter>`: the filter. */
function realFilter(topic: string): string {
  if (topic.startsWith('$queue/')) return topic.slice(7);
  const slash = topic.indexOf('/', 7);
  return slash < 0 ? topic : topic.slice(slash + 1);
}
