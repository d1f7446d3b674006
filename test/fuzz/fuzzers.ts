import { EVERYTHING, KNOWN_BUGS_LEFT_OUT, encode, mqttCase, validConnect, type MqttGenOptions, type MqttVersion } from './mqtt-gen.js';
import { splitWrites } from './prng.js';
import { proxyHeaderCase, proxyParserProblem } from './proxy-gen.js';
import { FuzzCheckError, type Fuzzer } from './runner.js';
import { stompCase, validStompSession } from './stomp-gen.js';

/** MQTT 3.1.1 and 5.0 on the plain tcp listener. */
const mqttFuzzer = (opts: MqttGenOptions): Fuzzer => ({
  name: 'mqtt',
  next(rng) {
    const c = mqttCase(rng, opts);
    return { port: 'mqtt', label: `v${c.version === 5 ? '5' : '3.1.1'} ${c.phase} ${c.label}`, writes: c.writes };
  },
});

/** STOMP on the gateway's plain tcp listener. */
export const stompFuzzer: Fuzzer = {
  name: 'stomp',
  next(rng) {
    const c = stompCase(rng);
    return { port: 'stomp', label: `${c.phase} ${c.label}`, writes: c.writes };
  },
};

/**
 * Proxy Protocol headers, each checked in-process against the reader's invariants, then sent
 * with a valid MQTT or STOMP session behind them to a proxy_protocol listener (sometimes to a
 * listener that expects no header, where a PROXY header must be refused).
 */
const proxyFuzzer = (opts: MqttGenOptions): Fuzzer => ({
  name: 'proxy',
  next(rng) {
    const c = proxyHeaderCase(rng);
    const stomp = rng.chance(0.4);
    const version: MqttVersion = rng.chance(0.5) ? 5 : 4;
    const session = stomp
      ? validStompSession(rng)
      : Buffer.concat([validConnect(rng, version, opts), encode({ type: 3, flags: 0, segments: [{ k: 'str', b: Buffer.from('fz/proxied'), role: 'topic' }, ...(version === 5 ? [{ k: 'props' as const, props: [], owner: 3 }] : []), { k: 'payload', b: Buffer.from('p') }] })]);
    const input = Buffer.concat([c.header, session]);
    const problem = proxyParserProblem(c, input);
    if (problem) throw new FuzzCheckError(`Proxy Protocol reader (${c.label}): ${problem}`, input);
    const stray = rng.chance(0.1);
    const port = stomp ? (stray ? 'stomp' : 'stompProxied') : stray ? 'mqtt' : 'mqttProxied';
    return { port, label: `${c.label}${c.valid ? ' (valid)' : ''} + ${stomp ? 'STOMP' : `MQTT v${version}`}`, writes: splitWrites(rng, input) };
  },
});

/** The three fuzzers; `knownBugs` also generates the inputs of known, still open bugs (see KNOWN_BUGS_LEFT_OUT). */
export function allFuzzers(knownBugs = false): Fuzzer[] {
  const opts = knownBugs ? EVERYTHING : KNOWN_BUGS_LEFT_OUT;
  return [mqttFuzzer(opts), stompFuzzer, proxyFuzzer(opts)];
}

export const FUZZER_NAMES: readonly string[] = ['mqtt', 'stomp', 'proxy'];
