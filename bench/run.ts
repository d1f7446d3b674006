import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startBroker } from './brokers/process.js';
import type { BrokerSetup } from './brokers/types.js';
import { FD_MARGIN, openFilesLimits } from './harness/fd-limit.js';
import { benchDir } from './harness/entry.js';
import { loadScenarios, selectScenarios } from './harness/registry.js';
import { formatTable, formatValue, scenarioResult, sideResult, type ScenarioResult } from './harness/report.js';
import { describeScenario, primaryWorkload, sidesOf, type RunContext, type Sample, type Scenario, type Side } from './harness/scenario.js';

/**
 * npm run bench -- [scenario names…] [--quick] [--rounds N] [--profile] [--list] [--against DIR]
 * Runs each scenario's two broker setups alternately (fresh broker process per
 * measurement), reports medians and the candidate ÷ baseline ratio.
 *
 * `--against DIR` compares commits instead: each scenario's candidate setup runs from this
 * checkout and from DIR (another checkout, built with `npm run build`), alternating in the
 * same run; the ratio is this ÷ DIR and the target is "loses at most 3 %".
 */

interface Args {
  names: string[];
  quick: boolean;
  rounds: number | undefined;
  profile: boolean;
  list: boolean;
  against: string | undefined;
}

const USAGE = 'usage: npm run bench -- [scenario…] [--quick] [--rounds N] [--profile] [--list] [--against DIR]';
/** `--against`: how much a scenario may lose to the other commit. */
const COMMIT_TOLERANCE = 0.03;
const WANTED_CONNECTIONS = 5000;
const RESULTS_DIR = fileURLToPath(new URL('./results/', benchDir));

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], quick: false, rounds: undefined, profile: false, list: false, against: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--list') args.list = true;
    else if (a === '--rounds') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--rounds needs a positive integer\n${USAGE}`);
      args.rounds = n;
    } else if (a === '--against') {
      const dir = argv[++i];
      if (!dir) throw new Error(`--against needs a directory\n${USAGE}`);
      args.against = resolve(dir);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else args.names.push(a);
  }
  return args;
}

/** Re-runs this process under a raised open-files limit when the hard limit allows it. Returns true if it did. */
function reexecWithMoreFiles(): boolean {
  const { soft, hard } = openFilesLimits();
  const needed = WANTED_CONNECTIONS + FD_MARGIN;
  if (soft >= needed || hard <= soft || process.env['GATEHOUSE_BENCH_REEXEC']) return false;
  const limit = Number.isFinite(hard) ? String(Math.min(hard, 65536)) : '65536';
  const result = spawnSync(
    'sh',
    ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, GATEHOUSE_BENCH_REEXEC: '1' } },
  );
  process.exitCode = result.status ?? 1;
  return true;
}

/** Sides whose broker runs from another checkout (`--against`), by setup. */
const otherCommit = new Map<BrokerSetup, string>();

/**
 * `--against DIR`: the scenario's candidate setup from DIR as the baseline, from here as the
 * candidate, with the target "loses at most COMMIT_TOLERANCE". The workload is the candidate's.
 */
function acrossCommits(s: Scenario, dir: string, childFile: string): Scenario {
  const here = sidesOf(s).at(-1)!;
  const there: BrokerSetup = { ...here.setup, label: 'before' };
  otherCommit.set(there, childFile);
  const ratio = primaryWorkload(s).better === 'higher' ? 1 - COMMIT_TOLERANCE : 1 + COMMIT_TOLERANCE;
  return {
    name: s.name,
    description: `${here.setup.label}: ${dir} → this checkout`,
    baseline: there,
    candidate: { ...here.setup, label: 'after' },
    workload: here.workload,
    target: { ratio },
  };
}

async function measure(side: Side, ctx: RunContext, profile: boolean): Promise<Sample> {
  const childFile = otherCommit.get(side.setup);
  const broker = await startBroker(side.setup, {
    ...(profile ? { cpuProfileDir: `${RESULTS_DIR}profiles` } : {}),
    ...(childFile ? { childFile } : {}),
  });
  try {
    return await side.workload.run(broker, ctx);
  } finally {
    await broker.stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const all = await loadScenarios();
  if (args.list) {
    for (const s of all) console.log(`${s.name.padEnd(26)} ${s.description}`);
    return;
  }
  let selected = selectScenarios(all, args.names);
  if (args.against) {
    const dir = args.against;
    const childFile = resolve(dir, 'dist/bench/brokers/child.js');
    if (!existsSync(childFile)) throw new Error(`--against ${dir}: no ${childFile} (run \`npm run build\` there first)`);
    selected = selected.map((s) => acrossCommits(s, dir, childFile));
  }
  const rounds = args.rounds ?? (args.quick ? 1 : 3);
  const notes: string[] = [];
  const { soft } = openFilesLimits();
  const maxConnections = Math.max(50, Math.min(WANTED_CONNECTIONS, soft - FD_MARGIN));
  if (maxConnections < WANTED_CONNECTIONS) {
    notes.push(`open-files limit is ${soft} (hard limit too low to raise): connection counts capped at ${maxConnections}`);
  }
  const ctx: RunContext = { quick: args.quick, maxConnections, log: (line) => console.log(line) };
  const startedAt = new Date().toISOString();
  console.log(`gatehouse bench: ${selected.length} scenario(s), ${rounds} round(s)${args.quick ? ', quick' : ''}; node ${process.version}, ${cpus().length} CPUs, open files ${soft}`);
  for (const n of notes) console.log(`note: ${n}`);

  const results: ScenarioResult[] = [];
  for (const s of selected) {
    const workload = describeScenario(s, ctx);
    console.log(`\n== ${s.name}: ${s.description}\n   ${workload}`);
    const sides = sidesOf(s);
    const samples = new Map<BrokerSetup, Sample[]>(sides.map((side) => [side.setup, []]));
    for (let round = 0; round < rounds; round++) {
      // Alternate which broker goes first so warm caches and thermal drift favour neither.
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const sample = await measure(side, ctx, args.profile);
        samples.get(side.setup)!.push(sample);
        const cpu = Number.isFinite(sample.brokerCpuPercent) ? `, broker CPU ${Math.round(sample.brokerCpuPercent)}%` : '';
        const digest = side.workload.summarize ? `\n      ${side.workload.summarize(sample)}` : '';
        console.log(
          `   round ${round + 1} ${side.setup.label.padEnd(10)} ${formatValue(sample.value).padStart(9)} ${side.workload.unit}` +
            `  (load CPU ${Math.round(sample.loadCpuPercent)}%${cpu})${digest}`,
        );
      }
    }
    const result = (side: Side | undefined) => (side ? sideResult(side.setup.label, samples.get(side.setup)!) : null);
    const baselineSide = sides.find((side) => side.role === 'baseline');
    const candidateSide = sides.find((side) => side.role === 'candidate')!;
    const r = scenarioResult(s, workload, result(baselineSide), result(candidateSide)!);
    const ratio = r.ratio === null ? '' : `; ratio ${r.ratio.toFixed(3)}×`;
    const base = r.baseline ? `${r.baseline.label} ${formatValue(r.baseline.median)}, ` : '';
    console.log(`   median ${base}${r.candidate.label} ${formatValue(r.candidate.median)} ${r.unit}${ratio}`);
    if (Math.max(r.baseline?.maxLoadCpuPercent ?? 0, r.candidate.maxLoadCpuPercent) > 90) {
      const note = `${s.name}: a load generator used > 90% of a core; the figure may be bounded by the load, not the broker`;
      notes.push(note);
      console.log(`   note: ${note}`);
    }
    results.push(r);
  }

  console.log(`\n${formatTable(results)}`);
  for (const n of notes) console.log(`note: ${n}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}latest.json`;
  const doc = {
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: args.quick,
    rounds,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    openFilesLimit: soft,
    notes,
    scenarios: results,
  };
  writeFileSync(file, JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  console.log(`results written to ${file}`);
}

if (!reexecWithMoreFiles()) {
  main().catch((err: Error) => {
    console.error(`bench failed: ${err.message}`);
    process.exitCode = 1;
  });
}
