// `npm run fuzz -- [--seed N] [--duration SECONDS] [--only mqtt,stomp,proxy] [--stop-at-first] [--known-bugs]`
// Deeper runs of the fuzzers `npm test` runs briefly (test/fuzz/fuzz.test.ts): same generators,
// same broker child and checks; any seed, any duration. Exits 1 when something was found.
import { parseArgs } from 'node:util';
import { FUZZER_NAMES, allFuzzers } from './fuzzers.js';
import { memoryProblem, runFuzz } from './runner.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    duration: { type: 'string', default: '60' },
    only: { type: 'string' },
    'stop-at-first': { type: 'boolean', default: false },
    'known-bugs': { type: 'boolean', default: false },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Math.random() * 0x1_0000_0000) >>> 0;
const duration = Number(values.duration);
if (!Number.isFinite(duration) || duration <= 0) throw new Error(`--duration: expected seconds, got ${values.duration}`);
const names = values.only?.split(',') ?? [...FUZZER_NAMES];
const fuzzers = allFuzzers(values['known-bugs']).filter((f) => names.includes(f.name));
if (fuzzers.length !== names.length) throw new Error(`--only: the fuzzers are ${FUZZER_NAMES.join(', ')}`);

console.log(`fuzz: seed ${seed}, ${duration} s, fuzzers ${names.join(', ')} (reproduce: npm run fuzz -- --seed ${seed} --duration ${duration} --only ${names.join(',')}${values['known-bugs'] ? ' --known-bugs' : ''})`);
const report = await runFuzz({ seed, fuzzers, durationMs: duration * 1000, keepGoing: !values['stop-at-first'], log: (line) => console.log(line) });
const memory = memoryProblem(report);
console.log(
  JSON.stringify(
    { seed, seconds: Math.round(report.seconds), batches: report.batches, cases: report.cases, endings: report.endings, baseline: report.baseline, final: report.final, memory: memory ?? 'ok', findings: report.findings },
    null,
    2,
  ),
);
process.exitCode = report.findings.length > 0 || memory ? 1 : 0;
