import type { Logger } from 'pino';
import { MetricSet } from '../metrics/counters.js';
import type { AuthenticateOptions, Authenticator, AuthnResult, AuthnTrace } from './authenticator.js';
import type { AuthnDecision, ClientCredential, DecisionStep } from './types.js';

export const AUTHENTICATOR_METRICS = ['total', 'success', 'failed', 'nomatch'] as const;
export type AuthenticatorMetric = (typeof AUTHENTICATOR_METRICS)[number];

/** One authenticator in a chain, with its config as written and its counters. */
export interface ChainEntry {
  id: string;
  enable: boolean;
  config: Record<string, unknown>;
  authenticator: Authenticator;
  metrics: MetricSet<AuthenticatorMetric>;
}

/** A named, ordered list of authenticators: `mqtt:global`, `tcp:default`, `stomp:global`, … */
export interface Chain {
  name: string;
  entries: ChainEntry[];
}

/** What one authenticator did for one client: the explain endpoint's and the refusal log's unit. */
export interface StepRecord extends DecisionStep {
  /** The rendered query or request (explain only), secrets masked. */
  request?: string;
}

export interface ChainRun {
  decision: AuthnDecision;
  steps: StepRecord[];
}

export interface RunOptions {
  timeoutMs: number;
  logger: Logger;
  /** Explain: record each authenticator's rendered request; metrics are not touched. */
  dryRun?: boolean;
}

class AuthenticatorTimeout extends Error {}

/**
 * Runs a chain per §2.3: enabled authenticators in order; the first allow or deny
 * stops; ignore, an exception or a timeout moves on (and is logged as a warning);
 * if every enabled one ignored, the client is denied `not_authorized`; a chain
 * with nothing enabled lets the client in anonymously.
 *
 * Authenticators that answer synchronously (the built-in database with a digest) are
 * run without a timer or a promise, so the result is synchronous too until the first
 * authenticator that answers with a promise.
 */
export function runChain(chain: Chain, credential: ClientCredential, opts: RunOptions): ChainRun | Promise<ChainRun> {
  return new ChainRunner(chain, credential, opts).from(0);
}

class ChainRunner {
  private readonly steps: StepRecord[] = [];
  private enabled = 0;

  constructor(
    private readonly chain: Chain,
    private readonly credential: ClientCredential,
    private readonly opts: RunOptions,
  ) {}

  /** Runs the entries from `index` on; a promise only once an authenticator returns one. */
  from(index: number): ChainRun | Promise<ChainRun> {
    const { opts } = this;
    for (let i = index; i < this.chain.entries.length; i++) {
      const entry = this.chain.entries[i]!;
      if (!entry.enable) {
        if (opts.dryRun) this.steps.push({ authenticator: entry.id, result: 'disabled', ms: 0 });
        continue;
      }
      this.enabled++;
      if (!opts.dryRun) entry.metrics.inc('total');
      const trace: AuthnTrace = {};
      const started = performance.now();
      const call = new AuthenticatorCall(opts.dryRun ? trace : undefined);
      let answer: AuthnResult | Promise<AuthnResult>;
      try {
        answer = entry.authenticator.authenticate(this.credential, call);
      } catch (err) {
        this.failed(entry, trace, started, err);
        continue;
      }
      if (answer instanceof Promise) {
        return withTimeout(answer, opts.timeoutMs, call).then(
          (result) => this.answered(entry, trace, started, result) ?? this.from(i + 1),
          (err: unknown) => {
            this.failed(entry, trace, started, err);
            return this.from(i + 1);
          },
        );
      }
      const run = this.answered(entry, trace, started, answer);
      if (run) return run;
    }
    return this.end();
  }

  /** Records an answer; the chain's result when it stops here, undefined to go on. */
  private answered(entry: ChainEntry, trace: AuthnTrace, started: number, result: AuthnResult): ChainRun | undefined {
    const { chain, steps, opts } = this;
    const ms = elapsed(started);
    switch (result.outcome) {
      case 'ignore':
        if (!opts.dryRun) entry.metrics.inc('nomatch');
        steps.push(withRequest(result.detail ? { authenticator: entry.id, result: 'ignore', ms, reason: result.detail } : { authenticator: entry.id, result: 'ignore', ms }, trace));
        return undefined;
      case 'allow': {
        if (!opts.dryRun) entry.metrics.inc('success');
        steps.push(withRequest({ authenticator: entry.id, result: 'allow', ms }, trace));
        const decision: AuthnDecision = {
          allowed: true,
          anonymous: false,
          chain: chain.name,
          authenticator: entry.id,
          isSuperuser: result.isSuperuser,
        };
        if (result.acl) decision.acl = result.acl;
        if (result.clientAttrs) decision.clientAttrs = result.clientAttrs;
        if (result.expireAt !== undefined) decision.expireAt = result.expireAt;
        return { decision, steps };
      }
      case 'deny':
        if (!opts.dryRun) entry.metrics.inc('failed');
        steps.push(withRequest({ authenticator: entry.id, result: 'deny', reason: result.reason, ms }, trace));
        return {
          decision: {
            allowed: false,
            reason: result.reason,
            chain: chain.name,
            authenticator: entry.id,
            ...(result.detail ? { detail: result.detail } : {}),
          },
          steps,
        };
      case 'continue':
        steps.push({ authenticator: entry.id, result: 'continue', ms });
        return {
          decision: { allowed: false, reason: 'bad_authentication_method', chain: chain.name, authenticator: entry.id, detail: 'enhanced authentication is not available' },
          steps,
        };
    }
  }

  /** An exception or a timeout: logged, counted as no match, and the chain goes on. */
  private failed(entry: ChainEntry, trace: AuthnTrace, started: number, err: unknown): void {
    const { opts } = this;
    const timedOut = err instanceof AuthenticatorTimeout;
    const message = timedOut ? `no answer within ${opts.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
    opts.logger.warn(
      { chain: this.chain.name, authenticator: entry.id, clientid: this.credential.clientid, error: message },
      timedOut ? 'authenticator_timeout' : 'authenticator_error',
    );
    if (!opts.dryRun) entry.metrics.inc('nomatch');
    this.steps.push(withRequest({ authenticator: entry.id, result: timedOut ? 'timeout' : 'error', reason: timedOut ? 'timeout' : message, ms: elapsed(started) }, trace));
  }

  private end(): ChainRun {
    if (this.enabled === 0) {
      return { decision: { allowed: true, anonymous: true, isSuperuser: false, chain: this.chain.name }, steps: this.steps };
    }
    return {
      decision: { allowed: false, reason: 'not_authorized', chain: this.chain.name, detail: 'no authenticator recognised the client' },
      steps: this.steps,
    };
  }
}

/** The step, with the rendered request when explain traced one (no temporary objects: this runs per login). */
function withRequest(step: StepRecord, trace: AuthnTrace): StepRecord {
  if (trace.request !== undefined) step.request = trace.request;
  return step;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

/** The authenticator's answer, or AuthenticatorTimeout (and the abort signal fired) after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, abort: AuthenticatorCall): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      abort.abort();
      reject(new AuthenticatorTimeout());
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * The options of one authenticator call; its abort signal is made only if the authenticator reads it
 * (the built-in database does for bcrypt and pbkdf2, whose queued jobs a timeout removes):
 * most calls never need one, and an AbortController is costly next to a sha256 check.
 */
class AuthenticatorCall implements AuthenticateOptions {
  private controller: AbortController | undefined;
  private aborted = false;

  constructor(readonly trace: AuthnTrace | undefined) {}

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.aborted) this.controller.abort();
    return this.controller.signal;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}
