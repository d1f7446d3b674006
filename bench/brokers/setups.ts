import type { BrokerSetup, RetainedSeed, UserSeed } from './types.js';
import type { BannedSeed } from './banned-seed.js';

export interface GatehouseSetupOptions {
  /** MQTT listener the load uses (default `tcp:default`). */
  listener?: string;
  /** TEST-ONLY P-256 certificates in `<data dir>/certs` (server.pem, server-key.pem, ca.pem…) before start. */
  devCertificates?: boolean;
  /** `user-<i>` / `pass-<i>` created in the chain's built-in database before the run. */
  seed?: UserSeed;
  /** Retained messages stored through the broker's persistence before the run. */
  retained?: RetainedSeed;
  /** Banned entries added before the run (`brokers/banned-seed.ts`). */
  banned?: BannedSeed;
}

/** Gatehouse from HOCON (appended to the bench base config). Anonymous unless the HOCON adds a chain. */
export function gatehouse(label = 'gatehouse', hocon = '', opts: GatehouseSetupOptions = {}): BrokerSetup {
  return { kind: 'gatehouse', label, hocon, ...opts };
}

/** aedes 2.0.0-beta.1 with defaults: `Aedes.createBroker()` + `net.createServer({ noDelay: true }, aedes.handle)` (Gatehouse's socket default). */
export function bareAedes(label = 'aedes', opts: { retained?: RetainedSeed } = {}): BrokerSetup {
  return { kind: 'aedes', label, ...opts };
}

/** aedes behind `tls.createServer({ key, cert, noDelay: true }, aedes.handle)`, with the same P-256 development certificates. */
export function tlsAedes(label = 'aedes-tls'): BrokerSetup {
  return { kind: 'aedes', label, transport: 'tls' };
}
