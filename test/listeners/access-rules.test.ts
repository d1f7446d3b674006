import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { AccessRules } from '../../listeners/access-rules.js';
import { loadConfigText } from '../../src/config/load.js';
import { nodeConfigChecks as configChecks } from '../../src/main.js';
import { connect, endClient, startTestNode, type TestNode } from '../helpers/node.js';
import { run } from '../helpers/process.js';

describe('access_rules: parsing and first match (EMQX §11.1)', () => {
  test('the default allows everyone and needs no check', () => {
    assert.equal(AccessRules.parse(['allow all']), undefined);
    assert.equal(AccessRules.parse([]), undefined);
  });
  test('first match wins; an address no rule matches is allowed', () => {
    const rules = AccessRules.parse(['deny 10.1.0.0/16', 'allow 10.0.0.0/8', 'deny 192.168.0.1'])!;
    assert.equal(rules.allows('10.1.2.3'), false);
    assert.equal(rules.allows('10.2.0.1'), true);
    assert.equal(rules.allows('192.168.0.1'), false);
    assert.equal(rules.allows('::ffff:192.168.0.1'), false, 'IPv4-mapped addresses are read as IPv4');
    assert.equal(rules.allows('172.16.0.1'), true);
  });
  test('comma-joined entries, IPv6, deny all', () => {
    const rules = AccessRules.parse(['allow 127.0.0.1, ::1, deny all'])!;
    assert.equal(rules.allows('127.0.0.1'), true);
    assert.equal(rules.allows('::1'), true);
    assert.equal(rules.allows('127.0.0.2'), false);
  });
  for (const bad of ['permit all', 'allow', 'allow 10.0.0.0/33', 'deny nothing', 'allow 1.2.3.4 5.6.7.8']) {
    test(`${JSON.stringify(bad)} is a config error naming the listener's path`, () => {
      assert.throws(
        () => loadConfigText(`listeners.tcp.guarded { bind = "127.0.0.1:0", access_rules = [${JSON.stringify(bad)}] }`, { checks: configChecks() }),
        /listeners\.tcp\.guarded\.access_rules/,
      );
    });
  }
});

describe('access_rules on running listeners', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode(
      [
        'listeners.tcp.closed { bind = "127.0.0.1:0", access_rules = ["deny all"] }',
        'listeners.tcp.picky { bind = "127.0.0.1:0", access_rules = ["deny 127.0.0.2", "allow all"] }',
      ].join('\n'),
    );
  });
  after(async () => {
    await t.stop();
  });

  /** Opens a socket from `localAddress` and reports whether the listener kept it open for 300 ms. */
  function keptOpen(port: number, localAddress: string): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress });
      let closed = false;
      s.on('error', () => undefined);
      s.on('close', () => {
        closed = true;
        resolve(false);
      });
      setTimeout(() => {
        if (!closed) {
          s.destroy();
          resolve(true);
        }
      }, 300);
    });
  }

  test('"deny all": mosquitto_pub cannot connect, and the refusal is logged', async () => {
    const r = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(t.port('tcp:closed')), '-t', 'x', '-m', 'y', '-i', 'denied']);
    assert.notEqual(r.code, 0);
    assert.ok(t.logs.lines.some((l) => l['listener'] === 'tcp:closed' && /denied by access_rules/.test(String(l['reason']))));
  });

  test('"deny 127.0.0.2" refuses that address only', async () => {
    const port = t.port('tcp:picky');
    assert.equal(await keptOpen(port, '127.0.0.2'), false);
    assert.equal(await keptOpen(port, '127.0.0.3'), true);
    const client = await connect(`mqtt://127.0.0.1:${port}`, { clientId: 'allowed', reconnectPeriod: 0 });
    await endClient(client);
  });
});
