import { resolve } from 'node:path';
import { BuiltInStore } from '../store/index.js';

/**
 * The options every command that works on a node's data offline takes (`users`, `psk`,
 * `acl`, `banned`): the node's configuration file, a data directory that overrides its
 * `node.data_dir`, and help.
 */
export const NODE_OPTIONS = {
  config: { type: 'string', default: process.env['GATEHOUSE_CONFIG'] ?? 'etc/gatehouse.conf' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** An error class whose instances are refused input, not a fault. */
type RefusalClass = abstract new (...args: never[]) => Error;

/**
 * Opens the node's store in `dataDir`, runs `work` with it and closes it. An error of one of
 * `refusals` (a bad argument, a duplicate, a rule past a bound) is printed as
 * `gatehouse: <message>` and gives exit code 1; any other error propagates.
 */
export async function withNodeStore(
  dataDir: string,
  err: NodeJS.WritableStream,
  refusals: readonly RefusalClass[],
  work: (store: BuiltInStore) => number | Promise<number>,
): Promise<number> {
  const store = BuiltInStore.open(resolve(dataDir));
  try {
    return await work(store);
  } catch (e) {
    if (refusals.some((refusal) => e instanceof refusal)) {
      err.write(`gatehouse: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  } finally {
    store.close();
  }
}
