import type { GatehouseNode } from '../node.js';
import type { ApiAccess } from './access.js';
import type { ConfigState } from './state.js';
import type { ApiMetrics } from './metrics.js';

/** What every resource plugin gets: the node, its live configuration, access control and metrics. */
export interface ApiContext {
  node: GatehouseNode;
  state: ConfigState;
  access: ApiAccess;
  metrics: ApiMetrics;
}
