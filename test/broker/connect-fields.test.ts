import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket, { type IConnectPacket } from 'mqtt-packet';
import { readConnectFields } from '../../src/broker/connect-fields.js';

/** A seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fullParse(bytes: Buffer): IConnectPacket | Error {
  const parser = mqttPacket.parser();
  let out: IConnectPacket | Error = new Error('incomplete');
  parser.on('packet', (p: mqttPacket.Packet) => {
    if (p.cmd === 'connect') out = p;
  });
  parser.on('error', (e: Error) => {
    out = e;
  });
  parser.parse(bytes);
  return out;
}

function randomConnect(rand: () => number): IConnectPacket {
  const version = ([3, 4, 5] as const)[Math.floor(rand() * 3)]!;
  const text = (n: number) => Array.from({ length: Math.floor(rand() * n) }, () => String.fromCharCode(0x21 + Math.floor(rand() * 90))).join('') + (rand() < 0.2 ? 'é✓' : '');
  const packet: IConnectPacket = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: rand() < 0.5,
    keepalive: Math.floor(rand() * 65535),
    clientId: 'c' + text(22),
  };
  const hasUser = rand() < 0.7;
  if (hasUser) packet.username = text(20);
  if (hasUser && rand() < 0.8) packet.password = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
  if (rand() < 0.4) {
    packet.will = { topic: 'will/' + text(10), payload: Buffer.from(text(50)), qos: (Math.floor(rand() * 3) as 0 | 1 | 2), retain: rand() < 0.5 };
    if (version === 5 && rand() < 0.5) packet.will.properties = { willDelayInterval: 5, contentType: 'text/plain', userProperties: { a: 'b' } };
  }
  if (version === 5) {
    packet.properties = {};
    if (rand() < 0.5) packet.properties.sessionExpiryInterval = Math.floor(rand() * 1000);
    if (rand() < 0.3) packet.properties.receiveMaximum = 10;
    if (rand() < 0.3) packet.properties.maximumPacketSize = 65536;
    if (rand() < 0.3) packet.properties.topicAliasMaximum = 5;
    if (rand() < 0.3) packet.properties.requestProblemInformation = true;
    if (rand() < 0.3) packet.properties.userProperties = { k: text(5), z: 'v' };
    if (rand() < 0.3) packet.properties.authenticationMethod = 'SCRAM-SHA-256';
    if (rand() < 0.3 && packet.properties.authenticationMethod) packet.properties.authenticationData = Buffer.from('n,,n=user,r=abc');
  }
  return packet;
}

describe('reading CONNECT fields without the full parser', () => {
  test('agrees with mqtt-packet on 20 000 random well-formed CONNECTs (v3.1, v3.1.1, v5)', () => {
    const rand = prng(7);
    for (let i = 0; i < 20_000; i++) {
      const packet = randomConnect(rand);
      const bytes = mqttPacket.generate(packet, { protocolVersion: packet.protocolVersion });
      const fields = readConnectFields(bytes);
      const reference = fullParse(bytes) as IConnectPacket;
      assert.ok(fields, `case ${i} read`);
      assert.equal(fields.protocolVersion, reference.protocolVersion);
      assert.equal(fields.clientId, reference.clientId);
      assert.equal(fields.username, reference.username);
      assert.deepEqual(fields.password, reference.password === undefined ? undefined : Buffer.from(reference.password));
      assert.equal(fields.authenticationMethod, reference.properties?.authenticationMethod);
      assert.deepEqual(fields.authenticationData, reference.properties?.authenticationData);
    }
  });

  test('mutated and truncated CONNECTs never throw, and never read what the full parser rejects', () => {
    const rand = prng(11);
    let rejected = 0;
    for (let i = 0; i < 20_000; i++) {
      const packet = randomConnect(rand);
      const bytes = Buffer.from(mqttPacket.generate(packet, { protocolVersion: packet.protocolVersion }));
      const mutated = rand() < 0.5 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
      if (mutated === bytes) for (let k = 0; k < 3; k++) mutated[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const fields = readConnectFields(mutated);
      const reference = fullParse(mutated);
      if (reference instanceof Error) {
        if (fields) {
          // Only acceptable when the difference is one mqtt-packet checks and we leave to aedes (e.g. UTF-8 rules).
          assert.fail(`case ${i}: read fields from bytes the full parser rejects (${reference.message}): ${mutated.toString('hex')} ${JSON.stringify(fields)}`);
        }
        rejected++;
      }
    }
    assert.ok(rejected > 1000, `the corpus exercised rejections (${rejected})`);
  });
});
