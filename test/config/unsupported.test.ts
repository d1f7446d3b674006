import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import { configChecks } from '../../src/main.js';

/** A configuration key is either honoured or refused, never accepted and ignored (issue 14 point 4). */
describe('settings not built yet are refused by check-config, not ignored', () => {
  const load = (text: string) => loadConfigText(text, { checks: configChecks() });

  test('the shipped defaults and EMQX-default values load', () => {
    load(
      [
        'listeners.ws.default { bind = "127.0.0.1:0", websocket { compress = false, mqtt_piggyback = multiple, check_origin_enable = false } }',
        'mqtt.session_expiry_interval = 2h',
        'authorization { no_match = allow, deny_action = ignore, sources = [] }',
        'listeners.tcp.default { bind = "127.0.0.1:0", acceptors = 16, zone = default, tcp_options { reuseaddr = true, keepalive = none } }',
        'listeners.tcp.probed { bind = "127.0.0.1:0", tcp_options.keepalive = "240" }',
        'gateway.stomp { enable_stats = false, listeners.tcp.default { bind = "127.0.0.1:0", acceptors = 16, tcp_options.keepalive = "60" } }',
        'dashboard.listeners.https.ssl_options { certfile = "certs/server.pem", keyfile = "certs/server-key.pem" }',
        'flapping_detect { enable = false, window_time = 30s, max_count = 5, ban_time = 1m }',
        'zones.slow.flapping_detect { max_count = 3 }',
        'authentication_settings.login_failures { max_count = 0, window_time = 10s }',
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
    ['listeners.tcp.default.acceptors = 4', 'listeners.tcp.default.acceptors'],
    ['listeners.tcp.default.tcp_options.reuseaddr = false', 'listeners.tcp.default.tcp_options.reuseaddr'],
    ['listeners.tcp.default.tcp_options.recbuf = 64KB', 'listeners.tcp.default.tcp_options.recbuf'],
    ['listeners.tcp.default.tcp_options.keepalive = "240,30,5"', 'listeners.tcp.default.tcp_options.keepalive'],
    ['gateway.stomp.listeners.tcp.default { bind = "127.0.0.1:0", tcp_options.keepalive = "60,10,3" }', 'gateway.stomp.listeners.tcp.default.tcp_options.keepalive'],
    ['gateway.stomp.enable_stats = true', 'gateway.stomp.enable_stats'],
    ['node.cookie = "emqxsecretcookie"', 'node.cookie'],
    ['dashboard.listeners.https.ssl_options.verify = verify_peer', 'dashboard.listeners.https.ssl_options.verify'],
    ['dashboard.listeners.https.ssl_options.cacertfile = "certs/ca.pem"', 'dashboard.listeners.https.ssl_options.cacertfile'],
  ];
  for (const [text, path] of refused) {
    test(`${path} is refused with its path and "not supported yet"`, () => {
      assert.throws(
        () => load(text),
        (err: Error) => err.message.includes(path) && err.message.includes('not supported yet'),
      );
    });
  }

  test('keepalive takes "none" or the idle seconds; anything else is named with what is expected', () => {
    for (const bad of ['0', '-5', '1.5', 'often', '240,30']) {
      assert.throws(
        () => load(`listeners.tcp.default.tcp_options.keepalive = "${bad}"`),
        (err: Error) => err.message.includes('listeners.tcp.default.tcp_options.keepalive') && err.message.includes('expected "none" or the idle seconds'),
        bad,
      );
    }
  });

  test('flapping detection, zones and failed-login bans are built (issue 15): enabled, they load', () => {
    load(
      [
        'flapping_detect { enable = true, window_time = 2s, max_count = 3, ban_time = 1m }',
        'zones.slow.flapping_detect { enable = true, max_count = 10 }',
        'listeners.tcp.default { bind = "127.0.0.1:0", zone = slow }',
        'gateway.stomp.listeners.tcp.default { bind = "127.0.0.1:0", zone = default }',
        'authentication_settings.login_failures { max_count = 5, window_time = 10s, ban_time = 1m }',
      ].join('\n'),
    );
  });

  for (const [text, path] of [
    ['listeners.tcp.default.zone = devices', 'listeners.tcp.default.zone'],
    ['gateway.stomp.listeners.tcp.default { bind = "127.0.0.1:0", zone = other }', 'gateway.stomp.listeners.tcp.default.zone'],
  ]) {
    test(`${path} naming no zones.<name> block is refused with its path`, () => {
      assert.throws(
        () => load(text),
        (err: Error) => err.message.includes(path) && err.message.includes('is not defined') && err.message.includes('zones.'),
      );
    });
  }

  test('an unknown key under dashboard.listeners.https.ssl_options is still an unknown key', () => {
    assert.throws(() => load('dashboard.listeners.https.ssl_options.colour = blue'), /dashboard\.listeners\.https\.ssl_options\.colour: unknown key/);
  });
});
