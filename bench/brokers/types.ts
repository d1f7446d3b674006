import type { Endpoint } from '../wire/client.js';

/**
 * A broker configuration under test. It crosses a process boundary (the broker
 * runs in its own child), so it is plain data: a kind the child knows how to
 * start, plus that kind's settings.
 */
export type BrokerSetup =
  | {
      kind: 'gatehouse';
      label: string;
      /** HOCON appended after the bench's base config (data dir, silent log, tcp:default on 127.0.0.1:0). */
      hocon: string;
    }
  | {
      kind: 'aedes';
      label: string;
    };

export type BrokerKind = BrokerSetup['kind'];

/** A broker started inside the broker child. */
export interface RunningBroker {
  endpoint: Endpoint;
  close(): Promise<void>;
}

/** What the broker child reports when asked. */
export interface BrokerSample {
  rssBytes: number;
  heapUsedBytes: number;
  /** user + system CPU of the broker process since it started, in microseconds. */
  cpuMicros: number;
  /** performance.timeOrigin-based wall clock of the sample, in ms. */
  atMs: number;
}
