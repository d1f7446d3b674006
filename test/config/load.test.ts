import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { nodeConfigChecks as configChecks } from '../../src/main.js';

function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfigText(text, { env, checks: configChecks() });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${(err as Error).message}`);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('config was accepted');
}

describe('configuration: defaults', () => {
  test('an empty file gives the defaults, with tcp:default and ws:default on loopback', () => {
    const c = loadConfigText('');
    // The shipped default of tcp:default, as documented; parsed only, no socket is opened.
    assert.equal(c.listeners.tcp['default']?.bind, '127.0.0.1:1883');
    assert.equal(c.listeners.ws['default']?.bind, '127.0.0.1:8083');
    assert.equal(c.listeners.ws['default']?.websocket.mqtt_path, '/mqtt');
    assert.equal(c.listeners.tcp['default']?.enable_authn, true);
    assert.equal(c.listeners.tcp['default']?.max_connections, 'infinity');
    assert.equal(c.mqtt.idle_timeout, '15s');
    assert.equal(c.node.data_dir, 'data');
    assert.deepEqual(c.authentication, []);
    assert.equal(c.dashboard.listeners.http.bind, '127.0.0.1:18083');
    assert.equal(c.authorization.no_match, 'allow');
  });

  test('EMQX shapes: single authenticator object becomes a one-element chain; enable defaults to true', () => {
    const c = loadConfigText('authentication { mechanism = password_based, backend = built_in_database }');
    assert.equal(c.authentication.length, 1);
    assert.equal(c.authentication[0]?.enable, true);
    const l = loadConfigText('listeners.tcp.other { bind = 0, authentication { mechanism = jwt } }');
    assert.equal(l.listeners.tcp['other']?.authentication.length, 1);
  });

  test('listener fields, IPv6 binds and durations as numbers', () => {
    const c = loadConfigText(`
      listeners.tcp.v6 { bind = "[::1]:0", max_connections = 10, mountpoint = "dev/", enable_authn = quick_deny_anonymous }
      listeners.tcp.port_only { bind = 0, enable = false }
      mqtt.idle_timeout = 1500
    `);
    assert.equal(c.listeners.tcp['v6']?.bind, '[::1]:0');
    assert.equal(c.listeners.tcp['v6']?.max_connections, 10);
    assert.equal(c.listeners.tcp['v6']?.enable_authn, 'quick_deny_anonymous');
    assert.equal(c.listeners.tcp['port_only']?.enable, false);
    assert.equal(c.mqtt.idle_timeout, 1500);
  });
});

describe('configuration: errors name the path, the value and what was expected', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown top-level key', 'listners.tcp.default.bind = 1', /^listners: unknown key/],
    ['unknown listener key', 'listeners.tcp.default.bnid = 1', /^listeners\.tcp\.default\.bnid: unknown key/],
    ['unknown listener type', 'listeners.udp.default.bind = 1', /^listeners\.udp: unknown key/],
    ['wrong type for bind', 'listeners.tcp.default.bind = true', /^listeners\.tcp\.default\.bind: got true, expected a port or "host:port"/],
    ['bind without port', 'listeners.tcp.default.bind = "localhost"', /^listeners\.tcp\.default\.bind: got "localhost", expected a port/],
    ['port out of range', 'listeners.tcp.default.bind = "127.0.0.1:70000"', /^listeners\.tcp\.default\.bind: .*65535/],
    ['bad enable_authn', 'listeners.tcp.default.enable_authn = maybe', /^listeners\.tcp\.default\.enable_authn: got "maybe", expected true, false or quick_deny_anonymous/],
    ['bad max_connections', 'listeners.tcp.default.max_connections = -5', /^listeners\.tcp\.default\.max_connections: got -5, expected a positive integer or "infinity"/],
    ['bad duration', 'mqtt.idle_timeout = "soon"', /^mqtt\.idle_timeout: got "soon", expected a duration/],
    ['bad log level', 'log.console.level = loud', /^log\.console\.level: got "loud", expected one of debug, info/],
    ['bad listener name', 'listeners.tcp."bad name".bind = 1', /^listeners\.tcp(\.bad name)?: /],
    ['mqtt_path without slash', 'listeners.ws.default.websocket.mqtt_path = "mqtt"', /^listeners\.ws\.default\.websocket\.mqtt_path: got "mqtt", expected a path starting with \//],
    ['authenticator without mechanism', 'authentication = [{ backend = built_in_database }]', /^authentication\.0\.mechanism: is required/],
    [
      'fail_if_no_peer_cert without verify_peer',
      'listeners.ssl.default { bind = 0, ssl_options { fail_if_no_peer_cert = true } }',
      /^listeners\.ssl\.default\.ssl_options\.fail_if_no_peer_cert: true requires ssl_options\.verify = verify_peer/,
    ],
    ['authentication is not a list or object', 'authentication = 5', /^authentication: got 5/],
    [
      'a trusted proxy CIDR that is not one',
      'listeners.tcp.default { proxy_protocol = true, proxy_protocol_trusted_cidrs = ["10.0.0.0/8", "10.0.0.0/33"] }',
      /^listeners\.tcp\.default\.proxy_protocol_trusted_cidrs\[1\]: "10\.0\.0\.0\/33" is not an IPv4 or IPv6 CIDR$/,
    ],
    [
      'a trusted proxy CIDR on a gateway listener',
      'gateway.stomp.listeners.tcp.default { proxy_protocol = true, proxy_protocol_trusted_cidrs = ["proxy.example"] }',
      /^gateway\.stomp\.listeners\.tcp\.default\.proxy_protocol_trusted_cidrs\[0\]: "proxy\.example" is not an IPv4 or IPv6 CIDR$/,
    ],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => {
      const found = problems(text);
      assert.ok(
        found.some((p) => expected.test(p)),
        `expected a problem matching ${expected}, got:\n${found.join('\n')}`,
      );
    });
  }

  test('several problems are all reported, one line each', () => {
    const found = problems('listeners.tcp.default.bind = true\nmqtt.idle_timeout = "x"\nfoo = 1');
    assert.equal(found.length, 3, found.join('\n'));
  });

  test('a HOCON syntax error names the file, line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-conf-'));
    const file = join(dir, 'broken.conf');
    writeFileSync(file, 'listeners.tcp.default {\n  bind = "127.0.0.1:0\n}\n');
    assert.throws(
      () => loadConfigFile(file, { env: {} }),
      (err: unknown) => err instanceof ConfigError && /broken\.conf:2:\d+/.test(err.message),
    );
  });
});

describe('configuration: environment overrides', () => {
  test('GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND overrides the file', () => {
    const c = loadConfigText('listeners.tcp.default.bind = "127.0.0.1:0"', {
      env: { GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:11883' },
    });
    assert.equal(c.listeners.tcp['default']?.bind, '127.0.0.1:11883');
  });

  test('values are typed: numbers, booleans, durations, arrays and objects', () => {
    const c = loadConfigText('', {
      env: {
        GATEHOUSE_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS: '500',
        GATEHOUSE_LISTENERS__WS__DEFAULT__ENABLE: 'false',
        GATEHOUSE_MQTT__IDLE_TIMEOUT: '30s',
        GATEHOUSE_LOG__CONSOLE__LEVEL: 'debug',
        GATEHOUSE_AUTHENTICATION: '[{mechanism = password_based, backend = built_in_database}]',
        GATEHOUSE_LISTENERS__TCP__EXTRA: '{bind = "127.0.0.1:0"}',
      },
    });
    assert.equal(c.listeners.tcp['default']?.max_connections, 500);
    assert.equal(c.listeners.ws['default']?.enable, false);
    assert.equal(c.mqtt.idle_timeout, '30s');
    assert.equal(c.log.console.level, 'debug');
    assert.equal(c.authentication[0]?.mechanism, 'password_based');
    assert.equal(c.listeners.tcp['extra']?.bind, '127.0.0.1:0');
  });

  test('a bad override is reported under its config path', () => {
    const found = problems('', { GATEHOUSE_LISTENERS__TCP__DEFAULT__MAX_CONNECTIONS: 'lots' });
    assert.ok(found.some((p) => p.startsWith('listeners.tcp.default.max_connections: got "lots"')), found.join('\n'));
  });

  test('an override of an unknown path is an error, not silently ignored', () => {
    const found = problems('', { GATEHOUSE_LISTENER__TCP__DEFAULT__BIND: '1' });
    assert.ok(found.some((p) => p.startsWith('listener: unknown key')), found.join('\n'));
  });

  test('files read through loadConfigFile see process-style env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-conf-'));
    const file = join(dir, 'g.conf');
    writeFileSync(file, 'node.data_dir = ${?DATA_HOME}"/gh"\n');
    const c = loadConfigFile(file, { env: { DATA_HOME: '/var/lib' } });
    assert.equal(c.node.data_dir, '/var/lib/gh');
  });
});

describe('configuration: the shipped file', () => {
  test('etc/gatehouse.conf is valid and binds loopback only', () => {
    const c = loadConfigFile('etc/gatehouse.conf', { env: {}, checks: configChecks() });
    // What the shipped file says; parsed only, no socket is opened.
    assert.equal(c.listeners.tcp['default']?.bind, '127.0.0.1:1883');
    assert.equal(c.listeners.ws['default']?.bind, '127.0.0.1:8083');
  });
});
