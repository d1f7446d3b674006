import { Client } from '@stomp/stompjs';
import type { MqttClient } from 'mqtt';
import { stompjsConnect } from '../stomp/clients.js';
import { CLIENT_IDS } from './mqtt-gen.js';
import { Rng } from './prng.js';
import { BrokerProcess, Watchers, mqttConnect, sendInput, type Ending, type Ports } from './target.js';

/** One input for the broker: which listener, what bytes (in the writes they go out as). */
export interface FuzzInput {
  port: keyof Ports;
  label: string;
  writes: Buffer[];
}

export interface Fuzzer {
  name: string;
  /** Makes the next input. May throw FuzzCheckError when an in-process check fails. */
  next(rng: Rng): FuzzInput;
}

/** An in-process invariant broken by a generated input (e.g. the Proxy Protocol parser's). */
export class FuzzCheckError extends Error {
  constructor(
    message: string,
    readonly input: Buffer,
  ) {
    super(message);
  }
}

export interface Finding {
  fuzzer: string;
  seed: number;
  /** Index of the input within its fuzzer's stream for this seed. */
  caseIndex: number | undefined;
  what: string;
  port: string;
  label: string;
  hex: string;
}

export interface RunOptions {
  seed: number;
  fuzzers: Fuzzer[];
  /** Inputs per fuzzer (the whole run when durationMs is absent). */
  casesPerFuzzer?: number;
  /** Inputs for a named fuzzer, instead of casesPerFuzzer. */
  quotas?: Readonly<Record<string, number>>;
  durationMs?: number;
  batchSize?: number;
  concurrency?: number;
  /** Record findings and go on (restarting the broker when it died) instead of stopping at the first. */
  keepGoing?: boolean;
  log?: (line: string) => void;
}

export interface MemoryReading {
  heapUsed: number;
  rss: number;
  /** Entries in aedes's client map. */
  clients: number;
  /** aedes's `connectedClients` counter (must equal `clients`). */
  connectedCounter: number;
  clientIds: string[];
  gc: boolean;
}

export interface RunReport {
  seed: number;
  cases: Record<string, number>;
  endings: Record<string, number>;
  batches: number;
  findings: Finding[];
  baseline?: MemoryReading;
  final?: MemoryReading;
  brokerLogs?: Record<string, number>;
  seconds: number;
}

/** A stable per-fuzzer seed, so adding a fuzzer does not change another's inputs. */
function subSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** The well-behaved clients around the fuzz inputs: `#` watchers, a STOMP subscriber, fresh MQTT publishers. */
export class Bystanders {
  private barrier = 0;
  private stompSeen = new Set<string>();
  private stompProblem: string | undefined;

  private constructor(
    readonly broker: BrokerProcess,
    readonly watchers: Watchers,
    private readonly stomp: Client,
  ) {
    stomp.onWebSocketClose = () => {
      this.stompProblem = 'STOMP bystander was disconnected by the broker';
    };
    stomp.onStompError = (f) => {
      this.stompProblem = `STOMP bystander got ERROR ${f.headers['message'] ?? ''}`;
    };
    stomp.subscribe('gh-fuzz/rt/#', (m) => this.stompSeen.add(m.headers['destination'] ?? ''));
  }

  static async start(): Promise<Bystanders> {
    const broker = await BrokerProcess.start();
    const watchers = await Watchers.open(broker.ports.mqtt);
    const { client } = await stompjsConnect({ tcp: broker.ports.stomp });
    return new Bystanders(broker, watchers, client);
  }

  /** Problems seen by any bystander. */
  problems(): string[] {
    return [...(this.broker.alive ? [] : [`broker process died: ${this.broker.death}`]), ...this.watchers.allProblems, ...(this.stompProblem ? [this.stompProblem] : [])];
  }

