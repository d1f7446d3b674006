import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile, type ConfigCheck } from '../config/load.js';
import { writeFileAtomically } from '../config/overrides.js';

export const RELOAD_HELP = `gatehouse reload: make a running node read its configuration again

  gatehouse reload [--config FILE] [--data-dir DIR] [--wait SECONDS]

Checks the configuration here first, then sends SIGHUP to the node whose pid is in
<node.data_dir>/${'gatehouse.pid'} and waits (default 10 s) for its answer. The node reads
the file, the GATEHOUSE_* environment it was started with and the API's changes
(cluster.hocon) again and applies the difference: listeners, authentication chains and
gateways change live; anything else needs a restart and refuses the reload. A refused
reload leaves the node on its configuration. Exit 0 when applied, 1 when refused.
`;

/** In the data directory while `gatehouse start` runs: its pid. */
export const PID_FILE = 'gatehouse.pid';
/** In the data directory: how the last reload went (written by the node, read by `gatehouse reload`). */
export const RELOAD_STATUS_FILE = 'reload.json';

/** What the node writes after each reload. */
export interface ReloadStatus {
  /** When the reload finished (ms since the epoch). */
  at: number;
  pid: number;
  result: 'applied' | 'refused';
  /** The dotted paths that changed (applied). */
  changed?: readonly string[];
  /** Why it was refused: the problems, naming the file or the paths. */
  error?: string;
}

/** `gatehouse start`: the node's pid, so `gatehouse reload` finds it; returns its removal. */
export function writePidFile(dataDir: string): () => void {
  const file = join(dataDir, PID_FILE);
  writeFileAtomically(file, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
    } catch {
      // already gone
    }
  };
}

export function writeReloadStatus(dataDir: string, status: ReloadStatus): void {
  writeFileAtomically(join(dataDir, RELOAD_STATUS_FILE), `${JSON.stringify(status)}\n`);
}

function readReloadStatus(dataDir: string): ReloadStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, RELOAD_STATUS_FILE), 'utf8')) as ReloadStatus;
  } catch {
    return undefined;
  }
}

/** Runs `gatehouse reload ...`; returns the exit code. */
export async function reloadCommand(
  args: string[],
  checks: ConfigCheck[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', default: process.env['GATEHOUSE_CONFIG'] ?? 'etc/gatehouse.conf' },
      'data-dir': { type: 'string' },
      wait: { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out.write(RELOAD_HELP);
    return 0;
  }
  // The same reading the node does, so a file that would be refused is named here first.
  const config = loadConfigFile(values.config!, { checks, overridesFrom: process.cwd() });
  const dataDir = resolve(values['data-dir'] ?? config.node.data_dir);
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, PID_FILE), 'utf8').trim());
  } catch {
    err.write(`gatehouse: no running node found: ${join(dataDir, PID_FILE)} is missing\n`);
    return 1;
  }
  const sent = Date.now();
  try {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error('bad pid');
    process.kill(pid, 'SIGHUP');
  } catch {
    err.write(`gatehouse: no running node with pid ${pid} (from ${join(dataDir, PID_FILE)})\n`);
    return 1;
  }
  const deadline = sent + Number(values.wait) * 1000;
  for (;;) {
    const status = readReloadStatus(dataDir);
    if (status && status.pid === pid && status.at >= sent) {
      if (status.result === 'applied') {
        out.write(`reload applied: ${status.changed?.length ? `changed ${status.changed.join(', ')}` : 'nothing changed'}\n`);
        return 0;
      }
      err.write(`gatehouse: reload refused; the node keeps its configuration: ${status.error ?? ''}\n`);
      return 1;
    }
    if (Date.now() > deadline) {
      err.write(`gatehouse: sent SIGHUP to pid ${pid}; no answer within ${values.wait} s (see the node's log)\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
