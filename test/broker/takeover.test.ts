import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { startTestNode } from '../helpers/node.js';

/**
 * [MQTT-3.1.4-2]: a CONNECT with a client id already connected takes the session over. When
 * several such CONNECTs race (found by the fuzzers: aedes's connected-client count drifted
 * upward), one id must end with one live client, and the count must come back to zero.
 */
test('racing takeovers of one client id leave one client and an exact count', async () => {
  const t = await startTestNode();
  try {
    const connect = mqttPacket.generate({ cmd: 'connect', protocolVersion: 5, clientId: 'same-id', clean: true, keepalive: 30 }, { protocolVersion: 5 });
    const open = (): Promise<net.Socket> =>
      new Promise((resolve, reject) => {
        const s = net.connect(t.port(), '127.0.0.1', () => {
          s.write(connect);
          resolve(s);
        });
        s.on('error', reject);
      });
    const first = await open();
    await new Promise((r) => setTimeout(r, 100));
    const racers = await Promise.all(Array.from({ length: 30 }, open));
    // Some racers give up at once, while their takeover is still under way.
    for (const s of racers.slice(0, 15)) setImmediate(() => s.destroy());
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(t.node.broker.connectedClients, 1, 'one live client for one id');
    for (const s of [first, ...racers]) s.destroy();
    const count = () => t.node.broker.connectedClients;
    for (let i = 0; i < 50 && count() !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(count(), 0);
  } finally {
    await t.stop();
  }
});
