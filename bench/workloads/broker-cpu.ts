import type { BrokerUnderTest } from '../brokers/process.js';
import type { BrokerSample } from '../brokers/types.js';

/** Samples the broker's CPU (and profiles it, when asked) between the load generator's `start` and `end` marks. */
export class BrokerCpuWindow {
  private first: BrokerSample | undefined;
  private last: BrokerSample | undefined;

  constructor(private readonly broker: BrokerUnderTest) {}

  readonly onMark = async (name: string): Promise<void> => {
    if (name === 'start') {
      await this.broker.window('start');
      this.first = await this.broker.sample();
    }
    if (name === 'end') {
      this.last = await this.broker.sample();
      await this.broker.window('end');
    }
  };

  /** Broker CPU (user + system) between the two marks, in µs (NaN when either is missing). */
  micros(): number {
    if (!this.first || !this.last) return NaN;
    return this.last.cpuMicros - this.first.cpuMicros;
  }

  /** % of one core between the two marks (NaN when either is missing). */
  percent(): number {
    if (!this.first || !this.last) return NaN;
    const ms = this.last.atMs - this.first.atMs;
    return ms > 0 ? (this.last.cpuMicros - this.first.cpuMicros) / (ms * 10) : NaN;
  }
}
