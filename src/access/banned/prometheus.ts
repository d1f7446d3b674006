import { Counter, type Registry } from 'prom-client';

/**
 * Where the admission protections' counters come from, read at each scrape. Each is
 * optional, so the series of a part not wired yet are simply absent.
 */
export interface ProtectionCounters {
  /** BannedList.refusals(): refusals by the kind of the entry that matched. */
  bannedRefusals?: () => Record<string, number>;
  /** FlappingDetector.bans(). */
  flappingBans?: () => number;
  /** LoginFailureTracker.bans(): bans by rule (peerhost, username). */
  loginFailureBans?: () => Record<string, number>;
  /** hashConcurrencyStats().refused: logins refused server_busy, by the queue bound they met (source, total). */
  hashQueueRefusals?: () => Record<string, number>;
}

/**
 * The protections' series in a node's Prometheus registry (ApiMetrics calls this with its
 * registry):
 * - `gatehouse_banned_refusals_total{as}`: connections refused by the banned list (CONNACK 0x8A);
 * - `gatehouse_flapping_bans_total`: client ids banned by flapping detection;
 * - `gatehouse_login_failure_bans_total{as}`: addresses and usernames banned for repeated login failures;
 * - `gatehouse_hash_queue_refusals_total{bound}`: logins refused server_busy (0x89) at once, `address`
 *   when the client's address had its share of the hashing queue waiting (throttled), `total` when
 *   the whole queue was full (busy).
 */
export function registerProtectionMetrics(registry: Registry, counters: ProtectionCounters): void {
  const registers = [registry];
  const labelled = (name: string, help: string, label: string, read: (() => Record<string, number>) | undefined, rename: (key: string) => string = (k) => k) => {
    if (!read) return;
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read())) this.inc({ [label]: rename(key) }, value);
      },
    });
  };
  labelled('gatehouse_banned_refusals_total', 'connections refused by the banned list, by the kind of the matching entry', 'as', counters.bannedRefusals);
  labelled('gatehouse_login_failure_bans_total', 'bans made for repeated authentication failures, by what was banned', 'as', counters.loginFailureBans);
  labelled(
    'gatehouse_hash_queue_refusals_total',
    'logins refused server_busy without hashing: address = the address had its share of the queue waiting (throttled), total = the queue was full (busy)',
    'bound',
    counters.hashQueueRefusals,
    (bound) => (bound === 'source' ? 'address' : bound),
  );
  const flapping = counters.flappingBans;
  if (flapping) {
    new Counter({
      name: 'gatehouse_flapping_bans_total',
      help: 'client ids banned by flapping detection (flapping_detect)',
      registers,
      collect() {
        this.reset();
        this.inc(flapping());
      },
    });
  }
}
