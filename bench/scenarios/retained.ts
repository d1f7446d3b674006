import { bareAedes, gatehouse } from '../brokers/setups.js';
import type { Scenario } from '../harness/scenario.js';
import { retainedSubscribe } from '../workloads/retained-subscribe.js';

/**
 * Issue 12 point 6/4: what a SUBSCRIBE costs when the store holds 1 000 000 retained
 * messages, against the same broker whose store holds only the ten messages the filters
 * match (so both sides send the same ten messages back and the ratio is the store's size
 * alone). Seeded in-process through each broker's persistence (`storeRetained`), laid out
 * as 1 000 sites × 100 devices × 10 metrics (bench/brokers/retained-seed.ts).
 *
 * Bare aedes scans every retained topic once per filter of a SUBSCRIBE (about 0.66 s per
 * filter at 1 000 000 here), so its 1 000 000 side measures a few SUBSCRIBEs only:
 * per-side workloads with the same unit. Its scenarios have no target; they show where
 * Gatehouse started from.
 */

const MESSAGES = 1_000_000;
const small = { retained: { messages: 10 } };
const large = { retained: { messages: MESSAGES } };

const ghSmall = gatehouse('gh-10', '', small);
const ghLarge = gatehouse('gh-1M', '', large);
const aedesSmall = bareAedes('aedes-10', small);
const aedesLarge = bareAedes('aedes-1M', large);

type Filters = 'literal' | 'wildcard';
const FILTERS_SAID: Record<Filters, string> = { literal: '10 literal filters', wildcard: 'site-0/dev-0/+' };

/** Gatehouse: 1 000 000 retained against the 10 matched, at most 2× the CPU per SUBSCRIBE. */
function onGatehouse(filters: Filters): Scenario {
  return {
    name: `retained-subscribe-${filters}`,
    description: `broker CPU per SUBSCRIBE of ${FILTERS_SAID[filters]}, Gatehouse with 1 000 000 retained messages vs only the 10 matched`,
    baseline: ghSmall,
    candidate: ghLarge,
    workload: retainedSubscribe({ filters }),
    target: { ratio: 2 },
  };
}

/** Bare aedes, report only: `subscribes` SUBSCRIBEs from one client on the 1 000 000 side (each takes seconds). */
function onAedes(filters: Filters, subscribes: number): Scenario {
  return {
    name: `retained-subscribe-${filters}-aedes`,
    description: `${FILTERS_SAID[filters]} on bare aedes: 1 000 000 retained messages vs only the 10 matched (report only)`,
    baseline: aedesSmall,
    candidate: aedesLarge,
    workload: {
      baseline: retainedSubscribe({ filters }),
      candidate: retainedSubscribe({ filters, subscribes, warmup: 1, clients: 1 }),
    },
  };
}

export const scenarios: Scenario[] = [onGatehouse('literal'), onGatehouse('wildcard'), onAedes('literal', 3), onAedes('wildcard', 10)];
