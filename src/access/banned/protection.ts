import type { Logger } from 'pino';
import type { GatehouseConfig } from '../../config/schema.js';
import type { Refusal } from '../connection.js';
import type { AccessObserver, AdmissionCheck, AdmissionRequest } from '../types.js';
import { rfc3339, type BannedEntry } from './entry.js';
import { FLAPPING_BANNED_BY, FlappingDetector } from './flapping.js';
import { BannedList, type BannedRecords } from './list.js';
import { LOGIN_FAILURES_BANNED_BY, LoginFailureTracker } from './login-failures.js';
import { flappingSettings, loginFailureSettings } from './settings.js';

export interface AccessProtectionOptions {
  records: BannedRecords;
  /** `flapping_detect`, `zones` and `authentication_settings.login_failures` are read from it. */
  config: Pick<GatehouseConfig, 'flapping_detect' | 'zones' | 'authentication_settings'>;
  logger?: Logger;
  /** Seconds since the epoch for the list (tests move time with it). */
  now?: () => number;
}

/**
 * The banned list, flapping detection and failed-login bans of one node, as the access
 * service uses them (emqx5-auth.md §1.1 steps 4–5, §13.4):
 *
 * - `checks`: the banned list first (an entry refuses: CONNACK 0x8A, 3.1.1 code 5, STOMP
 *   ERROR), then flapping detection, which counts each CONNECT that passed the banned check
 *   (EMQX 5.8.9 `count_flapping_event`) and never refuses by itself;
 * - `observer`: authentication failures feed the login-failure tracker;
 * - `explain`: which check would refuse a described client, without counting anything.
 *
 * The refusal's detail names the entry (`as`, `who`, `by`, `reason`, `until`), and for an
 * entry a detector made, the rule that made it (the zone's flapping window, the
 * login-failure count and window).
 */
export class AccessProtection {
  readonly banned: BannedList;
  readonly flapping: FlappingDetector;
  readonly loginFailures: LoginFailureTracker;
  readonly checks: readonly AdmissionCheck[];
  readonly observer: AccessObserver;

  constructor(options: AccessProtectionOptions) {
    const { logger } = options;
    this.banned = new BannedList({ records: options.records, ...(logger ? { logger } : {}), ...(options.now ? { now: options.now } : {}) });
    this.flapping = new FlappingDetector({ banned: this.banned, settings: flappingSettings(options.config), ...(logger ? { logger } : {}) });
    this.loginFailures = new LoginFailureTracker({ banned: this.banned, settings: loginFailureSettings(options.config), ...(logger ? { logger } : {}) });
    const banned = this.banned;
    const flapping = this.flapping;
    this.checks = [
      {
        name: 'banned',
        check: (request) => {
          const entry = banned.check(request);
          return entry === undefined ? undefined : this.refusal(entry, request);
        },
        explain: (request) => {
          const entry = banned.match(request);
          return entry === undefined ? undefined : this.refusal(entry, request);
        },
      },
      {
        name: 'flapping',
        check: (request) => {
          flapping.observe(request);
          return undefined;
        },
      },
    ];
    const tracker = this.loginFailures;
    this.observer = {
      authenticationFailed: (credential, refusal) => {
        if (!tracker.enabled) return;
        tracker.failed({ peerhost: credential.peerhost, username: credential.username, reason: refusal.reason, listener: credential.listener });
      },
    };
  }

  /** New `flapping_detect` / `zones` / `login_failures` settings (counts so far are dropped). */
  configure(config: AccessProtectionOptions['config']): void {
    this.flapping.configure(flappingSettings(config));
    this.loginFailures.configure(loginFailureSettings(config));
  }

  /** Starts the banned list's expiry timer and its poll for the CLI's changes. */
  start(options: { pollMs?: number } = {}): void {
    this.banned.start(options);
  }

  stop(): void {
    this.banned.stop();
  }

  /** The refusal of a banned client: the entry, and the rule that made it when a detector did. */
  private refusal(entry: BannedEntry, request: AdmissionRequest): Refusal {
    const until = entry.until === undefined ? 'infinity' : rfc3339(entry.until);
    let detail = `banned as ${entry.as} ${JSON.stringify(entry.who)} by ${JSON.stringify(entry.by)}: ${JSON.stringify(entry.reason)}, until ${until}`;
    if (entry.by === FLAPPING_BANNED_BY) {
      const p = this.flapping.policy(request.zone);
      detail += ` (flapping_detect of zone ${request.zone}: max_count ${p.maxCount} within window_time ${p.windowMs} ms, ban_time ${p.banSeconds} s)`;
    } else if (entry.by === LOGIN_FAILURES_BANNED_BY) {
      const s = this.loginFailures.settings;
      detail += ` (authentication_settings.login_failures: max_count ${s.maxCount} within window_time ${s.windowMs} ms, ban_time ${s.banSeconds} s)`;
    }
    return { reason: 'banned', detail };
  }
}
