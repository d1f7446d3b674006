import { isDeepStrictEqual } from 'node:util';
import type { GatehouseConfig } from '../config/schema.js';
import type { AppliedStep, ChangeHandler, ChangeStep } from '../node/changes.js';
import type { AuthnService, PreparedChain } from './service.js';

/** A chain as a configuration defines it. */
export interface ConfiguredChain {
  name: string;
  authenticators: ReadonlyArray<Record<string, unknown>>;
}

export interface ChainsHandlerOptions {
  authn: AuthnService;
  /** Every chain a configuration defines (global, per listener, per gateway). */
  chains(config: GatehouseConfig): ConfiguredChain[];
}

/**
 * The handler for authentication chains (`authentication`, a listener's and a gateway's
 * `authentication`). Every chain whose blocks changed is built first; only when all of them
 * could be built are they put in service, each at once (§2: new connections use it,
 * connected clients stay). The chains they replace are kept until the whole change has
 * succeeded, so undoing puts the very same authenticators back. Blocks from an API change
 * are created as the API's (bcrypt `salt_rounds` out of range refused), those of a reload as
 * a file's (clamped, as EMQX does).
 */
export function chainsHandler(opts: ChainsHandlerOptions): ChangeHandler {
  return {
    name: 'authentication',
    owns: (path) => path.includes('authentication'),
    async apply(step: ChangeStep): Promise<AppliedStep> {
      const before = byName(opts.chains(step.prev));
      const after = byName(opts.chains(step.next));
      const prepared: PreparedChain[] = [];
      try {
        for (const name of new Set([...before.keys(), ...after.keys()])) {
          const next = after.get(name) ?? [];
          if (isDeepStrictEqual(before.get(name) ?? [], next)) continue;
          prepared.push(await opts.authn.prepareChain(name, next, step.origin !== 'api'));
        }
      } catch (err) {
        await Promise.all(prepared.map((p) => opts.authn.discardChain(p)));
        throw err;
      }
      const replaced = prepared.map((p) => opts.authn.swapChain(p));
      return {
        async undo() {
          for (const old of replaced) await opts.authn.discardChain(opts.authn.swapChain(old));
        },
        async finish() {
          await Promise.all(replaced.map((old) => opts.authn.discardChain(old)));
        },
      };
    },
  };
}

function byName(chains: ConfiguredChain[]): Map<string, ReadonlyArray<Record<string, unknown>>> {
  return new Map(chains.map((c) => [c.name, c.authenticators]));
}
