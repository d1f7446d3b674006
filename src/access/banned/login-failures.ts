import type { Logger } from 'pino';
import type { BannedEntry } from './entry.js';
import type { BannedList } from './list.js';
import { WindowCounter } from './window-counter.js';

/**
 * Failed-login bans (a Gatehouse addition; `authentication_settings.login_failures`):
 * `maxCount` authentication failures from one address, or for one username, within
 * `windowMs` ban that address (`peerhost`) or that username (`username`) for `banSeconds`,
 * reason `login_failures`. `maxCount` 0 turns it off.
 *
 * Only failures that are the client's doing count: a wrong secret or an unknown user
 * (`bad_username_or_password`, `not_authorized`). A refusal because the node is busy or a
 * backend is down, or because the client was already banned, does not.
 *
 * Trade-off to know: a username ban shuts out the real owner of the name too (someone who
 * guesses at it can lock it), and an address ban every device behind that address (NAT).
 */
export interface LoginFailureSettings {
  maxCount: number;
  windowMs: number;
  banSeconds: number;
}

/** One refused authentication. */
export interface LoginFailure {
  peerhost: string;
  username?: string | undefined;
  /** EMQX's error atom (§1.2); undefined counts. */
  reason?: string | undefined;
  listener?: string | undefined;
}

export type LoginFailureRule = 'peerhost' | 'username';

export const LOGIN_FAILURES_REASON = 'login_failures';
export const LOGIN_FAILURES_BANNED_BY = 'login failure tracker';
const COUNTED_REASONS = new Set(['bad_username_or_password', 'not_authorized']);

export class LoginFailureTracker {
  readonly #banned: Pick<BannedList, 'add'>;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #settings!: LoginFailureSettings;
  #byHost!: WindowCounter;
  #byUsername!: WindowCounter;
  readonly #bans: Record<LoginFailureRule, number> = { peerhost: 0, username: 0 };

  constructor(options: { banned: Pick<BannedList, 'add'>; settings: LoginFailureSettings; logger?: Logger; now?: () => number }) {
    this.#banned = options.banned;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.configure(options.settings);
  }

  /** New settings; counts so far are dropped. */
  configure(settings: LoginFailureSettings): void {
    this.#settings = settings;
    this.#byHost = new WindowCounter(settings.windowMs);
    this.#byUsername = new WindowCounter(settings.windowMs);
  }

  get settings(): Readonly<LoginFailureSettings> {
    return this.#settings;
  }

  get enabled(): boolean {
    return this.#settings.maxCount > 0;
  }

  /** Bans made so far, by rule. */
  bans(): Record<LoginFailureRule, number> {
    return { ...this.#bans };
  }

  /** Counts one failure; returns the bans it caused (none, or the address's and/or the username's). */
  failed(failure: LoginFailure): BannedEntry[] {
    if (!this.enabled) return [];
    if (failure.reason !== undefined && !COUNTED_REASONS.has(failure.reason)) return [];
    const nowMs = this.#now();
    const made: BannedEntry[] = [];
    const count = (rule: LoginFailureRule, counter: WindowCounter, who: string) => {
      const n = counter.hit(who, nowMs);
      if (n < this.#settings.maxCount) return;
      counter.reset(who);
      const entry = this.#ban(rule, who, nowMs, n, failure);
      if (entry) made.push(entry);
    };
    if (failure.peerhost) count('peerhost', this.#byHost, failure.peerhost);
    if (failure.username) count('username', this.#byUsername, failure.username);
    return made;
  }

  #ban(rule: LoginFailureRule, who: string, nowMs: number, count: number, failure: LoginFailure): BannedEntry | undefined {
    const at = Math.floor(nowMs / 1000);
    let result: ReturnType<BannedList['add']>;
    try {
      result = this.#banned.add(
        { as: rule, who, reason: LOGIN_FAILURES_REASON, at, until: at + Math.max(1, this.#settings.banSeconds) },
        { by: LOGIN_FAILURES_BANNED_BY },
      );
    } catch (err) {
      // Not an address a ban can name (a gateway's peer without one), or the store failed.
      this.#logger?.error({ as: rule, who, error: (err as Error).message }, 'repeated login failures: ban not made');
      return undefined;
    }
    if (!result.added) return undefined;
    this.#bans[rule]++;
    this.#logger?.warn(
      { as: rule, who, count, window_ms: this.#settings.windowMs, ban_seconds: this.#settings.banSeconds, listener: failure.listener },
      'repeated login failures: banned',
    );
    return result.entry;
  }
}
