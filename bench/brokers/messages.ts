import type { BrokerEndpoints, BrokerSample, BrokerSetup } from './types.js';

/** IPC between the runner and a broker child. */
export type ParentToBroker =
  | { type: 'start'; setup: BrokerSetup }
  | { type: 'sample'; id: number; gc: boolean }
  | { type: 'profile'; edge: 'start' | 'end'; file: string }
  | { type: 'stop' };

export type BrokerToParent =
  | { type: 'ready'; endpoints: BrokerEndpoints }
  | { type: 'sample'; id: number; sample: BrokerSample }
  | { type: 'profiled'; edge: 'start' | 'end' }
  | { type: 'stopped' }
  | { type: 'error'; message: string };
