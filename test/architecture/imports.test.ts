// The dependency rule of README.md "Architecture": the core (src/) owns the contracts,
// listeners/ and gateways/ implement them, and only the composition root wires them together.
// This walks every .ts file of the project's code folders, reads each import and export-from
// specifier (`import type` and dynamic `import()` included) with the TypeScript scanner, and
// fails naming the file and the import that breaks a rule, or the cycle it closes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The folders whose imports are checked. test/ may import anything and is not walked. */
const FOLDERS = ['src', 'listeners', 'gateways', 'certs', 'bench'] as const;
type Folder = (typeof FOLDERS)[number];

/**
 * The composition root: the only src/ file that may import listeners/, gateways/ and certs/.
 * src/cli.ts and src/commands/* are not composition code: they parse arguments and call
 * startGatehouse (or the store), so they follow the rule of every other src/ file.
 */
const COMPOSITION_ROOT = new Set(['src/main.ts']);

/** Which folders each folder may import (its own always). Packages are not restricted here. */
const MAY_IMPORT: Record<Folder, readonly Folder[]> = {
  // The core: contracts and domain. Nothing of it depends on a transport or a gateway.
  src: [],
  // Transports implement src/transport's contract; they know no protocol front.
  listeners: ['src'],
  // Protocol fronts beside MQTT's: they use src/ (transport contract, access, broker) only.
  gateways: ['src'],
  // The development certificate generator stands alone (npm run certs, tests, main.ts).
  certs: [],
  // Benchmarks start nodes, generate certificates and speak STOMP with the gateway's codec.
  bench: ['src', 'certs', 'gateways'],
};

interface Edge {
  from: string;
  to: string;
  specifier: string;
}

/** Every .ts file under the given folders, as paths relative to ROOT with `/` separators. */
export function projectFiles(root: string, folders: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  for (const folder of folders) if (existsSync(join(root, folder))) walk(join(root, folder));
  return out.sort();
}

/**
 * The project files a file imports: relative specifiers resolved the way NodeNext resolves
 * `.js` to its `.ts` source. An unresolvable relative specifier is an error (a test that
 * cannot see an edge must not pass for that reason).
 */
export function importsOf(root: string, file: string): { edges: Edge[]; unresolved: string[] } {
  const text = readFileSync(join(root, file), 'utf8');
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!specifier.startsWith('.')) continue; // a package or node: builtin
    const base = resolve(root, dirname(file), specifier);
    const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts'), base];
    const target = candidates.find((c) => existsSync(c) && statSync(c).isFile());
    if (!target) {
      unresolved.push(`${file}: cannot resolve '${specifier}'`);
      continue;
    }
    edges.push({ from: file, to: relative(root, target).split(sep).join('/'), specifier });
  }
  return { edges, unresolved };
}

function folderOf(file: string): string {
  return file.split('/')[0]!;
}

/** Imports that point the wrong way, one line each: `file imports 'specifier' (rule)`. */
export function wrongWayImports(edges: readonly Edge[]): string[] {
  const problems: string[] = [];
  for (const edge of edges) {
    const from = folderOf(edge.from) as Folder;
    const to = folderOf(edge.to);
    if (from === to) continue;
    if (from === 'src' && COMPOSITION_ROOT.has(edge.from)) continue;
    if (!(MAY_IMPORT[from] as readonly string[]).includes(to)) {
      const rule =
        from === 'src'
          ? `only the composition root (${[...COMPOSITION_ROOT].join(', ')}) may import ${to}/`
          : `${from}/ may import only ${[from, ...MAY_IMPORT[from]].map((f) => `${f}/`).join(', ')}`;
      problems.push(`${edge.from} imports '${edge.specifier}' (${rule})`);
    }
  }
  return problems;
}

/**
 * The import cycles, each as `a → b → … → a`: one per strongly connected component of more
 * than one file (or a file importing itself), shown along a shortest cycle through it.
 */
export function importCycles(files: readonly string[], edges: readonly Edge[]): string[] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)?.push(e.to);
  // Tarjan's strongly connected components, iteratively (deep graphs must not overflow).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of files) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const succ = next.get(frame.node) ?? [];
      if (frame.i < succ.length) {
        const w = succ[frame.i++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        const selfLoop = component.length === 1 && (next.get(component[0]!) ?? []).includes(component[0]!);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components.map((component) => {
    const cycle = shortestCycle(component, next).join(' → ');
    return component.length > cycle.split(' → ').length - 1 ? `${cycle} (one of the cycles among ${component.length} files: ${component.join(', ')})` : cycle;
  });
}

/** A shortest cycle through the component's first file, by breadth-first search inside it. */
function shortestCycle(component: readonly string[], next: ReadonlyMap<string, string[]>): string[] {
  const inside = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const w of next.get(node) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let n = node; n !== start; n = cameFrom.get(n)!) path.push(n);
        path.push(start);
        return [start, ...path.slice(1, -1).reverse(), start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, node);
        queue.push(w);
      }
    }
  }
  return [...component, start];
}

function projectGraph(): { files: string[]; edges: Edge[]; unresolved: string[] } {
  const files = projectFiles(ROOT, FOLDERS);
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const file of files) {
    const found = importsOf(ROOT, file);
    edges.push(...found.edges);
    unresolved.push(...found.unresolved);
  }
  return { files, edges, unresolved };
}

test('every relative import of src/, listeners/, gateways/, certs/ and bench/ resolves to a file', () => {
  const { files, unresolved } = projectGraph();
  assert.ok(files.length > 100, `found only ${files.length} files: is ROOT (${ROOT}) right?`);
  assert.deepEqual(unresolved, []);
});

test('dependencies point one way: listeners/ and gateways/ use src/; only the composition root imports them', () => {
  const { edges } = projectGraph();
  const problems = wrongWayImports(edges);
  assert.equal(problems.length, 0, `imports that point the wrong way:\n  ${problems.join('\n  ')}`);
});

test('no import cycles (import type included)', () => {
  const { files, edges } = projectGraph();
  const cycles = importCycles(files, edges);
  assert.equal(cycles.length, 0, `import cycles:\n  ${cycles.join('\n  ')}`);
});

test('the checker itself: it names a wrong-way import and prints a cycle', () => {
  const edge = (from: string, to: string): Edge => ({ from, to, specifier: `./${to}` });
  assert.deepEqual(wrongWayImports([edge('src/broker/front.ts', 'listeners/tls.ts')]), [
    "src/broker/front.ts imports './listeners/tls.ts' (only the composition root (src/main.ts) may import listeners/)",
  ]);
  assert.deepEqual(wrongWayImports([edge('src/main.ts', 'listeners/tls.ts'), edge('listeners/tls.ts', 'src/config/schema.ts')]), []);
  assert.equal(wrongWayImports([edge('listeners/manager.ts', 'gateways/stomp/index.ts')]).length, 1);
  assert.equal(wrongWayImports([edge('gateways/stomp/index.ts', 'listeners/spec.ts')]).length, 1);
  assert.equal(wrongWayImports([edge('listeners/steps.ts', 'certs/generate.ts')]).length, 1);
  const files = ['a.ts', 'b.ts', 'c.ts', 'd.ts'];
  assert.deepEqual(importCycles(files, [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts'), edge('c.ts', 'd.ts')]), ['a.ts → b.ts → c.ts → a.ts']);
  assert.deepEqual(importCycles(files, [edge('d.ts', 'd.ts')]), ['d.ts → d.ts']);
  assert.deepEqual(importCycles(files, [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts')]), []);
});
