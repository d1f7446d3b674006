import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { connackCode } from '../helpers/node.js';

/**
 * A running `gatehouse start` reads its configuration again on SIGHUP (or `gatehouse
 * reload`, which signals the pid in the data directory) and applies the difference through
 * the node's one `apply`; a file that is refused is named in the log and the node keeps
 * running on its configuration.
 */

const env = {
  GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:0',
  GATEHOUSE_LISTENERS__WS__DEFAULT__BIND: '127.0.0.1:0',
  GATEHOUSE_DASHBOARD__LISTENERS__HTTP__ENABLE: 'false',
};

/** The port a `listener started` line of the log shows. */
function portOf(line: Record<string, unknown>): number {
  return Number(String(line['address']).split(':').pop());
}

/** Waits for the next log line (after `from`) with this message. */
function nextLine(running: RunningCli, from: number, msg: string): Promise<Record<string, unknown>> {
  return running.waitFor((l) => l['msg'] === msg && running.lines.indexOf(l) >= from);
}

test('SIGHUP and gatehouse reload: a new listener starts, a chain changes, a bad file is refused by path while the node keeps running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-reload-'));
  const file = join(dir, 'gatehouse.conf');
  const dataDir = join(dir, 'data');
  const base = `node.data_dir = "${dataDir}"\n`;
  writeFileSync(file, base);
  const running = startCli(['--config', file], env);
  t.after(async () => {
    running.child.kill('SIGTERM');
    await running.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const tcp = await running.waitFor((l) => l['msg'] === 'listener started' && l['listener'] === 'tcp:default');
  await running.waitFor((l) => l['msg'] === 'gatehouse started');
  const url = `mqtt://127.0.0.1:${portOf(tcp)}`;
  assert.equal(readFileSync(join(dataDir, 'gatehouse.pid'), 'utf8').trim(), String(running.child.pid), 'the pid file names the node');
  assert.equal(await connackCode(url, { clientId: 'anon', protocolVersion: 5 }), 0, 'no chain: anonymous clients in');

  await t.test('SIGHUP: a listener added to the file starts, the global chain becomes live', async () => {
    writeFileSync(file, `${base}listeners.tcp.extra.bind = "127.0.0.1:0"\nauthentication = [{ mechanism = password_based, backend = built_in_database }]\n`);
    const from = running.lines.length;
    running.child.kill('SIGHUP');
    const applied = await nextLine(running, from, 'configuration change applied');
    assert.deepEqual([...(applied['changed'] as string[])].sort(), ['authentication', 'listeners.tcp.extra']);
    const extra = await running.waitFor((l) => l['msg'] === 'listener started' && l['listener'] === 'tcp:extra');
    assert.equal(await connackCode(`mqtt://127.0.0.1:${portOf(extra)}`, { clientId: 'x1', username: 'nobody', password: 'x', protocolVersion: 5 }), 0x87, 'the new listener runs, with the new global chain');
    assert.equal(await connackCode(url, { clientId: 'anon', username: 'nobody', password: 'x', protocolVersion: 5 }), 0x87, 'the chain applies to the listener that was there');
  });

  await t.test('a file that does not validate is refused, named in the log; the node keeps its configuration', async () => {
    writeFileSync(file, `${base}listeners.tcp.default.max_connections = zero\n`);
    const from = running.lines.length;
    running.child.kill('SIGHUP');
    const refused = await nextLine(running, from, 'configuration reload refused; the node keeps its configuration');
    assert.match(String(refused['error']), new RegExp(`configuration file ${file.replace(/[.]/g, '\\.')}`));
    assert.match(String(refused['error']), /listeners\.tcp\.default\.max_connections: got "zero"/);
    assert.equal(await connackCode(url, { clientId: 'anon', username: 'nobody', password: 'x', protocolVersion: 5 }), 0x87, 'still running, chain as before');
    assert.equal(running.child.exitCode, null);
  });

  await t.test('a change that needs a restart is refused by path', async () => {
    writeFileSync(file, `${base}listeners.tcp.extra.bind = "127.0.0.1:0"\nauthentication = [{ mechanism = password_based, backend = built_in_database }]\nmqtt.max_packet_size = 2MB\n`);
    const from = running.lines.length;
    running.child.kill('SIGHUP');
    const refused = await nextLine(running, from, 'configuration reload refused; the node keeps its configuration');
    assert.match(String(refused['error']), /mqtt\.max_packet_size: cannot change while the node runs; restart the node to apply it/);
  });

  await t.test('gatehouse reload: checks the file here, signals the node, prints what it did', async () => {
    writeFileSync(file, `${base}listeners.tcp.extra.bind = "127.0.0.1:0"\n`);
    const ok = await runCli(['reload', '--config', file], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'reload applied: changed authentication');
    assert.equal(await connackCode(url, { clientId: 'anon', protocolVersion: 5 }), 0, 'the chain is gone again');

    const same = await runCli(['reload', '--config', file], env);
    assert.deepEqual([same.code, same.stdout.trim()], [0, 'reload applied: nothing changed']);

    writeFileSync(file, `${base}listeners.tcp.extra.bind = true\n`);
    const from = running.lines.length;
    const bad = await runCli(['reload', '--config', file], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /listeners\.tcp\.extra\.bind: got true/);
    assert.equal(running.lines.slice(from).some((l) => String(l['msg']).startsWith('configuration')), false, 'a file refused here is not sent to the node');
  });

  await t.test('stopping removes the pid file; gatehouse reload then finds no node', async () => {
    writeFileSync(file, base);
    running.child.kill('SIGTERM');
    await running.exited;
    assert.equal(existsSync(join(dataDir, 'gatehouse.pid')), false);
    const r = await runCli(['reload', '--config', file], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no running node found/);
  });
});
