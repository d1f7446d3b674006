import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApiNode } from './helpers.js';
import { RawStomp, h } from '../stomp/raw-client.js';

test('gateway settings changed through the API apply to the next STOMP connection; a gateway can be enabled at runtime', async (t) => {
  const n = await startApiNode('');
  t.after(() => n.stop());
  assert.equal(n.node.listeners.has('stomp:tcp:default'), false, 'no gateway configured at start');

  // Enable the gateway with a listener and a small body limit: no restart.
  const put = await n.call('PUT', '/gateways/stomp', {
    enable: true,
    frame: { max_body_length: 16 },
    listeners: [{ type: 'tcp', name: 'default', bind: '127.0.0.1:0' }],
  });
  assert.equal(put.status, 204, put.text);
  const port = n.port('stomp:tcp:default');
  const { client } = await RawStomp.login(port);
  client.sendFrame('SEND', [['destination', 'big'], ['content-length', '32']], Buffer.alloc(32, 0x61));
  const err = await client.next();
  assert.equal(err.command, 'ERROR');
  assert.match(h(err, 'message') ?? '', /body/i);
  client.close();

  // Raise the limit: the next connection may send the same frame.
  const raise = await n.call('PUT', '/gateways/stomp', { enable: true, frame: { max_body_length: 65536 }, listeners: [{ type: 'tcp', name: 'default', bind: `127.0.0.1:${port}` }] });
  assert.equal(raise.status, 204, raise.text);
  const again = await RawStomp.login(n.port('stomp:tcp:default'));
  again.client.sendFrame('SEND', [['destination', 'big'], ['content-length', '32'], ['receipt', 'r1']], Buffer.alloc(32, 0x61));
  const receipt = await again.client.next();
  assert.equal(receipt.command, 'RECEIPT');
  again.client.close();
});
