import { isStandalone, primaryWorkload, type Sample, type Scenario } from './scenario.js';
import { median } from './stats.js';

/** One side (baseline or candidate) of a scenario's result. */
export interface SideResult {
  label: string;
  samples: Sample[];
  median: number;
  maxLoadCpuPercent: number;
  medianBrokerCpuPercent: number | null;
}

/** `ratio`: candidate ÷ baseline against a bound; `absolute`: the candidate's median itself, in the unit. */
export interface TargetResult {
  kind: 'ratio' | 'absolute';
  value: number;
  comparison: '>=' | '<=';
}

export interface ScenarioResult {
  name: string;
  description: string;
  workload: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  /** null for a standalone scenario (one setup, absolute target or none). */
  baseline: SideResult | null;
  candidate: SideResult;
  /** candidate median ÷ baseline median; null without a baseline. */
  ratio: number | null;
  target: TargetResult | null;
  pass: boolean | null;
}

export function sideResult(label: string, samples: Sample[]): SideResult {
  const cpu = samples.map((s) => s.brokerCpuPercent).filter((v) => Number.isFinite(v));
  return {
    label,
    samples,
    median: median(samples.map((s) => s.value)),
    maxLoadCpuPercent: Math.max(...samples.map((s) => s.loadCpuPercent)),
    medianBrokerCpuPercent: cpu.length > 0 ? median(cpu) : null,
  };
}

export function scenarioResult(s: Scenario, workload: string, baseline: SideResult | null, candidate: SideResult): ScenarioResult {
  const w = primaryWorkload(s);
  const comparison = w.better === 'higher' ? '>=' : '<=';
  const ratio = baseline ? candidate.median / baseline.median : null;
  let target: TargetResult | null = null;
  let measured: number | null = null;
  if (isStandalone(s)) {
    if (s.target) target = { kind: 'absolute', value: s.target.value, comparison };
    measured = candidate.median;
  } else {
    if (s.target) target = { kind: 'ratio', value: s.target.ratio, comparison };
    measured = ratio;
  }
  const pass =
    target === null || measured === null || !Number.isFinite(measured) ? null : comparison === '>=' ? measured >= target.value : measured <= target.value;
  return {
    name: s.name,
    description: s.description,
    workload,
    metric: w.metric,
    unit: w.unit,
    better: w.better,
    baseline,
    candidate,
    ratio,
    target,
    pass,
  };
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(2);
}

function formatTarget(r: ScenarioResult): string {
  if (!r.target) return '-';
  return r.target.kind === 'ratio' ? `${r.target.comparison} ${r.target.value}×` : `${r.target.comparison} ${formatValue(r.target.value)} ${r.unit}`;
}

function formatCpu(r: ScenarioResult): string {
  const c = r.candidate.medianBrokerCpuPercent;
  if (!r.baseline) return c === null ? '-' : `- / ${Math.round(c)}%`;
  const b = r.baseline.medianBrokerCpuPercent;
  if (b === null && c === null) return '-';
  return `${b === null ? '-' : `${Math.round(b)}%`} / ${c === null ? '-' : `${Math.round(c)}%`}`;
}

/** A fixed-width text table of the results. */
export function formatTable(results: ScenarioResult[]): string {
  const head = ['scenario', 'metric', 'baseline', 'candidate', 'ratio', 'target', 'ok', 'load CPU max', 'broker CPU b/c'];
  const rows = results.map((r) => [
    r.name,
    r.unit,
    r.baseline ? `${r.baseline.label} ${formatValue(r.baseline.median)}` : '-',
    `${r.candidate.label} ${formatValue(r.candidate.median)}`,
    r.ratio === null ? '-' : `${r.ratio.toFixed(3)}×`,
    formatTarget(r),
    r.pass === null ? '-' : r.pass ? 'yes' : 'NO',
    `${Math.round(Math.max(r.baseline?.maxLoadCpuPercent ?? 0, r.candidate.maxLoadCpuPercent))}%`,
    formatCpu(r),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
