import { Readable } from 'node:stream';
import type { AedesPublishPacket } from 'aedes';
import MemoryPersistence from 'aedes-persistence/asyncPersistence.js';
import { RetainedIndex } from './retained.js';

/**
 * Gatehouse's persistence for aedes: aedes-persistence's in-memory store (sessions,
 * subscriptions, QoS queues and wills unchanged) with retained messages kept in a
 * topic-level index (`retained.ts`) instead of one flat map that every SUBSCRIBE
 * scanned in full. aedes 2.0.0-beta.1 touches retained messages through exactly three
 * methods, all overridden here: `storeRetained` (a retained PUBLISH, and the removal
 * of an expired one while replaying), `createRetainedStreamCombi` (replay on SUBSCRIBE)
 * and `createRetainedStream` (the single-filter form of the persistence contract).
 *
 * Towards a shared (clustered) persistence: the index is the read side, kept in each
 * node's memory. A shared store (Redis, SQL) stays the source of truth and holds retained
 * messages by topic; every node applies each retained write to its own index as it is
 * broadcast between nodes (aedes already relays publishes over its mqemitter; the
 * persistence subscribes to them as aedes-persistence-redis does for subscriptions),
 * and fills the index from the store once at `setup`. A SUBSCRIBE then never queries
 * the shared store. The alternative, matching inside the store, needs a level-aware
 * query there (one key per topic prefix, or a levels array with an index) to avoid the
 * same full scan on another machine.
 */

export type RetainedPacket = AedesPublishPacket;

export class GatehousePersistence extends MemoryPersistence {
  /** Retained messages by topic; exposed read-only for inspection and tests. */
  readonly retained = new RetainedIndex<RetainedPacket>();

  /**
   * A retained PUBLISH replaces the topic's message; one with an empty payload
   * removes it and is not itself retained [MQTT-3.3.1-6, MQTT-3.3.1-7].
   */
  override async storeRetained(packet: AedesPublishPacket): Promise<void> {
    if (packet.payload.length === 0) this.retained.delete(packet.topic);
    // A copy, as aedes-persistence keeps one: aedes goes on using its packet.
    else this.retained.set(packet.topic, { ...packet });
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.retained.match(pattern));
  }

  /** One pass per filter, as aedes-persistence does: a message matched by two filters is sent for each. */
  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(matchEach(this.retained, patterns));
  }

  override async destroy(): Promise<void> {
    this.retained.clear();
    await super.destroy();
  }
}

function* matchEach(index: RetainedIndex<RetainedPacket>, patterns: string[]): Generator<RetainedPacket, void, undefined> {
  for (const pattern of patterns) yield* index.match(pattern);
}
