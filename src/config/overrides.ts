import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseHocon, type HoconObject } from './hocon/index.js';

/**
 * Changes made through the management API live in `<node.data_dir>/cluster.hocon`
 * (EMQX's name), merged over the configuration file at start. The file holds only
 * the subtrees the API replaced; `null` removes a key of the configuration file.
 * Precedence: configuration file < cluster.hocon < GATEHOUSE_* environment.
 */
export const OVERRIDE_FILE = 'cluster.hocon';

export type OverrideDoc = Record<string, unknown>;

export class OverrideFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'OverrideFileError';
  }
}

/** Where the override file of a config whose data_dir is `dataDir` lives. */
export function overrideFilePath(baseDir: string, dataDir: string): string {
  return join(resolve(baseDir, dataDir), OVERRIDE_FILE);
}

/** Reads the override file; an absent file is an empty document. */
export function readOverrides(file: string): OverrideDoc {
  if (!existsSync(file)) return {};
  let parsed: HoconObject;
  try {
    parsed = parseHocon(readFileSync(file, 'utf8'), { env: {} });
  } catch (err) {
    throw new OverrideFileError(file, (err as Error).message);
  }
  return parsed as OverrideDoc;
}

/** Writes the whole document atomically (`writeFileAtomically`). */
export function writeOverrides(file: string, doc: OverrideDoc): void {
  writeFileAtomically(file, '# Written by the Gatehouse management API; merged over the configuration file at start.\n' + JSON.stringify(doc, null, 2) + '\n');
}

/** Writes a file of the data directory atomically, readable by the owner only: temp file, fsync, rename, fsync of the directory. */
export function writeFileAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dirFd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  }
}

/** Objects merge key by key; anything else (arrays included) replaces; `null` removes. */
export function mergeOverrides(base: Record<string, unknown>, over: OverrideDoc): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) {
      delete out[key];
    } else if (isPlainObject(value) && isPlainObject(out[key])) {
      out[key] = mergeOverrides(out[key] as Record<string, unknown>, value);
    } else {
      out[key] = structuredClone(value);
    }
  }
  return out;
}

/** Sets (or with `null`, marks removed) the value at a path, creating objects on the way. */
export function setAtPath(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = doc;
  for (const seg of path.slice(0, -1)) {
    if (!isPlainObject(node[seg])) node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Removes the key at a path (for the live config, where nothing is marked, only absent). */
export function deleteAtPath(doc: Record<string, unknown>, path: readonly string[]): void {
  let node: unknown = doc;
  for (const seg of path.slice(0, -1)) {
    if (!isPlainObject(node)) return;
    node = node[seg];
  }
  if (isPlainObject(node)) delete node[path[path.length - 1]!];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
