import type { BrokerSetup } from './types.js';

/** Gatehouse from HOCON (appended to the bench base config). Anonymous unless the HOCON adds a chain. */
export function gatehouse(label = 'gatehouse', hocon = ''): BrokerSetup {
  return { kind: 'gatehouse', label, hocon };
}

/** aedes 2.0.0-beta.1 with defaults: `Aedes.createBroker()` + `net.createServer({ noDelay: true }, aedes.handle)` (Gatehouse's socket default). */
export function bareAedes(label = 'aedes'): BrokerSetup {
  return { kind: 'aedes', label };
}
