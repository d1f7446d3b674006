import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startSetup } from './kinds.js';
import type { BrokerSample, BrokerSetup, RunningBroker } from './types.js';
import type { BrokerToParent, ParentToBroker } from './messages.js';

/**
 * Entry of a broker child process: starts one setup, reports its endpoint,
 * answers samples (RSS, heap, CPU; optionally after a full GC) and stops on request.
 * Run with --expose-gc so samples can collect garbage first.
 */

const gc = (globalThis as { gc?: () => void }).gc;
let broker: RunningBroker | undefined;

function send(msg: BrokerToParent): void {
  process.send?.(msg);
}

function sample(): BrokerSample {
  const cpu = process.cpuUsage();
  return {
    rssBytes: process.memoryUsage.rss(),
    heapUsedBytes: process.memoryUsage().heapUsed,
    cpuMicros: cpu.user + cpu.system,
    atMs: performance.timeOrigin + performance.now(),
  };
}

async function collect(): Promise<void> {
  if (!gc) return;
  // Two passes with a turn of the event loop between them let weak references and finalizers settle.
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
}

let session: Session | undefined;

/** CPU profile of the measured window only (not startup or shutdown), via the inspector. */
async function profile(edge: 'start' | 'end', file: string): Promise<void> {
  if (edge === 'start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    return;
  }
  if (!session) return;
  const { profile: result } = await session.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(result));
  session.disconnect();
  session = undefined;
}

process.on('message', (raw) => {
  const msg = raw as ParentToBroker;
  if (msg.type === 'start') {
    startSetup(msg.setup as BrokerSetup).then(
      (b) => {
        broker = b;
        send({ type: 'ready', endpoints: b.endpoints });
      },
      (err: Error) => send({ type: 'error', message: `could not start ${msg.setup.label}: ${err.message}` }),
    );
  } else if (msg.type === 'sample') {
    const reply = () => send({ type: 'sample', id: msg.id, sample: sample() });
    if (msg.gc) void collect().then(reply);
    else reply();
  } else if (msg.type === 'profile') {
    void profile(msg.edge, msg.file).then(
      () => send({ type: 'profiled', edge: msg.edge }),
      (err: Error) => send({ type: 'error', message: `profiling failed: ${err.message}` }),
    );
  } else if (msg.type === 'stop') {
    const exit = () => process.send?.({ type: 'stopped' } satisfies BrokerToParent, undefined, {}, () => process.exit(0));
    (broker?.close() ?? Promise.resolve()).then(exit, exit);
  }
});
process.on('disconnect', () => process.exit(0));
