import { mqttCase } from './mqtt-gen.js';
import type { Fuzzer } from './runner.js';

/** MQTT 3.1.1 and 5.0 on the plain tcp listener. */
export const mqttFuzzer: Fuzzer = {
  name: 'mqtt',
  next(rng) {
    const c = mqttCase(rng);
    return { port: 'mqtt', label: `v${c.version === 5 ? '5' : '3.1.1'} ${c.phase} ${c.label}`, writes: c.writes };
  },
};

export const ALL_FUZZERS: readonly Fuzzer[] = [mqttFuzzer];
