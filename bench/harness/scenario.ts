import type { BrokerSetup } from '../brokers/types.js';
import type { BrokerUnderTest } from '../brokers/process.js';

/** Settings every workload sees for one run of the bench. */
export interface RunContext {
  /** Smoke run: small sizes, short windows. */
  quick: boolean;
  /** Most simultaneous client connections one load process may open (from the open-files limit). */
  maxConnections: number;
  log(line: string): void;
}

/** One measurement of one broker. */
export interface Sample {
  value: number;
  /** CPU of the load generator process(es) over the measured window, % of one core. */
  loadCpuPercent: number;
  /** CPU of the broker process over the measured window, % of one core (NaN when not meaningful). */
  brokerCpuPercent: number;
  /** Workload-specific figures (latencies, counts), reported but not compared. */
  details: Record<string, number>;
}

/** What to measure against a running broker; knows nothing about which broker it is. */
export interface Workload {
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  /** One line stating the sizes used in this context (for the report). */
  describe(ctx: RunContext): string;
  run(broker: BrokerUnderTest, ctx: RunContext): Promise<Sample>;
  /** Optional one-line digest of a sample's details, printed after each round. */
  summarize?(sample: Sample): string;
}

/** candidate ÷ baseline must be at least (`higher` is better) or at most (`lower` is better) `ratio`. */
export interface Target {
  ratio: number;
}

/** The measured median itself must be at least (`higher` is better) or at most (`lower` is better) `value`, in the workload's unit. */
export interface AbsoluteTarget {
  value: number;
}

/**
 * Two broker setups compared on one workload, or on one workload per side
 * (same metric and unit), e.g. MQTT→MQTT against STOMP→MQTT on the same broker.
 */
export interface ComparisonScenario {
  name: string;
  description: string;
  baseline: BrokerSetup;
  candidate: BrokerSetup;
  workload: Workload | { baseline: Workload; candidate: Workload };
  target?: Target;
}

/** One broker setup measured on its own, against an absolute target (or none: report only). */
export interface StandaloneScenario {
  name: string;
  description: string;
  setup: BrokerSetup;
  workload: Workload;
  target?: AbsoluteTarget;
}

/** Files in bench/scenarios/ export `scenarios: Scenario[]`. */
export type Scenario = ComparisonScenario | StandaloneScenario;

/** One thing the runner measures each round: a setup under a workload. */
export interface Side {
  role: 'baseline' | 'candidate';
  setup: BrokerSetup;
  workload: Workload;
}

export function isStandalone(s: Scenario): s is StandaloneScenario {
  return 'setup' in s;
}

/** The sides of a scenario, baseline first (a standalone scenario has only a candidate). */
export function sidesOf(s: Scenario): Side[] {
  if (isStandalone(s)) return [{ role: 'candidate', setup: s.setup, workload: s.workload }];
  const pair = 'run' in s.workload ? { baseline: s.workload, candidate: s.workload } : s.workload;
  return [
    { role: 'baseline', setup: s.baseline, workload: pair.baseline },
    { role: 'candidate', setup: s.candidate, workload: pair.candidate },
  ];
}

/** The workload that names the scenario's metric, unit and direction (the candidate's). */
export function primaryWorkload(s: Scenario): Workload {
  return sidesOf(s).at(-1)!.workload;
}

/** The sizes line of a scenario: one workload, or one per side when they differ. */
export function describeScenario(s: Scenario, ctx: RunContext): string {
  const sides = sidesOf(s);
  if (sides.length === 1 || sides[0]!.workload === sides[1]!.workload) return sides[0]!.workload.describe(ctx);
  return sides.map((side) => `${side.setup.label}: ${side.workload.describe(ctx)}`).join('\n   ');
}
