import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Bystanders } from './runner.js';
import { sendInput, type Ports } from './target.js';

/**
 * Inputs the fuzzers found, each replayed over a real socket against a broker child with the
 * `#` bystanders connected. After each: the broker is alive, no bystander was disturbed or got
 * a forbidden topic, and a round trip still works. Hex is the whole input (CONNECT included).
 */

interface Regression {
  name: string;
  port: keyof Ports;
  hex: string;
}

const V5_CONNECT = '101000044d5154540502001e000003726570';

const FIXED: readonly Regression[] = [
  {
    // issue #12 point 8: Response Topic 0x08 says 16 bytes, the property block holds 2 (crashed aedes/lib/handlers/publish.js)
    name: 'MQTT 5 PUBLISH with a truncated Response Topic property [MQTT-1.5.4-1] [MQTT-2.2.2-1]',
    port: 'mqtt',
    hex: `${V5_CONNECT}300a000470712f6503080010`,
  },
  {
    // issue #12 point 8: Content Type 0x03 truncated the same way (was forwarded and disconnected every v5 subscriber)
    name: 'MQTT 5 PUBLISH with a truncated Content Type property',
    port: 'mqtt',
    hex: `${V5_CONNECT}300a000470712f6103030010`,
  },
];

describe('fuzz regressions (real sockets)', () => {
  let by: Bystanders;
  before(async () => {
    by = await Bystanders.start();
  });
  after(async () => {
    await by.stop();
  });

  for (const r of FIXED) {
    test(r.name, async () => {
      if (!by.broker.alive) by = await Bystanders.start();
      await sendInput(by.broker.ports[r.port], [Buffer.from(r.hex, 'hex')]);
      assert.deepEqual(await by.roundTrip(), [], `input ${r.hex}`);
    });
  }
});
