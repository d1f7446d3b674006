import type { Endpoint } from '../wire/client.js';
import type { BannedSeed } from './banned-seed.js';

/** Users the broker child creates before it reports ready: `user-<i>` / `pass-<i>` for i in 0..users−1. */
export interface UserSeed {
  /** Chain whose first authenticator (a built_in_database one) receives them, e.g. `mqtt:global`. */
  chain: string;
  users: number;
}

/**
 * Retained messages the broker child stores before it reports ready, straight into the
 * broker's own persistence (`storeRetained`, the call a retained PUBLISH ends in), laid
 * out by `retainedTopic` (bench/brokers/retained-seed.ts).
 */
export interface RetainedSeed {
  messages: number;
}

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
      /**
       * MQTT listener the load generators use (default `tcp:default`). The endpoint says TLS for
       * ssl listeners and a PROXY header when the listener has `proxy_protocol = true`.
       */
      listener?: string;
      /** Generate the TEST-ONLY P-256 development certificates into `<data dir>/certs` first (HOCON refers to `certs/server.pem`…). */
      devCertificates?: boolean;
      seed?: UserSeed;
      retained?: RetainedSeed;
      /** Banned entries (a mix of every kind, none naming the bench's clients) added before the run. */
      banned?: BannedSeed;
    }
  | {
      kind: 'aedes';
      label: string;
      /** `tls`: `tls.createServer({ key, cert }, aedes.handle)` with freshly generated development certificates. */
      transport?: 'tcp' | 'tls';
      retained?: RetainedSeed;
    };

export type BrokerKind = BrokerSetup['kind'];

/** Where each protocol of a running broker is reached. */
export interface BrokerEndpoints {
  mqtt: Endpoint;
  /** Present when the broker runs a STOMP listener. */
  stomp?: Endpoint;
}

/** A broker started inside the broker child. */
export interface RunningBroker {
  endpoints: BrokerEndpoints;
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
