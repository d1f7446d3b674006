import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '../../src/authn/placeholders.js';
import { topicFilterProblem, topicNameProblem } from '../../gateways/stomp/destination.js';
import { parseHeartBeat } from '../../gateways/stomp/channel.js';
import { stompListenerSpecs } from '../../gateways/stomp/index.js';
import { loadConfigText } from '../../src/config/load.js';
import type { StompGatewayConfig } from '../../src/config/schema.js';

/** clientinfo_override templates go through the one placeholder engine (src/authn/placeholders.ts). */
function renderTemplate(text: string, lookup: (name: string) => string | undefined): string | undefined {
  return Template.compile(text, 'clientinfo').renderOptional(lookup);
}

describe('STOMP gateway parts', () => {
  test('templates: a missing value leaves the field absent, literal text keeps it', () => {
    const lookup = (name: string) => ({ 'Packet.headers.login': 'al' })[name];
    assert.equal(renderTemplate('${Packet.headers.login}', lookup), 'al');
    assert.equal(renderTemplate('${Packet.headers.passcode}', lookup), undefined);
    assert.equal(renderTemplate('u-${Packet.headers.passcode}', lookup), 'u-');
    assert.equal(renderTemplate('', lookup), undefined);
  });

  test('heart-beat header parsing', () => {
    assert.deepEqual(parseHeartBeat(undefined), [0, 0]);
    assert.deepEqual(parseHeartBeat('100, 2000'), [100, 2000]);
    assert.equal(parseHeartBeat('1,x'), undefined);
    assert.equal(parseHeartBeat('-1,0'), undefined);
  });

  test('destinations: names and filters', () => {
    assert.equal(topicNameProblem('a/b'), undefined);
    assert.match(topicNameProblem('a/#') ?? '', /wildcard/);
    assert.match(topicNameProblem('') ?? '', /empty/);
    assert.equal(topicFilterProblem('a/+/#'), undefined);
    assert.equal(topicFilterProblem('#'), undefined);
    assert.match(topicFilterProblem('a/b#') ?? '', /#/);
    assert.match(topicFilterProblem('a+/b') ?? '', /\+/);
    assert.match(topicFilterProblem('$share/g/t') ?? '', /shared/);
  });

  test('listener specs: ids stomp:<type>:<name>; a gateway without listeners gets stomp:tcp:default on 61613', () => {
    const load = (text: string) => loadConfigText(text).gateway.stomp as StompGatewayConfig;
    const none = stompListenerSpecs(load('gateway.stomp { mountpoint = "s/" }'));
    assert.equal(none.length, 1);
    assert.equal(none[0]?.id, 'stomp:tcp:default');
    assert.deepEqual(none[0]?.bind, { host: '127.0.0.1', port: 61613 });
    assert.equal(none[0]?.protocol, 'stomp');
    const some = stompListenerSpecs(load('gateway.stomp.listeners { tcp.a.bind = 7001, ws.b { bind = 7002 } }'));
    assert.deepEqual(some.map((s) => s.id), ['stomp:tcp:a', 'stomp:ws:b']);
    assert.deepEqual(some[1]?.websocket?.path, '/stomp');
    assert.deepEqual(some[1]?.websocket?.subprotocols, ['v12.stomp', 'v11.stomp', 'v10.stomp']);
  });
});
