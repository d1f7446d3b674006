import { bareAedes, gatehouse } from '../brokers/setups.js';
import type { Scenario } from '../harness/scenario.js';
import { connectRate } from '../workloads/connect-rate.js';
import { idleMemory } from '../workloads/idle-memory.js';
import { throughput } from '../workloads/throughput.js';

/** Issue 2 point 8: Gatehouse (anonymous, plain TCP) against bare aedes 2.0.0-beta.1. */

const baseline = bareAedes();
const candidate = gatehouse();

export const scenarios: Scenario[] = [
  {
    name: 'connect-rate',
    description: 'connect rate, Gatehouse (no authenticators) vs bare aedes',
    baseline,
    candidate,
    workload: connectRate(),
    target: { ratio: 0.9 },
  },
  {
    name: 'throughput-qos0',
    description: 'publish throughput QoS 0, Gatehouse vs bare aedes',
    baseline,
    candidate,
    workload: throughput({ qos: 0 }),
    target: { ratio: 0.9 },
  },
  {
    name: 'throughput-qos1',
    description: 'publish throughput QoS 1, Gatehouse vs bare aedes',
    baseline,
    candidate,
    workload: throughput({ qos: 1 }),
    target: { ratio: 0.9 },
  },
  {
    name: 'idle-memory',
    description: 'resident memory per idle connection, Gatehouse vs bare aedes',
    baseline,
    candidate,
    workload: idleMemory(),
    target: { ratio: 1.15 },
  },
];
