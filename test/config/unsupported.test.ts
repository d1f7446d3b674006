import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { configChecks } from '../../src/checks.js';

/** A configuration key is either honoured or refused, never accepted and ignored (issue 14 point 4). */
describe('settings not built yet are refused by check-config, not ignored', () => {
  const load = (text: string) => loadConfigText(text, { checks: configChecks() });

  test('the shipped defaults and EMQX-default values load', () => {
    load(
      [
        'listeners.ws.default { bind = "127.0.0.1:0", websocket { compress = false, mqtt_piggyback = multiple, check_origin_enable = false } }',
        'mqtt.session_expiry_interval = 2h',
        'authorization { no_match = allow, deny_action = ignore, sources = [] }',
      ].join('\n'),
    );
  });

  const refused: Array<[string, string]> = [
    ['listeners.ws.default { bind = "127.0.0.1:0", websocket.compress = true }', 'listeners.ws.default.websocket.compress'],
    ['listeners.ws.default { bind = "127.0.0.1:0", websocket.check_origin_enable = true }', 'listeners.ws.default.websocket.check_origin_enable'],
    ['listeners.wss.default { bind = "127.0.0.1:0", websocket.proxy_address_header = "x-real-ip" }', 'listeners.wss.default.websocket.proxy_address_header'],
    ['listeners.tcp.default.tcp_options.sndbuf = 64KB', 'listeners.tcp.default.tcp_options.sndbuf'],
    ['listeners.tcp.default.tcp_options.active_n = 100', 'listeners.tcp.default.tcp_options.active_n'],
    ['mqtt.session_expiry_interval = 10m', 'mqtt.session_expiry_interval'],
    ['listeners.ssl.default { bind = "127.0.0.1:0", ssl_options.hibernate_after = 1s }', 'listeners.ssl.default.ssl_options.hibernate_after'],
  ];
  for (const [text, path] of refused) {
    test(`${path} is refused with its path and "not supported yet"`, () => {
      assert.throws(
        () => load(text),
        (err: Error) => err.message.includes(path) && err.message.includes('not supported yet'),
      );
    });
  }
});
