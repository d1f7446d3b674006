import type { Sample, Scenario } from './scenario.js';
import { median } from './stats.js';

/** One side (baseline or candidate) of a scenario's result. */
export interface SideResult {
  label: string;
  samples: Sample[];
  median: number;
  maxLoadCpuPercent: number;
  medianBrokerCpuPercent: number | null;
}

export interface ScenarioResult {
  name: string;
  description: string;
  workload: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  baseline: SideResult;
  candidate: SideResult;
  /** candidate median ÷ baseline median. */
  ratio: number;
  target: { ratio: number; comparison: '>=' | '<=' } | null;
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

export function scenarioResult(s: Scenario, workload: string, baseline: SideResult, candidate: SideResult): ScenarioResult {
  const ratio = candidate.median / baseline.median;
  const comparison = s.workload.better === 'higher' ? '>=' : '<=';
  const pass = s.target ? (comparison === '>=' ? ratio >= s.target.ratio : ratio <= s.target.ratio) : null;
  return {
    name: s.name,
    description: s.description,
    workload,
    metric: s.workload.metric,
    unit: s.workload.unit,
    better: s.workload.better,
    baseline,
    candidate,
    ratio,
    target: s.target ? { ratio: s.target.ratio, comparison } : null,
    pass,
  };
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(2);
}

/** A fixed-width text table of the results. */
export function formatTable(results: ScenarioResult[]): string {
  const head = ['scenario', 'metric', 'baseline', 'candidate', 'ratio', 'target', 'ok', 'load CPU max', 'broker CPU b/c'];
  const rows = results.map((r) => [
    r.name,
    r.unit,
    `${r.baseline.label} ${formatValue(r.baseline.median)}`,
    `${r.candidate.label} ${formatValue(r.candidate.median)}`,
    `${r.ratio.toFixed(3)}×`,
    r.target ? `${r.target.comparison} ${r.target.ratio}×` : '-',
    r.pass === null ? '-' : r.pass ? 'yes' : 'NO',
    `${Math.round(Math.max(r.baseline.maxLoadCpuPercent, r.candidate.maxLoadCpuPercent))}%`,
    r.baseline.medianBrokerCpuPercent === null
      ? '-'
      : `${Math.round(r.baseline.medianBrokerCpuPercent)}% / ${Math.round(r.candidate.medianBrokerCpuPercent ?? NaN)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
