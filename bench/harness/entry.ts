import { fileURLToPath } from 'node:url';

/**
 * `npm run bench` runs the compiled benchmark (dist/bench, built by `tsc` first) under
 * plain node, as `npm start` runs the broker: a TypeScript loader in the measured process
 * would add its own costs (module hooks, esbuild's name helpers) to Gatehouse's side
 * and not to bare aedes's. Run from the sources (`node --import tsx bench/run.ts`), the
 * children use tsx too.
 */
export const compiled = import.meta.url.endsWith('.js');

/** Source file extension of this build: `.js` when compiled, `.ts` under tsx. */
export const extension = compiled ? '.js' : '.ts';

/** A child process's entry (`name.ts` relative to `base`) and the node flags it needs. */
export function childEntry(relative: string, base: string | URL): { file: string; execArgv: string[] } {
  const file = fileURLToPath(new URL(relative.replace(/\.ts$/, extension), base));
  return { file, execArgv: compiled ? [] : ['--import', 'tsx'] };
}

/** bench/ in the repository (results and caches live there, compiled or not). */
export const benchDir = new URL(compiled ? '../../../bench/' : '../', import.meta.url);
