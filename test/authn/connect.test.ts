import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, connackCode, connect, endClient, type TestNode } from '../helpers/node.js';
import { loadConfigText, ConfigError } from '../../src/config/load.js';
import { nodeConfigChecks as configChecks } from '../../src/main.js';

/**
 * Real MQTT 3.1.1 and 5.0 clients against two listeners with different chains:
 * tcp:default uses the global chain (salted sha256), tcp:devices has its own
 * (bcrypt, user ids are client ids). CONNACK codes per §1.2.
 */
describe('built-in database authentication over real connections', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(`
      authentication = [{ mechanism = password_based, backend = built_in_database,
                          password_hash_algorithm { name = sha256, salt_position = suffix } }]
      listeners.tcp.devices {
        bind = "127.0.0.1:0"
        authentication = [{ mechanism = password_based, backend = built_in_database, user_id_type = clientid,
                            password_hash_algorithm { name = bcrypt, salt_rounds = 5 } }]
      }
      listeners.tcp.internal { bind = "127.0.0.1:0", enable_authn = false }
      listeners.tcp.quick { bind = "127.0.0.1:0", enable_authn = quick_deny_anonymous }
    `);
    const global = t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!;
    await global.add({ user_id: 'alice', password: 'Secret-1' });
    await global.add({ user_id: 'root', password: 'r00t', is_superuser: true });
    const devices = t.node.authn.chain('tcp:devices')!.entries[0]!.authenticator.users!;
    await devices.add({ user_id: 'sensor-7', password: 'dev-pass' });
  });
  after(async () => {
    await t.stop();
  });

  for (const version of [4, 5] as const) {
    const bad = version === 5 ? 0x86 : 4;
    const notAuthorized = version === 5 ? 0x87 : 5;
    const v = `MQTT ${version === 5 ? '5.0' : '3.1.1'}`;

    test(`${v}: right credentials on the global chain are accepted`, async () => {
      assert.equal(await connackCode(t.url(), { protocolVersion: version, username: 'alice', password: 'Secret-1' }), 0);
    });
    test(`${v}: wrong password → bad username or password (${bad})`, async () => {
      assert.equal(await connackCode(t.url(), { protocolVersion: version, username: 'alice', password: 'secret-1' }), bad);
    });
    test(`${v}: username but no password → ${bad}`, async () => {
      assert.equal(await connackCode(t.url(), { protocolVersion: version, username: 'alice' }), bad);
    });
    test(`${v}: unknown user (every authenticator ignores) → not authorized (${notAuthorized})`, async () => {
      assert.equal(await connackCode(t.url(), { protocolVersion: version, username: 'mallory', password: 'x' }), notAuthorized);
    });
    test(`${v}: no credentials at all → ${bad} (password absent)`, async () => {
      assert.equal(await connackCode(t.url(), { protocolVersion: version }), bad);
    });
    test(`${v}: the devices listener has its own chain and users (client id as user id)`, async () => {
      const url = t.url('tcp:devices');
      assert.equal(await connackCode(url, { protocolVersion: version, clientId: 'sensor-7', password: 'dev-pass', username: 'anything' }), 0);
      assert.equal(await connackCode(url, { protocolVersion: version, clientId: 'sensor-7', password: 'nope', username: 'x' }), bad);
      // alice exists only in mqtt:global: the listener chain does not fall through.
      assert.equal(await connackCode(url, { protocolVersion: version, clientId: 'c', username: 'alice', password: 'Secret-1' }), notAuthorized);
    });
    test(`${v}: global users cannot use the devices chain and device users cannot use the global one`, async () => {
      assert.equal(await connackCode(t.url(), { protocolVersion: version, clientId: 'sensor-7', username: 'sensor-7', password: 'dev-pass' }), notAuthorized);
    });
    test(`${v}: enable_authn = false lets anyone in`, async () => {
      assert.equal(await connackCode(t.url('tcp:internal'), { protocolVersion: version }), 0);
    });
    test(`${v}: quick_deny_anonymous refuses a client without username (${notAuthorized})`, async () => {
      assert.equal(await connackCode(t.url('tcp:quick'), { protocolVersion: version }), notAuthorized);
      assert.equal(await connackCode(t.url('tcp:quick'), { protocolVersion: version, username: 'alice', password: 'Secret-1' }), 0);
    });
  }

  test('a refused client is logged with listener, chain, authenticator and reason, never the password', async () => {
    await connackCode(t.url(), { protocolVersion: 5, clientId: 'logcheck', username: 'alice', password: 'Wrong-Pass-XYZ' });
    const line = t.logs.lines.find((l) => l['msg'] === 'connection refused' && l['clientid'] === 'logcheck');
    assert.ok(line);
    assert.equal(line['listener'], 'tcp:default');
    assert.equal(line['chain'], 'mqtt:global');
    assert.equal(line['authenticator'], 'password_based:built_in_database');
    assert.equal(line['reason'], 'bad_username_or_password');
    assert.equal(line['reason_code'], 0x86);
    // The line is the whole decision record: each authenticator's answer in order.
    const steps = line['steps'] as Array<Record<string, unknown>>;
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!['authenticator'], 'password_based:built_in_database');
    assert.equal(steps[0]!['result'], 'deny');
    assert.equal(steps[0]!['reason'], 'bad_username_or_password');
    assert.equal(typeof steps[0]!['ms'], 'number');
    assert.ok(!t.logs.text().includes('Wrong-Pass-XYZ'), 'password never logged');
    assert.ok(!t.logs.text().includes('Secret-1'), 'password never logged');
  });

  test('a user added while the node runs works for the next connection; deleting locks them out', async () => {
    const users = t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!;
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'bob', password: 'b' }), 0x87);
    await users.add({ user_id: 'bob', password: 'b' });
    const c = await connect(t.url(), { protocolVersion: 5, username: 'bob', password: 'b' });
    users.delete('bob');
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, username: 'bob', password: 'b' }), 0x87);
    assert.ok(c.connected, 'an already-connected client is not disconnected by the change');
    await endClient(c);
  });

  test('global counters follow the outcomes', () => {
    const m = t.node.authn.metrics.snapshot();
    assert.ok(m['authentication.success'] > 0);
    assert.ok(m['authentication.failure'] > 0);
    const entry = t.node.authn.chain('mqtt:global')!.entries[0]!.metrics.snapshot();
    assert.equal(entry.total, entry.success + entry.failed + entry.nomatch);
  });
});

