import { spawnSync } from 'node:child_process';

/** The shell's open-files limits as this process inherited them (Infinity for "unlimited"). */
export function openFilesLimits(): { soft: number; hard: number } {
  const read = (flag: string) => {
    const out = spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).stdout.trim();
    return out === 'unlimited' ? Infinity : Number.parseInt(out, 10);
  };
  return { soft: read('-Sn'), hard: read('-Hn') };
}

/** File descriptors a process needs besides its sockets (modules, pipes, listeners). */
export const FD_MARGIN = 200;
