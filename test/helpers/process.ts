import { spawn } from 'node:child_process';

/** What a finished command printed, and its exit code (null when it was killed). */
export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Runs a command to completion (killed after timeoutMs), with optional stdin. */
export function run(cmd: string, args: string[], opts: { input?: Buffer | string; timeoutMs?: number; keepStdinOpenMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('latin1'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    if (opts.input !== undefined) child.stdin.write(opts.input);
    if (opts.keepStdinOpenMs) setTimeout(() => child.stdin.end(), opts.keepStdinOpenMs);
    else child.stdin.end();
  });
}

