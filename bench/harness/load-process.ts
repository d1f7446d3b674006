import { fork } from 'node:child_process';
import { childEntry } from './entry.js';

/**
 * Load generators run in their own process so their CPU never competes with
 * the measuring process's event loop. The protocol is four IPC messages:
 * parent → child `params`, child → parent `mark` (a named point, e.g. the start
 * of the measured window; the parent answers `ack` once it has sampled the
 * broker), and child → parent `result` or `error`.
 */

type ToChild = { type: 'params'; params: unknown } | { type: 'ack'; name: string };
type ToParent = { type: 'mark'; name: string } | { type: 'result'; result: unknown } | { type: 'error'; message: string };

export class LoadError extends Error {
  constructor(script: string, reason: string) {
    super(`load generator ${script} failed: ${reason}`);
    this.name = 'LoadError';
  }
}

/** Parent side: forks `bench/<script>` under tsx and resolves with its result. */
export function runLoad<P, R>(script: string, params: P, onMark: (name: string) => Promise<void> = async () => undefined): Promise<R> {
  const { file, execArgv } = childEntry(`../${script}`, import.meta.url);
  return new Promise((resolve, reject) => {
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const settle = (err: Error | undefined, result?: R) => {
      if (settled) return;
      settled = true;
      if (err) {
        child.kill();
        reject(err);
      } else resolve(result as R);
    };
    child.on('message', (raw) => {
      const msg = raw as ToParent;
      if (msg.type === 'mark') {
        onMark(msg.name).then(
          () => child.connected && child.send({ type: 'ack', name: msg.name } satisfies ToChild),
          (err: Error) => settle(new LoadError(script, `while handling mark ${msg.name}: ${err.message}`)),
        );
      } else if (msg.type === 'result') settle(undefined, msg.result as R);
      else if (msg.type === 'error') settle(new LoadError(script, msg.message));
    });
    child.once('error', (err) => settle(new LoadError(script, err.message)));
    child.once('exit', (code, signal) => settle(new LoadError(script, `exited (${signal ?? code}) before reporting a result`)));
    child.send({ type: 'params', params } satisfies ToChild);
  });
}

/** Child side: `mark(name)` tells the parent and resolves when it has answered. */
export type Mark = (name: string) => Promise<void>;

/** Child side: runs `main` with the parent's params and reports its result. */
export function serveLoad<P, R>(main: (params: P, mark: Mark) => Promise<R>): void {
  const waiting = new Map<string, () => void>();
  const send = (msg: ToParent) => process.send?.(msg);
  process.on('message', (raw) => {
    const msg = raw as ToChild;
    if (msg.type === 'ack') {
      waiting.get(msg.name)?.();
      waiting.delete(msg.name);
      return;
    }
    const mark: Mark = (name) =>
      new Promise((resolve) => {
        waiting.set(name, resolve);
        send({ type: 'mark', name });
      });
    const finish = (msg: ToParent, code: number) => {
      // Exit only once the message is out: process.exit would drop a queued send.
      process.send?.(msg, undefined, {}, () => {
        process.disconnect?.();
        process.exit(code);
      });
    };
    main(msg.params as P, mark).then(
      (result) => finish({ type: 'result', result }, 0),
      (err: Error) => finish({ type: 'error', message: err.message }, 1),
    );
  });
}
