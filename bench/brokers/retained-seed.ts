import type { AedesPublishPacket } from 'aedes';
import type { RetainedSeed } from './types.js';

/**
 * The retained-message layout of the `retained-subscribe-*` scenarios: message i lives on
 * `site-<i / 1000>/dev-<(i / 10) % 100>/m<i % 10>`, so 1 000 000 messages are 1 000 sites
 * of 100 devices of 10 metrics, and device `site-0/dev-0` always holds messages 0–9
 * (the ten the workload's filters match, whatever the store's size).
 */
export function retainedTopic(i: number): string {
  return `site-${Math.floor(i / 1000)}/dev-${Math.floor(i / 10) % 100}/m${i % 10}`;
}

/** Ten literal filters (one SUBSCRIBE) and one wildcard filter, each matching the ten messages of `site-0/dev-0`. */
export const RETAINED_FILTERS = {
  literal: Array.from({ length: 10 }, (_, i) => retainedTopic(i)),
  wildcard: ['site-0/dev-0/+'],
} as const;

/** The one persistence call seeding needs; aedes's default memory persistence and Gatehouse's both have it. */
export interface RetainedStore {
  storeRetained(packet: AedesPublishPacket): Promise<void>;
}

/** Stores `seed.messages` retained messages (one shared 16-byte payload) as a retained PUBLISH would. */
export async function seedRetained(store: RetainedStore, seed: RetainedSeed, brokerId: string): Promise<void> {
  const payload = Buffer.from('retained-payload');
  for (let i = 0; i < seed.messages; i++) {
    await store.storeRetained({ cmd: 'publish', topic: retainedTopic(i), payload, qos: 0, retain: true, dup: false, brokerId, brokerCounter: i + 1 });
  }
}

/** aedes's persistence, which its type declarations leave out of the instance. */
export function persistenceOf(aedes: { id: string }): RetainedStore {
  return (aedes as unknown as { persistence: RetainedStore }).persistence;
}
