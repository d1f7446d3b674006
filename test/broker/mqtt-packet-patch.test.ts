import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket, { type Packet } from 'mqtt-packet';

/**
 * The strict parser (patches/mqtt-packet+9.0.2.patch) still reads every valid packet:
 * each packet type with every property MQTT 5.0 Table 2-4 allows on it is generated,
 * parsed back and compared. The refusals are tested over real sockets in malformed.test.ts.
 */

function parseAll(bytes: Buffer, version: 3 | 4 | 5): { packets: Packet[]; errors: Error[] } {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: Packet[] = [];
  const errors: Error[] = [];
  parser.on('packet', (p: Packet) => packets.push(p));
  parser.on('error', (e: Error) => errors.push(e));
  parser.parse(bytes);
  return { packets, errors };
}

const user = { userProperties: { a: 'b', 'ünï': ['x', 'y'], e: ['', 'f'] } };
const valid: Array<[string, Record<string, unknown>]> = [
  [
    'connect',
    {
      cmd: 'connect', protocolVersion: 5, clientId: 'c-ü', clean: true, keepalive: 30, username: 'u', password: Buffer.from('p'),
      properties: { sessionExpiryInterval: 10, receiveMaximum: 5, maximumPacketSize: 1000, topicAliasMaximum: 3, requestResponseInformation: true, requestProblemInformation: false, authenticationMethod: 'm', authenticationData: Buffer.from([1]), ...user },
      will: { topic: 'w/t', payload: Buffer.from('x'), qos: 1, retain: true, properties: { willDelayInterval: 5, payloadFormatIndicator: true, messageExpiryInterval: 9, contentType: 'text/plain', responseTopic: 'r/t', correlationData: Buffer.from([2]), ...user } },
    },
  ],
  ['connack', { cmd: 'connack', sessionPresent: false, reasonCode: 0, properties: { sessionExpiryInterval: 1, receiveMaximum: 2, maximumQoS: 1, retainAvailable: true, maximumPacketSize: 100, assignedClientIdentifier: 'id', topicAliasMaximum: 4, reasonString: 'ok', wildcardSubscriptionAvailable: true, subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false, serverKeepAlive: 5, responseInformation: 'ri', serverReference: 'sr', authenticationMethod: 'm', authenticationData: Buffer.from([3]), ...user } }],
  ['publish', { cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, messageId: 7, retain: false, dup: false, properties: { payloadFormatIndicator: false, messageExpiryInterval: 4, topicAlias: 2, responseTopic: 'r', correlationData: Buffer.from([4]), contentType: 'c', subscriptionIdentifier: [1, 268435455], ...user } }],
  ['puback', { cmd: 'puback', messageId: 7, reasonCode: 0x10, properties: { reasonString: 'none', ...user } }],
  ['pubrec', { cmd: 'pubrec', messageId: 7, reasonCode: 0, properties: { reasonString: 'r' } }],
  ['pubrel', { cmd: 'pubrel', messageId: 7, reasonCode: 0, properties: { reasonString: 'r' } }],
  ['pubcomp', { cmd: 'pubcomp', messageId: 7, reasonCode: 0, properties: { reasonString: 'r' } }],
  ['subscribe', { cmd: 'subscribe', messageId: 8, properties: { subscriptionIdentifier: 300, ...user }, subscriptions: [{ topic: 'a/+', qos: 1, nl: true, rap: false, rh: 1 }] }],
  ['suback', { cmd: 'suback', messageId: 8, granted: [1, 0x80], properties: { reasonString: 'r', ...user } }],
  ['unsubscribe', { cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['a/+', 'b'], properties: user }],
  ['unsuback', { cmd: 'unsuback', messageId: 9, granted: [0, 0x11], properties: { reasonString: 'r' } }],
  ['disconnect', { cmd: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 0, reasonString: 'bye', serverReference: 's', ...user } }],
  ['auth', { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: Buffer.from([5]), reasonString: 'r', ...user } }],
];

describe('the strict MQTT parser reads every valid packet', () => {
  for (const [name, packet] of valid) {
    test(`MQTT 5 ${name} with every property it may carry`, () => {
      const bytes = mqttPacket.generate(packet as unknown as Packet, { protocolVersion: 5 });
      const { packets, errors } = parseAll(bytes, 5);
      assert.deepEqual(errors, []);
      assert.equal(packets.length, 1);
      assert.deepEqual(JSON.parse(JSON.stringify((packets[0] as { properties?: unknown }).properties ?? null)), JSON.parse(JSON.stringify(packet['properties'] ?? null)));
    });
  }

  test('a DISCONNECT and an AUTH with a Remaining Length of 0 mean success [MQTT-3.15.2-1]', () => {
    const { packets, errors } = parseAll(Buffer.from('e000f000', 'hex'), 5);
    assert.deepEqual(errors, []);
    assert.deepEqual(packets.map((p) => [p.cmd, 'reasonCode' in p ? p.reasonCode : undefined]), [['disconnect', 0], ['auth', 0]]);
  });

  test('MQTT 3.1.1 packets of every kind, back to back in one buffer', () => {
    const list = [
      { cmd: 'connect', protocolVersion: 4, clientId: 'x', clean: true, keepalive: 0, will: { topic: 't', payload: Buffer.alloc(0), qos: 2, retain: false } },
      { cmd: 'publish', topic: 'a/ü', payload: Buffer.from('p'), qos: 2, messageId: 1, retain: true, dup: false },
      { cmd: 'pubrel', messageId: 1 },
      { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: '#', qos: 0 }] },
      { cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['#'] },
      { cmd: 'pingreq' },
      { cmd: 'disconnect' },
    ];
    const bytes = Buffer.concat(list.map((p) => mqttPacket.generate(p as unknown as Packet, { protocolVersion: 4 })));
    const { packets, errors } = parseAll(bytes, 4);
    assert.deepEqual(errors, []);
    assert.deepEqual(packets.map((p) => p.cmd), list.map((p) => p.cmd));
  });

  test('a remaining length is read at any chunking, and its non-minimal form is refused [MQTT-1.5.5-1]', () => {
    const good = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(200), qos: 0, retain: false, dup: false }, { protocolVersion: 4 });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const seen: Packet[] = [];
    parser.on('packet', (p: Packet) => seen.push(p));
    for (const b of good) parser.parse(Buffer.from([b]));
    assert.equal(seen.length, 1);
    const { errors } = parseAll(Buffer.from('30800000', 'hex'), 4);
    assert.match(errors[0]?.message ?? '', /minimally encoded/);
  });
});
