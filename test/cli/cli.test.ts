import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { runCli, startCli, ROOT } from '../helpers/cli.js';
import { connect } from '../helpers/node.js';

function tempConf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
  const file = join(dir, 'gatehouse.conf');
  writeFileSync(file, `node.data_dir = "${join(dir, 'data')}"\n${text}\n`);
  return file;
}

const portZero = {
  GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:0',
  GATEHOUSE_LISTENERS__WS__DEFAULT__BIND: '127.0.0.1:0',
  GATEHOUSE_DASHBOARD__LISTENERS__HTTP__BIND: '127.0.0.1:0',
};

describe('gatehouse command', () => {
  test('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), `gatehouse ${pkg.version}`);
  });

  test('--help lists the commands', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const word of ['start', 'check-config', '--version']) assert.ok(r.stdout.includes(word), word);
  });

  test('an unknown command exits 2 with the help text', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  test('check-config accepts the shipped file', async () => {
    const r = await runCli(['check-config', 'etc/gatehouse.conf']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration is valid/);
  });

  test('check-config lists every problem with its path and exits 1', async () => {
    const file = tempConf('listeners.tcp.default.bind = true\nlisteners.tcp.default.max_connections = zero\nbogus = 1');
    const r = await runCli(['check-config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /listeners\.tcp\.default\.bind: got true, expected a port or "host:port"/);
    assert.match(r.stderr, /listeners\.tcp\.default\.max_connections: got "zero"/);
    assert.match(r.stderr, /bogus: unknown key/);
  });

  test('start with a port in use: one clear line naming the listener and address, non-zero exit', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['start', '--config', tempConf('')], { ...portZero, GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND: `127.0.0.1:${port}` });
      assert.notEqual(r.code, 0);
      const errLines = r.stderr.trim().split('\n');
      assert.equal(errLines.length, 1, r.stderr);
      assert.equal(errLines[0], `gatehouse: listener tcp:default cannot bind 127.0.0.1:${port}: address already in use`);
    } finally {
      blocker.close();
    }
  });

  test('start on the machine\'s Mosquitto port 1883 fails the same way when something holds it', async (t) => {
    const held = await new Promise<boolean>((resolve) => {
      const s = net.connect(1883, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (!held) {
      // Nothing on 1883 here: bind it ourselves so the check still runs.
      const blocker = net.createServer();
      const ok = await new Promise<boolean>((r) => {
        blocker.once('error', () => r(false));
        blocker.listen(1883, '127.0.0.1', () => r(true));
      });
      assert.ok(ok, 'could neither find nor take port 1883');
      t.after(() => blocker.close());
    }
    const r = await runCli(['start', '--config', tempConf('')], { ...portZero, GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:1883' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'gatehouse: listener tcp:default cannot bind 127.0.0.1:1883: address already in use');
  });

  test('SIGTERM with clients connected: v5 clients get DISCONNECT 0x8B, exit 0 within 5 s', async () => {
    const running = startCli(['--config', tempConf('')], portZero);
    const started = await running.waitFor((l) => l['msg'] === 'listener started' && l['listener'] === 'tcp:default');
    assert.match(String(started['address']), /^127\.0\.0\.1:\d+$/);
    await running.waitFor((l) => l['msg'] === 'listener started' && l['listener'] === 'ws:default');
    await running.waitFor((l) => l['msg'] === 'gatehouse started');
    const url = `mqtt://${String(started['address'])}`;
    const v5 = await connect(url, { protocolVersion: 5, clientId: 'shutdown-v5' });
    const v4 = await connect(url, { protocolVersion: 4, clientId: 'shutdown-v4' });
    const disconnectCode = new Promise<number>((resolve) => v5.once('disconnect', (p: mqtt.IDisconnectPacket) => resolve(p.reasonCode ?? -1)));
    const v4Closed = new Promise<void>((resolve) => v4.once('close', () => resolve()));
    const t0 = Date.now();
    running.child.kill('SIGTERM');
    const exit = await running.exited;
    const elapsed = Date.now() - t0;
    assert.equal(exit.code, 0, running.stderr());
    assert.ok(elapsed < 5000, `exited after ${elapsed} ms`);
    assert.equal(await disconnectCode, 0x8b);
    await v4Closed;
    assert.ok(running.lines.some((l) => l['msg'] === 'stopped'));
    v5.end(true);
    v4.end(true);
  });

  test('logs are JSON lines with one line per listener (id, address, protocol)', async () => {
    const running = startCli(['--config', tempConf('')], portZero);
    const tcp = await running.waitFor((l) => l['msg'] === 'listener started' && l['listener'] === 'tcp:default');
    assert.equal(tcp['protocol'], 'mqtt');
    assert.equal(tcp['transport'], 'tcp');
    running.child.kill('SIGINT');
    const exit = await running.exited;
    assert.equal(exit.code, 0);
    assert.equal(running.lines.filter((l) => l['msg'] === 'listener started').length, 2);
  });
});

describe('gatehouse start: the management API port', () => {
  test('a busy dashboard port is one clear line naming dashboard:http and the address', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['start', '--config', tempConf('')], { ...portZero, GATEHOUSE_DASHBOARD__LISTENERS__HTTP__BIND: `127.0.0.1:${port}` });
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), `gatehouse: listener dashboard:http cannot bind 127.0.0.1:${port}: address already in use`);
    } finally {
      blocker.close();
    }
  });
});
