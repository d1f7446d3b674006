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

export const scenarios: Scenario[] = [
  {
    name: 'retained-subscribe-literal',
    description: 'broker CPU per SUBSCRIBE of 10 literal filters, Gatehouse with 1 000 000 retained messages vs only the 10 matched',
    baseline: ghSmall,
    candidate: ghLarge,
    workload: retainedSubscribe({ filters: 'literal' }),
    target: { ratio: 2 },
  },
  {
    name: 'retained-subscribe-wildcard',
    description: 'broker CPU per SUBSCRIBE of site-0/dev-0/+, Gatehouse with 1 000 000 retained messages vs only the 10 matched',
    baseline: ghSmall,
    candidate: ghLarge,
    workload: retainedSubscribe({ filters: 'wildcard' }),
    target: { ratio: 2 },
  },
  {
    name: 'retained-subscribe-literal-aedes',
    description: 'the same 10 literal filters on bare aedes: 1 000 000 retained messages vs only the 10 matched (report only)',
    baseline: aedesSmall,
    candidate: aedesLarge,
    workload: {
      baseline: retainedSubscribe({ filters: 'literal' }),
      candidate: retainedSubscribe({ filters: 'literal', subscribes: 3, warmup: 1, clients: 1 }),
    },
  },
  {
    name: 'retained-subscribe-wildcard-aedes',
    description: 'site-0/dev-0/+ on bare aedes: 1 000 000 retained messages vs only the 10 matched (report only)',
    baseline: aedesSmall,
    candidate: aedesLarge,
    workload: {
      baseline: retainedSubscribe({ filters: 'wildcard' }),
      candidate: retainedSubscribe({ filters: 'wildcard', subscribes: 10, warmup: 1, clients: 1 }),
    },
  },
];