describe('authenticator config validation', () => {
  const problems = (text: string) => {
    try {
      loadConfigText(text, { checks: configChecks() });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
      throw err;
    }
    return [];
  };
  test('an unknown backend is a clear error naming the path and the available ones', () => {
    const p = problems('authentication = [{ mechanism = password_based, backend = oracle }]');
    assert.ok(p.some((l) => /^authentication\.0\.backend: unknown authenticator "password_based:oracle"; available: .*password_based:built_in_database/.test(l)), p.join('\n'));
  });
  test('an unknown mechanism is reported on mechanism', () => {
    const p = problems('authentication = [{ mechanism = kerberos }]');
    assert.ok(p.some((l) => l.startsWith('authentication.0.mechanism: unknown authenticator "kerberos"')), p.join('\n'));
  });
  test('two authenticators of one type in a chain: an error naming both entries', () => {
    const p = problems(`listeners.tcp.default.authentication = [
      { mechanism = password_based, backend = built_in_database },
      { mechanism = password_based, backend = built_in_database, user_id_type = clientid } ]`);
    assert.ok(
      p.some((l) => l === 'listeners.tcp.default.authentication.1: duplicate authenticator password_based:built_in_database: listeners.tcp.default.authentication.0 is the same type (one per type in a chain)'),
      p.join('\n'),
    );
  });
  test('backend fields are validated by the backend schema', () => {
    const p = problems('authentication { mechanism = password_based, backend = built_in_database, user_id_type = email, colour = red }');
    assert.ok(p.some((l) => l.startsWith('authentication.0.user_id_type: got "email", expected one of username, clientid')), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('authentication.0.colour: unknown key')), p.join('\n'));
  });
  test('a bad password_hash_algorithm is reported on its path', () => {
    const p = problems('authentication { mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = rot13 } }');
    assert.ok(p.some((l) => l.startsWith('authentication.0.password_hash_algorithm:')), p.join('\n'));
  });
  test('bcrypt salt_rounds out of range is clamped in config files (EMQX), not refused', () => {
    assert.deepEqual(problems('authentication { mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = bcrypt, salt_rounds = 14 } }'), []);
  });
  test('STOMP chains are validated too', () => {
    const p = problems('gateway.stomp { authentication { mechanism = password_based, backend = nope } }');
    assert.ok(p.some((l) => l.startsWith('gateway.stomp.authentication.0.backend: unknown authenticator')), p.join('\n'));
  });
});
