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
    name: 'MQTT 5 PUBLISH with a truncated Response Topic property (a Malformed Packet, MQTT 5 §1.5.4, §2.2.2.2)',
    port: 'mqtt',
    hex: `${V5_CONNECT}300a000470712f6503080010`,
  },
  {
    // issue #12 point 8: Content Type 0x03 truncated the same way (was forwarded and disconnected every v5 subscriber)
    name: 'MQTT 5 PUBLISH with a truncated Content Type property',
    port: 'mqtt',
    hex: `${V5_CONNECT}300a000470712f6103030010`,
  },
  {
    // A valid v5 CONNECT whose will carries Will Delay Interval 5 (session expiry 0, so the will goes out
    // when the connection drops). aedes copied every will property into the PUBLISH it sent subscribers,
    // 0x18 included (fixed in patches/aedes+2.0.0-beta.1.patch, publishWill): a property a PUBLISH must not carry (MQTT 5 §2.2.2.2, §3.3.2.3), so each v5 subscriber
    // got a malformed packet (mqtt.js: "Property willDelayInterval is not allowed in publish", and it
    // loses the packet after it).
    name: 'a will with a Will Delay Interval reaches v5 subscribers without property 0x18 in the PUBLISH',
    port: 'mqtt',
    hex: '102100044d5154540506000000000277640518000000050007667a2f77696c6c000177',
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
      if (!by.broker.alive || by.problems().length > 0) {
        await by.stop().catch(() => undefined);
        by = await Bystanders.start();
      }
      await sendInput(by.broker.ports[r.port], [Buffer.from(r.hex, 'hex')]);
      assert.deepEqual(await by.roundTrip(), [], `input ${r.hex}`);
    });
  }
});
