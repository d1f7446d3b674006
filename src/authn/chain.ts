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
 */
export async function runChain(chain: Chain, credential: ClientCredential, opts: RunOptions): Promise<ChainRun> {
  const steps: StepRecord[] = [];
  let enabled = 0;
  for (const entry of chain.entries) {
    if (!entry.enable) {
      if (opts.dryRun) steps.push({ authenticator: entry.id, result: 'disabled', ms: 0 });
      continue;
    }
    enabled++;
    if (!opts.dryRun) entry.metrics.inc('total');
    const trace: AuthnTrace = {};
    const started = performance.now();
    let result: AuthnResult;
    try {
      const abort = new LazyAbort(opts.dryRun ? trace : undefined);
      result = await withTimeout(entry.authenticator.authenticate(credential, abort), opts.timeoutMs, abort);
    } catch (err) {
      const timedOut = err instanceof AuthenticatorTimeout;
      const ms = elapsed(started);
      opts.logger.warn(
        { chain: chain.name, authenticator: entry.id, clientid: credential.clientid, error: timedOut ? `no answer within ${opts.timeoutMs} ms` : (err as Error).message },
        timedOut ? 'authenticator_timeout' : 'authenticator_error',
      );
      if (!opts.dryRun) entry.metrics.inc('nomatch');
      steps.push(withRequest({ authenticator: entry.id, result: timedOut ? 'timeout' : 'error', reason: timedOut ? 'timeout' : (err as Error).message, ms }, trace));
      continue;
    }
    const ms = elapsed(started);
    switch (result.outcome) {
      case 'ignore':
        if (!opts.dryRun) entry.metrics.inc('nomatch');
        steps.push(withRequest(result.detail ? { authenticator: entry.id, result: 'ignore', ms, reason: result.detail } : { authenticator: entry.id, result: 'ignore', ms }, trace));
        continue;
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
        // Enhanced authentication rounds (SCRAM) are driven by the MQTT front; not counted (§2.3).
        steps.push({ authenticator: entry.id, result: 'continue', ms });
        return {
          decision: { allowed: false, reason: 'bad_authentication_method', chain: chain.name, authenticator: entry.id, detail: 'enhanced authentication is not available' },
          steps,
        };
    }
  }
  if (enabled === 0) {
    return { decision: { allowed: true, anonymous: true, isSuperuser: false, chain: chain.name }, steps };
  }
  return {
    decision: { allowed: false, reason: 'not_authorized', chain: chain.name, detail: 'no authenticator recognised the client' },
    steps,
  };
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
function withTimeout<T>(promise: Promise<T>, ms: number, abort: LazyAbort): Promise<T> {
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
class LazyAbort implements AuthenticateOptions {
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
