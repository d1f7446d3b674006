import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { sidesOf, type Scenario } from './scenario.js';
import { extension } from './entry.js';

export class RegistryError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RegistryError';
  }
}

const DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

/** A scenario whose two sides cannot be compared (different units or directions, shared setup object) is refused at load. */
function checkScenario(s: Scenario, file: string): void {
  const sides = sidesOf(s);
  if (sides.length === 2) {
    const [a, b] = [sides[0]!, sides[1]!];
    if (a.workload.unit !== b.workload.unit || a.workload.better !== b.workload.better) {
      throw new RegistryError(`scenario ${s.name} (${file}): its two workloads measure different things (${a.workload.unit} vs ${b.workload.unit})`);
    }
    if (a.setup === b.setup) throw new RegistryError(`scenario ${s.name} (${file}): baseline and candidate must be distinct setup objects (give them their own labels)`);
  }
}

/** Every scenario of bench/scenarios/*.ts (*.js when compiled) (each file exports `scenarios`), in file then declaration order. */
export async function loadScenarios(): Promise<Scenario[]> {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith(extension) && !f.endsWith('.d.ts'))
    .sort();
  const all: Scenario[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(DIR, file)).href)) as { scenarios?: unknown };
    if (!Array.isArray(mod.scenarios)) throw new RegistryError(`bench/scenarios/${file} does not export a \`scenarios\` array`);
    for (const s of mod.scenarios as Scenario[]) {
      const other = seen.get(s.name);
      if (other) throw new RegistryError(`scenario name ${s.name} is declared in both ${other} and ${file}`);
      checkScenario(s, file);
      seen.set(s.name, file);
      all.push(s);
    }
  }
  return all;
}

/** The scenarios named (all when none are), or an error listing the unknown names and the known ones. */
export function selectScenarios(all: Scenario[], names: string[]): Scenario[] {
  if (names.length === 0) return all;
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new RegistryError(`unknown scenario${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
  }
  return all.filter((s) => names.includes(s.name));
}
