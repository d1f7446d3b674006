import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoint } from '../wire/client.js';
import type { BrokerToParent, ParentToBroker } from './messages.js';
import type { BrokerSample, BrokerSetup } from './types.js';
import { childEntry } from '../harness/entry.js';

/** The runner's handle on a broker running in its own child process. */
export interface BrokerUnderTest {
  readonly setup: BrokerSetup;
  /** The MQTT endpoint the load generators use. */
  readonly endpoint: Endpoint;
  /** The STOMP endpoint, when the setup runs a STOMP listener. */
  readonly stompEndpoint: Endpoint | undefined;
  /** Memory and CPU of the broker process; `gc` runs a full collection first. */
  sample(opts?: { gc?: boolean }): Promise<BrokerSample>;
  /** Edges of a workload's measured window: starts and stops the CPU profile when profiling. */
  window(edge: 'start' | 'end'): Promise<void>;
  stop(): Promise<void>;
}

export interface BrokerProcessOptions {
  /** Writes a V8 CPU profile of each measured window into this directory. */
  cpuProfileDir?: string;
  /** Another checkout's compiled broker child (`--against`): the same setup, that commit's code. */
  childFile?: string;
}

export class BrokerProcessError extends Error {
  constructor(label: string, reason: string) {
    super(`broker ${label}: ${reason}`);
    this.name = 'BrokerProcessError';
  }
}

const CHILD = childEntry('./child.ts', import.meta.url);

export function startBroker(setup: BrokerSetup, opts: BrokerProcessOptions = {}): Promise<BrokerUnderTest> {
  const execArgv = [...CHILD.execArgv, '--expose-gc'];
  const child = fork(opts.childFile ?? CHILD.file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const msg = raw as BrokerToParent;
      if (msg.type === 'ready') {
        cleanup();
        resolve(new BrokerHandle(setup, msg.endpoints.mqtt, msg.endpoints.stomp, child, opts.cpuProfileDir));
      } else if (msg.type === 'error') {
        cleanup();
        child.kill();
        reject(new BrokerProcessError(setup.label, msg.message));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new BrokerProcessError(setup.label, `exited (${code}) before it was ready`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send({ type: 'start', setup } satisfies ParentToBroker);
  });
}

class BrokerHandle implements BrokerUnderTest {
  private nextId = 1;
  private readonly waiting = new Map<number, (s: BrokerSample) => void>();
  private exited = false;

  private profiled: (() => void) | undefined;

  constructor(
    readonly setup: BrokerSetup,
    readonly endpoint: Endpoint,
    readonly stompEndpoint: Endpoint | undefined,
    private readonly child: ChildProcess,
    private readonly profileDir: string | undefined,
  ) {
    child.on('message', (raw) => {
      const msg = raw as BrokerToParent;
      if (msg.type === 'profiled') {
        this.profiled?.();
        this.profiled = undefined;
      }
      if (msg.type !== 'sample') return;
      this.waiting.get(msg.id)?.(msg.sample);
      this.waiting.delete(msg.id);
    });
    child.once('exit', () => {
      this.exited = true;
    });
  }

  sample(opts: { gc?: boolean } = {}): Promise<BrokerSample> {
    if (this.exited) return Promise.reject(new BrokerProcessError(this.setup.label, 'process has exited'));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ type: 'sample', id, gc: opts.gc ?? false } satisfies ParentToBroker);
    });
  }

  window(edge: 'start' | 'end'): Promise<void> {
    if (!this.profileDir || this.exited) return Promise.resolve();
    mkdirSync(this.profileDir, { recursive: true });
    const file = join(this.profileDir, `${this.setup.label}-${Date.now()}.cpuprofile`);
    return new Promise((resolve) => {
      this.profiled = resolve;
      this.child.send({ type: 'profile', edge, file } satisfies ParentToBroker);
    });
  }

  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.send({ type: 'stop' } satisfies ParentToBroker);
    });
  }
}
