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
}

/** candidate ÷ baseline must be at least (`higher` is better) or at most (`lower` is better) `ratio`. */
export interface Target {
  ratio: number;
}

/** Two broker setups compared on one workload. Files in bench/scenarios/ export `scenarios: Scenario[]`. */
export interface Scenario {
  name: string;
  description: string;
  baseline: BrokerSetup;
  candidate: BrokerSetup;
  workload: Workload;
  target?: Target;
}
