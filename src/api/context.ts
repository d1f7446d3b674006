import type { GatehouseNode } from '../node/node.js';
import type { ApiAccess } from './access.js';
import type { ApiMetrics } from './prometheus.js';

/** What every resource plugin gets: the node (its live configuration and `apply`), access control and metrics. */
export interface ApiContext {
  node: GatehouseNode;
  access: ApiAccess;
  metrics: ApiMetrics;
}

/** The options of a resource plugin. */
export interface ResourceOptions {
  ctx: ApiContext;
}
