import type { Logger } from 'pino';
import type { BannedEntry } from './entry.js';
import type { BannedList } from './list.js';
import { WindowCounter } from './window-counter.js';

/**
 * Flapping detection (emqx5-auth.md §13.4; EMQX 5.8.9 `emqx_flapping`, config
 * `flapping_detect`): a client id seen `maxCount` times within `windowMs` is banned by client
 * id for `banSeconds`, reason "flapping is detected", by "flapping detector". The ban refuses
 * the client's next attempt; the attempt that tripped it goes on.
 *
 * EMQX 5.8.9 counts each CONNECT that passed the banned check (`count_flapping_event` right
 * after `check_banned`, before authentication). Feed `observe` the same way: as the admission
 * step after the banned check. It never refuses by itself.
 */
export interface FlappingPolicy {
  enable: boolean;
  windowMs: number;
  maxCount: number;
  banSeconds: number;
}

/** The global policy and each zone's (a listener's `zone`; zones not listed use the global one). */
export interface FlappingSettings {
  global: FlappingPolicy;
  zones?: Record<string, FlappingPolicy>;
}

/** One connection attempt of a client. */
export interface ClientAttempt {
  clientid: string;
  peerhost: string;
  listener: string;
  /** The listener's zone; undefined or unknown: the global policy. */
  zone?: string | undefined;
}

export const FLAPPING_BANNED_BY = 'flapping detector';
export const FLAPPING_REASON = 'flapping is detected';

interface Zone {
  policy: FlappingPolicy;
  counter: WindowCounter;
}

export class FlappingDetector {
  readonly #banned: Pick<BannedList, 'add'>;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #global!: Zone;
  #zones = new Map<string, Zone>();
  #bans = 0;

  constructor(options: { banned: Pick<BannedList, 'add'>; settings: FlappingSettings; logger?: Logger; now?: () => number }) {
    this.#banned = options.banned;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.configure(options.settings);
  }

  /** New policies; counts so far are dropped. */
  configure(settings: FlappingSettings): void {
    const zone = (policy: FlappingPolicy): Zone => ({ policy, counter: new WindowCounter(policy.windowMs) });
    this.#global = zone(settings.global);
    this.#zones = new Map(Object.entries(settings.zones ?? {}).map(([name, policy]) => [name, zone(policy)]));
  }

  /** The policy for clients of a listener in `zone` (a zone without its own block: the global one). */
  policy(zone?: string): FlappingPolicy {
    return ((zone !== undefined ? this.#zones.get(zone) : undefined) ?? this.#global).policy;
  }

  /** Bans made so far. */
  bans(): number {
    return this.#bans;
  }

  /** Counts one attempt; returns the ban it caused, if any. */
  observe(attempt: ClientAttempt): BannedEntry | undefined {
    const zone = (attempt.zone !== undefined ? this.#zones.get(attempt.zone) : undefined) ?? this.#global;
    const { policy, counter } = zone;
    if (!policy.enable || attempt.clientid === '') return undefined;
    const nowMs = this.#now();
    const count = counter.hit(attempt.clientid, nowMs);
    if (count < policy.maxCount) return undefined;
    counter.reset(attempt.clientid);
    const at = Math.floor(nowMs / 1000);
    const result = this.#banned.add(
      { as: 'clientid', who: attempt.clientid, reason: FLAPPING_REASON, at, until: at + Math.max(1, policy.banSeconds) },
      { by: FLAPPING_BANNED_BY },
    );
    if (!result.added) return undefined;
    this.#bans++;
    this.#logger?.warn(
      {
        clientid: attempt.clientid,
        peerhost: attempt.peerhost,
        listener: attempt.listener,
        count,
        window_ms: policy.windowMs,
        ban_seconds: policy.banSeconds,
      },
      'flapping detected: client id banned',
    );
    return result.entry;
  }
}