  /**
   * Round trips through the broker: a fresh MQTT 5 and a fresh 3.1.1 client each publish once,
   * the STOMP bystander sends once; every `#` watcher must get all three, and the STOMP
   * bystander its own message. Also a barrier: what the fuzz inputs made the broker forward
   * has reached the watchers by then.
   */
  async roundTrip(): Promise<string[]> {
    if (!this.broker.alive) return this.problems();
    const n = ++this.barrier;
    const topics = [`gh-fuzz/rt/${n}/v5`, `gh-fuzz/rt/${n}/v4`, `gh-fuzz/rt/${n}/stomp`];
    try {
      for (const [version, topic] of [[5, topics[0]], [4, topics[1]]] as const) {
        const c: MqttClient = await mqttConnect(this.broker.ports.mqtt, { protocolVersion: version, clientId: `gh-fuzz-rt${version}` });
        await new Promise<void>((resolve, reject) => c.publish(topic!, `rt ${n}`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
        await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
      }
      this.stomp.publish({ destination: topics[2]!, body: `rt ${n}` });
      await this.watchers.waitFor(topics);
      const deadline = Date.now() + 5000;
      while (!this.stompSeen.has(topics[2]!)) {
        if (Date.now() > deadline) throw new Error(`STOMP bystander did not get its own message ${topics[2]}`);
        if (this.stompProblem) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      this.stompSeen.clear();
    } catch (err) {
      return [...this.problems(), `round trip failed: ${(err as Error).message}`];
    }
    return this.problems();
  }

  /** Removes what fuzz inputs may legitimately leave behind: sessions of the pool client ids, retained messages. */
  async cleanup(): Promise<void> {
    const port = this.broker.ports.mqtt;
    for (const clientId of CLIENT_IDS) {
      const c = await mqttConnect(port, { protocolVersion: 5, clientId, clean: true, properties: { sessionExpiryInterval: 0 } });
      await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
    }
    const sweeper = await mqttConnect(port, { protocolVersion: 5, clientId: 'gh-fuzz-sweeper' });
    const retained = new Set<string>();
    sweeper.on('message', (topic, _p, packet) => {
      if (packet.retain) retained.add(topic);
    });
    await new Promise<void>((resolve, reject) => sweeper.subscribe('#', (err) => (err ? reject(err) : resolve())));
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const topic of retained) {
      await new Promise<void>((resolve, reject) => sweeper.publish(topic, '', { retain: true, qos: 1 }, (err) => (err ? reject(err) : resolve())));
    }
    await new Promise<void>((resolve) => sweeper.end(false, {}, () => resolve()));
    await this.roundTrip();
  }

  async stop(): Promise<void> {
    if (this.broker.alive) {
      await this.watchers.close();
      await this.stomp.deactivate();
    }
    await this.broker.stop();
  }
}

interface Pending {
  fuzzer: string;
  caseIndex: number;
  input: FuzzInput;
}

async function sendAll(ports: Ports, batch: Pending[], concurrency: number, endings: Record<string, number>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      const item = batch[next++]!;
      const ending: Ending = await sendInput(ports[item.input.port], item.input.writes);
      const key = `${item.fuzzer}:${ending}`;
      endings[key] = (endings[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function hexOf(input: FuzzInput): string {
  return Buffer.concat(input.writes).toString('hex');
}

/**
 * Runs the fuzzers against one broker child. Inputs go out in batches; after each batch the
 * broker must be alive, the bystanders connected and undisturbed, and a round trip must work.
 * When a batch breaks something its inputs are replayed one at a time against a fresh broker
 * to name the one responsible.
 */
export async function runFuzz(opts: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const log = opts.log ?? (() => undefined);
  const batchSize = opts.batchSize ?? 40;
  const concurrency = opts.concurrency ?? 8;
  const streams = opts.fuzzers.map((f) => ({ fuzzer: f, rng: new Rng(subSeed(opts.seed, f.name)), made: 0 }));
  const report: RunReport = { seed: opts.seed, cases: {}, endings: {}, batches: 0, findings: [], seconds: 0 };
  const deadline = opts.durationMs === undefined ? Infinity : started + opts.durationMs;
  const quotaOf = (name: string): number => opts.quotas?.[name] ?? opts.casesPerFuzzer ?? Infinity;
  let by = await Bystanders.start();
  const trip = await by.roundTrip();
  if (trip.length > 0) throw new Error(`bystanders not working before any fuzz input: ${trip.join('; ')}`);

  let turn = 0;
  let baselineTaken = false;
  try {
    while (performance.now() < deadline) {
      const open = streams.filter((s) => s.made < quotaOf(s.fuzzer.name));
      if (open.length === 0) break;
      // The stream furthest behind its quota goes next (so a time bound keeps the quotas' proportions); without quotas, in turn.
      const behind = (x: (typeof open)[number]) => x.made / quotaOf(x.fuzzer.name);
      const stream = open.reduce((a, b) => (behind(b) < behind(a) ? b : a), open[turn++ % open.length]!);
      const batch: Pending[] = [];
      for (let i = 0; i < batchSize && stream.made < quotaOf(stream.fuzzer.name); i++) {
        const caseIndex = stream.made++;
        try {
          batch.push({ fuzzer: stream.fuzzer.name, caseIndex, input: stream.fuzzer.next(stream.rng) });
        } catch (err) {
          if (!(err instanceof FuzzCheckError)) throw err;
          report.findings.push({ fuzzer: stream.fuzzer.name, seed: opts.seed, caseIndex, what: err.message, port: 'in-process', label: 'parser check', hex: err.input.toString('hex') });
          log(`FINDING ${stream.fuzzer.name} seed ${opts.seed} case ${caseIndex}: ${err.message} input ${err.input.toString('hex')}`);
          if (!opts.keepGoing) return report;
        }
      }
      report.cases[stream.fuzzer.name] = (report.cases[stream.fuzzer.name] ?? 0) + batch.length;
      await sendAll(by.broker.ports, batch, concurrency, report.endings);
      report.batches += 1;
      const problems = await by.roundTrip();
      if (problems.length > 0) {
        log(`batch ${report.batches} (${stream.fuzzer.name}) broke something: ${problems.join('; ').slice(0, 2000)}`);
        await by.stop().catch(() => undefined);
        const [findings, fresh] = await isolate(opts.seed, batch, problems, log);
        by = fresh;
        report.findings.push(...findings);
        if (!opts.keepGoing) return report;
        baselineTaken = false; // a new broker: take the baseline again
        report.baseline = undefined;
        continue;
      }
      if (!baselineTaken && streams.every((s) => s.made > 0) && turn >= streams.length) {
        // After one batch of every fuzzer: code paths warmed, caches filled.
        await by.cleanup();
        report.baseline = await by.broker.memory();
        baselineTaken = true;
      }
      if (report.batches % 25 === 0) log(`${report.batches} batches, cases ${JSON.stringify(report.cases)}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    await by.cleanup();
    const after = await by.roundTrip();
    if (after.length > 0) report.findings.push({ fuzzer: 'cleanup', seed: opts.seed, caseIndex: undefined, what: after.join('; '), port: '-', label: '-', hex: '' });
    report.final = await by.broker.memory();
    report.brokerLogs = (await by.broker.logs()).counts;
  } finally {
    await by.stop();
    report.seconds = (performance.now() - started) / 1000;
  }
  return report;
}

/** Replays a batch one input at a time against a fresh broker; returns what it found and a broker for going on. */
async function isolate(seed: number, batch: Pending[], batchProblems: string[], log: (line: string) => void): Promise<[Finding[], Bystanders]> {
  let by = await Bystanders.start();
  const findings: Finding[] = [];
  for (const item of batch) {
    await sendInput(by.broker.ports[item.input.port], item.input.writes);
    const problems = await by.roundTrip();
    if (problems.length === 0) continue;
    const finding: Finding = {
      fuzzer: item.fuzzer,
      seed,
      caseIndex: item.caseIndex,
      what: problems.join('; '),
      port: item.input.port,
      label: item.input.label,
      hex: hexOf(item.input),
    };
    findings.push(finding);
    log(`FINDING ${finding.fuzzer} seed ${seed} case ${finding.caseIndex} on ${finding.port} [${finding.label}]: ${finding.what.slice(0, 1500)}\n  input ${finding.hex}`);
    await by.stop().catch(() => undefined);
    by = await Bystanders.start();
  }
  if (findings.length === 0) {
    // Only the batch together breaks it: report the batch.
    findings.push({
      fuzzer: batch[0]?.fuzzer ?? '?',
      seed,
      caseIndex: batch[0]?.caseIndex,
      what: `only the whole batch reproduces: ${batchProblems.join('; ')}`,
      port: batch[0]?.input.port ?? '-',
      label: 'batch',
      hex: batch.map((b) => `${b.input.port}:${hexOf(b.input)}`).join(' '),
    });
    log(`FINDING (batch of ${batch.length}, not reproduced alone): ${batchProblems.join('; ').slice(0, 1500)}`);
  }
  return [findings, by];
}

/**
 * The memory criterion: after the run and the cleanup, with the same bystanders connected as
 * at the baseline, the broker has the same number of MQTT clients and its heap after forced
 * collections is back within max(4 MiB, 10%) of the baseline. The baseline is taken after one
 * batch of every fuzzer (code paths warmed, caches filled) and the same cleanup. Without
 * `--expose-gc` in the child the reading would be noise, so that is a failure too.
 */
export function memoryProblem(report: RunReport): string | undefined {
  const { baseline, final } = report;
  if (!baseline || !final) return report.findings.length > 0 ? undefined : 'no memory readings (run too short for a baseline?)';
  if (!final.gc) return 'the broker child runs without --expose-gc: heap readings are not comparable';
  if (final.clients !== baseline.clients) return `broker has ${final.clients} MQTT clients after the run, ${baseline.clients} at the baseline`;
  // The fuzzers found the two drifting apart on racing takeovers (fixed in the aedes patch).
  if (final.connectedCounter !== final.clients) return `aedes counts ${final.connectedCounter} connected clients with ${final.clients} in its map`;
  const allowed = Math.max(4 * 1024 * 1024, baseline.heapUsed * 0.1);
  const grown = final.heapUsed - baseline.heapUsed;
  if (grown > allowed) return `heap grew by ${(grown / 1048576).toFixed(1)} MiB (baseline ${(baseline.heapUsed / 1048576).toFixed(1)} MiB, allowed ${(allowed / 1048576).toFixed(1)} MiB)`;
  return undefined;
}
