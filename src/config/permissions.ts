// Warnings (not errors) about files a configuration points at that other users can read.

import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GatehouseConfig } from './schema.js';
import { configuredListeners } from './listeners.js';

/**
 * Warnings (not errors) about files others can read: an existing data directory (password
 * hashes, PSK secrets) or a file in it, and every listener's key file given as a path.
 */
export function filePermissionWarnings(config: GatehouseConfig, baseDir: string): string[] {
  const warnings: string[] = [];
  const open = (path: string): number | undefined => {
    try {
      const mode = statSync(path).mode & 0o777;
      return (mode & 0o077) === 0 ? undefined : mode;
    } catch {
      return undefined; // missing files are reported elsewhere, or created private at start
    }
  };
  const octal = (mode: number) => mode.toString(8).padStart(3, '0');
  const dataDir = resolve(baseDir, config.node.data_dir);
  const dirMode = open(dataDir);
  if (dirMode !== undefined) warnings.push(`node.data_dir ${dataDir} is open to other users (mode ${octal(dirMode)}); chmod 700 it`);
  let entries: string[] = [];
  try {
    entries = readdirSync(dataDir);
  } catch {
    entries = [];
  }
  for (const name of entries) {
    const mode = open(join(dataDir, name));
    if (mode !== undefined) warnings.push(`${join(dataDir, name)} is readable by other users (mode ${octal(mode)}); chmod 600 it`);
  }
  for (const { path, listener } of configuredListeners(config)) {
    const key = listener.ssl_options?.keyfile;
    if (key === undefined || key.includes('-----BEGIN')) continue;
    const mode = open(resolve(baseDir, key));
    if (mode !== undefined) warnings.push(`${path}.ssl_options.keyfile ${resolve(baseDir, key)} is readable by other users (mode ${octal(mode)}); chmod 600 it`);
  }
  return warnings;
}
