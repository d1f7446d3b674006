import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setPriority } from 'node:os';
import mqttPacket from 'mqtt-packet';
import { mqttCase, validSeeds } from './mqtt-gen.js';
import { Rng } from './prng.js';
import { allFuzzers } from './fuzzers.js';
import { memoryProblem, runFuzz, type RunReport } from './runner.js';

/**
 * The fuzzers of issue #12 point 8, briefly, with a fixed seed (deeper runs: `npm run fuzz`).
 * One broker child for the three fuzzers, niced, and one batch of inputs at a time, so the
 * file costs the suite about one core for 20-25 s.
 */

const SEED = 0x5eed_f022;
const CASES = { mqtt: 1000, stomp: 400, proxy: 400 } as const;

try {
  setPriority(0, 5);
} catch {
  // not permitted: stay at normal priority
}

test('the MQTT model encodes valid packets the reference parser (mqtt-packet) reads', () => {
  for (const { version, bytes } of validSeeds(new Rng(SEED), 300)) {
    const parser = mqttPacket.parser({ protocolVersion: version });
    const packets: string[] = [];
    const errors: string[] = [];
    parser.on('packet', (p: { cmd: string }) => packets.push(p.cmd));
    parser.on('error', (e: Error) => errors.push(e.message));
    parser.parse(bytes);
    assert.deepEqual(errors, [], `seed ${SEED}: valid seed ${bytes.toString('hex')} (v${version}) does not parse`);
    assert.equal(packets.length, 2, `seed ${SEED}: ${bytes.toString('hex')} parsed as ${packets.join(',')}`);
  }
});

test('the MQTT generator produces every structural mutation (MQTT 5 properties above all)', () => {
  const rng = new Rng(SEED);
  const seen = new Set<string>();
  for (let i = 0; i < 1500; i++) for (const l of mqttCase(rng).label.split(',')) seen.add(l.split(':')[0]!);
  for (const kind of [
    'bad-utf8', 'wildcard', 'string-overrun', 'bad-remaining-length', 'flags', 'empty', 'foreign-prop', 'duplicate-prop',
    'truncated-prop', 'props-length-lie', 'props-length-varint', 'bad-prop-value', 'unknown-prop', 'topic-alias', 'bytes', 'noise',
  ]) {
    assert.ok(seen.has(kind), `never generated ${kind}`);
  }
});

test(`fuzz: MQTT 3.1.1/5.0, STOMP and Proxy Protocol inputs against a live broker (seed ${SEED})`, async () => {
  const lines: string[] = [];
  const report: RunReport = await runFuzz({
    seed: SEED,
    fuzzers: allFuzzers(),
    quotas: CASES,
    durationMs: 25_000,
    log: (line) => lines.push(line),
  });
  console.log(`fuzz seed ${SEED}: ${JSON.stringify(report.cases)} in ${report.batches} batches, ${report.seconds.toFixed(1)} s, endings ${JSON.stringify(report.endings)}`);
  console.log(`fuzz memory: baseline ${JSON.stringify(report.baseline)} final ${JSON.stringify(report.final)}`);
  const findings = report.findings.map((f) => `[${f.fuzzer}] seed ${f.seed} case ${f.caseIndex} on ${f.port} (${f.label}): ${f.what}\n  input (hex): ${f.hex}`);
  assert.deepEqual(findings, [], `fuzz seed ${SEED} found problems (replay: npm run fuzz -- --seed ${SEED}):\n${findings.join('\n')}\n${lines.join('\n')}`);
  // Every input sent, or the time bound hit on a slow machine (then say so; the inputs sent were still checked).
  for (const [name, n] of Object.entries(CASES)) {
    if ((report.cases[name] ?? 0) < n) console.log(`fuzz: ${name} ran ${report.cases[name] ?? 0} of ${n} inputs within the time bound`);
  }
  // Under the whole suite's load (niced, two cores) fewer inputs fit in the bound; each fuzzer still runs whole batches.
  for (const name of Object.keys(CASES)) assert.ok((report.cases[name] ?? 0) >= 40, `${name}: not even one batch of inputs ran`);
  assert.equal(memoryProblem(report), undefined);
});
