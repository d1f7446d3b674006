/**
 * Types for the one aedes-persistence (10.3.1) entry Gatehouse imports: the in-memory
 * persistence with the promise API that aedes 2.0.0-beta.1 calls (`persistence.ts`
 * extends it). Only the members Gatehouse overrides or calls are declared; the package's
 * own `types/` describe its callback wrapper, not this class's entry point.
 */
declare module 'aedes-persistence/asyncPersistence.js' {
  import type { Readable } from 'node:stream';
  import type { AedesPublishPacket } from 'aedes';

  class MemoryPersistence {
    constructor(opts?: { broadcastSubscriptions?: boolean });
    /** aedes checks that this is an `async` function (its constructor's name). */
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: AedesPublishPacket): Promise<void>;
    createRetainedStream(pattern: string): Readable;
    createRetainedStreamCombi(patterns: string[]): Readable;
    /** A persistent session's subscriptions, by filter (a revoked subscription, broker.ts). */
    removeSubscriptions(client: { id: string }, topics: string[]): Promise<void>;
    destroy(): Promise<void>;
  }
  export = MemoryPersistence;
}
