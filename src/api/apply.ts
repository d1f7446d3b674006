import { ConfigError } from '../config/load.js';
import { updateSubtree, type ChangeResult, type SubtreeChange } from '../node/changes.js';
import type { GatehouseNode } from '../node/node.js';
import { configRejected } from './errors.js';

/**
 * Applies a change of the subtree at `path` through the node (validated, made live,
 * persisted; refused as a whole). A configuration that fails validation answers 400 naming
 * the fields as the request sent them: relative to the subtree unless `field` says otherwise.
 */
export async function applyAt(
  node: GatehouseNode,
  path: readonly string[],
  to: SubtreeChange['to'],
  field: (problemPath: string) => string = relativeTo(path),
): Promise<ChangeResult> {
  try {
    return await node.apply(updateSubtree(path, to));
  } catch (err) {
    if (err instanceof ConfigError) throw configRejected(err, field);
    throw err;
  }
}

/** `listeners.tcp.x.bind` → `bind` for a change made at `listeners.tcp.x`. */
export function relativeTo(path: readonly string[]): (problemPath: string) => string {
  const prefix = path.join('.') + '.';
  return (p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p);
}
