import type { Logger } from 'pino';
import { MetricSet } from '../metrics/counters.js';
import type { BuiltInStore } from '../store/index.js';
import type { AuthenticatorContext } from './authenticator.js';
import { AUTHENTICATOR_METRICS, runChain, type Chain, type ChainEntry, type ChainRun, type StepRecord } from './chain.js';
import { authenticatorId, type AuthenticatorRegistry } from './registry.js';
import type { AuthenticationService, AuthnDecision, ClientCredential } from './types.js';

export const GLOBAL_METRICS = [
  'client.authenticate',
  'client.auth.anonymous',
  'authentication.success',
  'authentication.success.anonymous',
  'authentication.failure',
] as const;
export type GlobalAuthnMetric = (typeof GLOBAL_METRICS)[number];

export interface AuthnServiceOptions {
  logger: Logger;
  store: BuiltInStore;
  baseDir: string;
  /** An authenticator that has not answered by then counts as ignore. */
  timeoutMs: number;
  /** The authenticator types chains are built from (the composition root's registry). */
  authenticators: AuthenticatorRegistry;
}

/** A chain built from its config blocks but not serving yet: `installChain` puts it in place, `discardChain` drops it. */
export interface PreparedChain {
  readonly name: string;
  readonly entries: readonly ChainEntry[];
}

/** The result of explain: the real chain run in dry-run mode. */
export interface Explanation {
  chain: string | null;
  /** Why no chain ran, when none did (enable_authn = false, no chain, quick deny). */
  note?: string;
  steps: StepRecord[];
  decision: AuthnDecision;
}

/** One real authentication as observers see it: the explain fields plus the total time. */
export interface DecisionRecord extends Explanation {
  listener: string;
  ms: number;
}
export type DecisionObserver = (record: DecisionRecord) => void;

/**
 * Holds every authentication chain of the node by name and answers the fronts.
 * Chain selection (§2.2): the listener's own chain when it exists, else the
 * protocol's global chain, else anonymous.
 */
export class AuthnService implements AuthenticationService {
  private readonly chains = new Map<string, Chain>();
  /** Counters survive a chain's reconfiguration, keyed `<chain>-<authenticator id>` as in EMQX. */
  private readonly entryMetrics = new Map<string, ChainEntry['metrics']>();
  readonly metrics = new MetricSet(GLOBAL_METRICS, ['client.authenticate']);
  private readonly observers = new Set<DecisionObserver>();

  constructor(private readonly opts: AuthnServiceOptions) {}

  /** Replaces a chain from config blocks (already validated). An empty list removes the chain. */
  async setChain(name: string, configs: ReadonlyArray<Record<string, unknown>>, fromFile: boolean): Promise<void> {
    const replaced = this.swapChain(await this.prepareChain(name, configs, fromFile));
    await this.discardChain(replaced);
  }

  /**
   * Creates a chain's authenticators from config blocks (already validated) without touching
   * the chain in service: a configuration change prepares every chain it changes first, so a
   * backend that cannot be created leaves every chain as it was.
   */
  async prepareChain(name: string, configs: ReadonlyArray<Record<string, unknown>>, fromFile: boolean): Promise<PreparedChain> {
    const ctx: AuthenticatorContext = { chain: name, store: this.opts.store, logger: this.opts.logger, baseDir: this.opts.baseDir, fromFile };
    const entries: ChainEntry[] = [];
    try {
      for (const config of configs) {
        const id = authenticatorId(config as { mechanism: string; backend?: string });
        const factory = this.opts.authenticators.get(id);
        if (!factory) throw new Error(`unknown authenticator ${id}`);
        const authenticator = await factory.create(config, ctx);
        const metrics = this.entryMetrics.get(`${name}-${id}`) ?? new MetricSet(AUTHENTICATOR_METRICS, ['total']);
        entries.push({ id, enable: config['enable'] !== false, config: { ...config }, authenticator, metrics });
      }
    } catch (err) {
      await this.discardChain({ name, entries });
      throw err;
    }
    return { name, entries };
  }

  /**
   * Puts a prepared chain in service at once (an empty one removes the chain) and returns the
   * one it replaced, still usable: swap it back to undo, or discard it. Counters follow
   * their authenticator id (§7.4: they survive a reconfiguration).
   */
  swapChain(prepared: PreparedChain): PreparedChain {
    const { name, entries } = prepared;
    const old = this.chains.get(name);
    if (entries.length === 0) this.chains.delete(name);
    else this.chains.set(name, { name, entries: [...entries] });
    for (const key of [...this.entryMetrics.keys()]) {
      if (key.startsWith(`${name}-`) && !entries.some((e) => `${name}-${e.id}` === key)) this.entryMetrics.delete(key);
    }
    for (const e of entries) this.entryMetrics.set(`${name}-${e.id}`, e.metrics);
    return { name, entries: old?.entries ?? [] };
  }

