import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { HoconError } from './errors.js';
import type { HoconObject } from './nodes.js';
import { parseDocument, type ReadFile } from './parser.js';
import { resolveDocument } from './resolver.js';

export { HoconError, type HoconPosition } from './errors.js';
export type { HoconObject, HoconValue } from './nodes.js';
export type { ReadFile } from './parser.js';
export { parseDuration, parseByteSize } from './units.js';

export interface HoconParseOptions {
  /** Name shown in error messages; relative includes are resolved against its directory (default: cwd). */
  filename?: string;
  /** Environment used for substitutions not found in the config (default: `process.env`). */
  env?: Record<string, string | undefined>;
  /** Reads included files (default: UTF-8 `fs.readFileSync`). Must throw with `code: 'ENOENT'` for a missing file. */
  readFile?: ReadFile;
}

const defaultReadFile: ReadFile = (path) => readFileSync(path, 'utf8');

/** Parses HOCON text into plain data, following includes and resolving substitutions. */
export function parseHocon(text: string, opts: HoconParseOptions = {}): HoconObject {
  const filename = opts.filename;
  const absolute = filename === undefined ? undefined : resolvePath(filename);
  const root = parseDocument(stripBom(text), {
    file: filename ?? '<input>',
    baseDir: absolute === undefined ? process.cwd() : dirname(absolute),
    includeStack: absolute === undefined ? [] : [absolute],
    prefix: [],
    readFile: opts.readFile ?? defaultReadFile,
  });
  return resolveDocument(root, opts.env ?? process.env);
}

/** Reads and parses a HOCON file. A missing or unreadable file is reported as a HoconError. */
export function parseHoconFile(path: string, opts: Omit<HoconParseOptions, 'filename'> = {}): HoconObject {
  const read = opts.readFile ?? defaultReadFile;
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new HoconError({ file: path, line: 1, col: 1 }, `cannot read config file: ${why}`);
  }
  return parseHocon(text, { ...opts, filename: path });
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
