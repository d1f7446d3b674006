/** CPU time of this process over a wall-clock window, as a percentage of one core. */
export interface CpuWindow {
  wallMs: number;
  cpuMs: number;
  percentOfCore: number;
}

/** Starts a window; the returned function closes it. */
export function startCpuWindow(): () => CpuWindow {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const used = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    const cpuMs = (used.user + used.system) / 1000;
    return { wallMs, cpuMs, percentOfCore: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0 };
  };
}