  /** Releases a chain that is not in service (prepared and not used, or swapped out). */
  async discardChain(chain: PreparedChain): Promise<void> {
    await Promise.all(chain.entries.map((e) => e.authenticator.destroy?.()));
  }

  chain(name: string): Chain | undefined {
    return this.chains.get(name);
  }

  chainNames(): string[] {
    return [...this.chains.keys()];
  }

  /** The chain a client of this listener and protocol gets (§2.2), if any. */
  selectChain(credential: Pick<ClientCredential, 'listener' | 'protocol'>): Chain | undefined {
    return this.chains.get(credential.listener) ?? this.chains.get(`${credential.protocol}:global`);
  }

  async authenticate(credential: ClientCredential): Promise<AuthnDecision> {
    return this.decide(credential);
  }

  /** The decision, synchronously unless an authenticator answered with a promise. */
  decide(credential: ClientCredential): AuthnDecision | Promise<AuthnDecision> {
    const started = this.observers.size === 0 ? undefined : performance.now();
    const outcome = this.run(credential, false);
    if (outcome instanceof Promise) return outcome.then((o) => this.decided(credential, o, started));
    return this.decided(credential, outcome, started);
  }

  private decided(credential: ClientCredential, outcome: Explanation, started: number | undefined): AuthnDecision {
    // Anonymous access without a chain has no decision work to time (the counters count it).
    if (started !== undefined && outcome !== NO_CHAIN) this.notify({ listener: credential.listener, ...outcome, ms: performance.now() - started });
    return withSteps(outcome);
  }

  private notify(record: DecisionRecord): void {
    for (const observer of this.observers) {
      try {
        observer(record);
      } catch (err) {
        this.opts.logger.warn({ error: (err as Error).message }, 'authentication decision observer failed');
      }
    }
  }

  /** Registers an observer of every real (not explain) decision, e.g. for latency metrics; returns its removal. */
  onDecision(observer: DecisionObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Runs the real chain without side effects and reports each step (issue 6's explain). */
  async explain(credential: ClientCredential): Promise<Explanation> {
    return this.run(credential, true);
  }

  async destroy(): Promise<void> {
    for (const chain of this.chains.values()) await Promise.all(chain.entries.map((e) => e.authenticator.destroy?.()));
    this.chains.clear();
  }

  /** Selects and runs the chain; synchronous unless an authenticator answered with a promise. */
  private run(credential: ClientCredential, dryRun: boolean): Explanation | Promise<Explanation> {
    const count = (m: GlobalAuthnMetric) => {
      if (!dryRun) this.metrics.inc(m);
    };
    // §1.3: the listener's enable_authn decides before any chain.
    if (credential.enable_authn === false) {
      return { chain: null, note: 'enable_authn = false on this listener', steps: [], decision: { allowed: true, anonymous: true, isSuperuser: false } };
    }
    if (credential.enable_authn === 'quick_deny_anonymous' && !credential.username) {
      count('authentication.failure');
      return {
        chain: null,
        note: 'quick_deny_anonymous: no username',
        steps: [],
        decision: { allowed: false, reason: 'not_authorized', detail: 'quick_deny_anonymous: the client sent no username' },
      };
    }
    count('client.authenticate');
    const chain = this.selectChain(credential);
    if (!chain) {
      // Every client of a listener without a chain: one shared answer, nothing built per login.
      count('authentication.success');
      count('authentication.success.anonymous');
      count('client.auth.anonymous');
      return NO_CHAIN;
    }
    const outcome = runChain(chain, credential, { timeoutMs: this.opts.timeoutMs, logger: this.opts.logger, dryRun });
    if (outcome instanceof Promise) return outcome.then((o) => this.explained(chain, o, count));
    return this.explained(chain, outcome, count);
  }

  /** Counts the outcome of a chain run and says which chain made it. */
  private explained(chain: Chain, outcome: ChainRun, count: (m: GlobalAuthnMetric) => void): Explanation {
    const { decision } = outcome;
    if (decision.allowed) {
      count('authentication.success');
      if (decision.anonymous) {
        count('authentication.success.anonymous');
        count('client.auth.anonymous');
      }
    } else {
      count('authentication.failure');
    }
    return { chain: chain.name, ...outcome };
  }
}

/** The run for a client no chain applies to; shared, never mutated. */
const NO_CHAIN: Explanation = Object.freeze({
  chain: null,
  note: 'no chain for this listener or protocol',
  steps: Object.freeze([]) as unknown as StepRecord[],
  decision: Object.freeze({ allowed: true, anonymous: true, isSuperuser: false }) as AuthnDecision,
});

/** A refusal carries its steps, so the front's log line is the whole decision record. */
function withSteps(outcome: { decision: AuthnDecision; steps: StepRecord[] }): AuthnDecision {
  const { decision, steps } = outcome;
  if (decision.allowed || steps.length === 0) return decision;
  return { ...decision, steps: steps.map(({ request: _request, ...step }) => step) };
}
