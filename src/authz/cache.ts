import { coarseClock, type Clock } from '../metrics/clock.js';
import type { TopicRule } from './topic.js';
import type { AuthzClient, AuthzDecision, AuthzRequest } from './types.js';

/**
 * The per-client authorization cache (§8.7): decisions of the configured sources (and of
 * `no_match`) by (action, QoS, retain, topic), at most `max_size` per client, each for `ttl`.
 * When full, the whole cache is emptied if its newest entry has expired, otherwise the oldest
 * topic goes. Topics matching one of `excludes` are never cached.
 *
 * Beyond EMQX: `invalidate()` empties every client's cache at once (a generation counter,
 * each cache empties itself on its next use), `invalidate(clientid)` one client's,
 * `invalidateUsername` those of the clients logged in with that username, so a rule change
 * takes effect on the next publish instead of after the TTL.
 *
 * A hit costs a WeakMap lookup, a Map lookup by topic and a clock read; no allocation (the
 * coarse clock, not Date.now()).
 */

export interface CacheSettings {
  enable: boolean;
  maxSize: number;
  ttlMs: number;
  excludes: readonly TopicRule[];
}

/** Slots per topic: publish QoS 0..2 × retain false/true, then subscribe QoS 0..2. */
const SLOTS = 9;

function slotOf(request: AuthzRequest): number {
  return request.action === 'publish' ? request.qos * 2 + (request.retain ? 1 : 0) : 6 + request.qos;
}

class TopicEntry {
  readonly decisions: Array<AuthzDecision | undefined> = new Array<AuthzDecision | undefined>(SLOTS).fill(undefined);
  readonly stamps: number[] = new Array<number>(SLOTS).fill(0);
  filled = 0;
}

class ClientCache {
  readonly topics = new Map<string, TopicEntry>();
  size = 0;
  newest = 0;
  constructor(
    public generation: number,
    /** The client's username, for `invalidateUsername`. */
    readonly username: string | undefined,
  ) {}

  clear(): void {
    this.topics.clear();
    this.size = 0;
  }
}

/** One cached decision, for the client cache endpoint. */
export interface CachedDecision {
  access: { action: AuthzRequest['action']; qos: 0 | 1 | 2; retain: boolean };
  topic: string;
  result: AuthzDecision['result'];
  updated_time: number;
}

const NO_EXCLUDES: readonly TopicRule[] = [];

export class DecisionCache {
  private generation = 0;
  private readonly caches = new WeakMap<AuthzClient, ClientCache>();
  /** For invalidate(clientid): the caches of live clients by id, dropped when collected. */
  private readonly byClientid = new Map<string, WeakRef<ClientCache>>();
  private readonly collected = new FinalizationRegistry<string>((clientid) => {
    const ref = this.byClientid.get(clientid);
    if (ref && ref.deref() === undefined) this.byClientid.delete(clientid);
  });
  private settings: CacheSettings = { enable: false, maxSize: 32, ttlMs: 60_000, excludes: NO_EXCLUDES };

  constructor(private readonly clock: Clock = coarseClock) {}

  configure(settings: CacheSettings): void {
    this.settings = settings;
    this.invalidate();
  }

  get enabled(): boolean {
    return this.settings.enable;
  }

  /** Is `topic` one the cache never keeps (`cache.excludes`)? */
  excluded(topic: string, client: AuthzClient): boolean {
    const excludes = this.settings.excludes;
    for (let i = 0; i < excludes.length; i++) if (excludes[i]!.matches(topic, client)) return true;
    return false;
  }

  get(client: AuthzClient, request: AuthzRequest): AuthzDecision | undefined {
    const cache = this.caches.get(client);
    if (cache === undefined) return undefined;
    if (cache.generation !== this.generation) {
      cache.clear();
      cache.generation = this.generation;
      return undefined;
    }
    const entry = cache.topics.get(request.topic);
    if (entry === undefined) return undefined;
    const slot = slotOf(request);
    const decision = entry.decisions[slot];
    if (decision === undefined) return undefined;
    if (this.clock.now - entry.stamps[slot]! > this.settings.ttlMs) {
      entry.decisions[slot] = undefined;
      entry.filled--;
      cache.size--;
      if (entry.filled === 0) cache.topics.delete(request.topic);
      return undefined;
    }
    return decision;
  }

  put(client: AuthzClient, request: AuthzRequest, decision: AuthzDecision): void {
    const now = this.clock.now;
    let cache = this.caches.get(client);
    if (cache === undefined) {
      cache = new ClientCache(this.generation, client.username);
      this.caches.set(client, cache);
      this.byClientid.set(client.clientid, new WeakRef(cache));
      this.collected.register(cache, client.clientid);
    } else if (cache.generation !== this.generation) {
      cache.clear();
      cache.generation = this.generation;
    }
    const { maxSize, ttlMs } = this.settings;
    if (cache.size >= maxSize) {
      if (now - cache.newest > ttlMs) cache.clear();
      else {
        for (const [topic, oldest] of cache.topics) {
          if (cache.size < maxSize) break;
          cache.topics.delete(topic);
          cache.size -= oldest.filled;
        }
      }
    }
    let entry = cache.topics.get(request.topic);
    if (entry === undefined) {
      entry = new TopicEntry();
      cache.topics.set(request.topic, entry);
    }
    const slot = slotOf(request);
    if (entry.decisions[slot] === undefined) {
      entry.filled++;
      cache.size++;
    }
    entry.decisions[slot] = decision;
    entry.stamps[slot] = now;
    cache.newest = now;
  }

  /** Every client's cache (no clientid) or one client's: its decisions go at once. */
  invalidate(clientid?: string): void {
    if (clientid === undefined) {
      this.generation++;
      return;
    }
    this.byClientid.get(clientid)?.deref()?.clear();
  }

  /**
   * The caches of the live clients logged in as `username` (a built-in database username
   * record changed). Goes through every live client's cache: a rule change, not a hot path.
   */
  invalidateUsername(username: string): void {
    for (const ref of this.byClientid.values()) {
      const cache = ref.deref();
      if (cache !== undefined && cache.username === username) cache.clear();
    }
  }

  /** A connected client's cached decisions (GET /clients/{clientid}/authorization/cache). */
  list(clientid: string): CachedDecision[] | undefined {
    const now = this.clock.now;
    const cache = this.byClientid.get(clientid)?.deref();
    if (cache === undefined) return undefined;
    if (cache.generation !== this.generation) return [];
    const out: CachedDecision[] = [];
    for (const [topic, entry] of cache.topics) {
      for (let slot = 0; slot < SLOTS; slot++) {
        const decision = entry.decisions[slot];
        if (decision === undefined || now - entry.stamps[slot]! > this.settings.ttlMs) continue;
        const access =
          slot < 6
            ? { action: 'publish' as const, qos: (slot >> 1) as 0 | 1 | 2, retain: (slot & 1) === 1 }
            : { action: 'subscribe' as const, qos: (slot - 6) as 0 | 1 | 2, retain: false };
        out.push({ access, topic, result: decision.result, updated_time: entry.stamps[slot]! });
      }
    }
    return out;
  }
}
