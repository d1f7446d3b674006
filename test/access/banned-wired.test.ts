import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connackCodeFrom, connectFrom, endClient, subscribe } from '../helpers/node.js';
import { runCli } from '../helpers/cli.js';
import { startApiNode, viewerAuth, type ApiNode } from '../api/helpers.js';
import { withTimeout } from '../stomp/clients.js';
import { setSubtree } from '../../src/node/changes.js';

/**
 * Issue 15 wired end to end: the banned list, flapping detection and failed-login bans as the
 * first admission checks of the one access path (emqx5-auth.md §1.1 steps 4–5, §13.4), seen by
 * real clients (mqtt.js, mosquitto_pub, a raw STOMP socket) from different loopback addresses
 * (127.0.0.2, 127.0.0.3 are different sources).
 */

// ── clients from a chosen source address ──────────────────────────────────────────────────

const codeFrom = connackCodeFrom;

/** mosquitto_pub with MQTT 3.1.1 from `local`: its exit status and what it printed. */
function mosquittoPub(port: number, local: string, clientid: string, username?: string): Promise<{ status: number | null; output: string }> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-A', local, '-V', 'mqttv311', '-i', clientid, '-t', 'ban/test', '-m', 'x'];
  if (username !== undefined) args.push('-u', username);
  return new Promise((resolve, reject) => {
    const child = spawn('mosquitto_pub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

interface StompAnswer {
  command: string;
  message: string | undefined;
  socket: net.Socket;
  closed: Promise<void>;
  /** Resolves with the next frame's command and message header. */
  next(): Promise<{ command: string; message: string | undefined }>;
}

/** A raw STOMP 1.2 CONNECT from `local`; resolves with the first frame the gateway answers. */
function stompFrom(port: number, local: string, headers: Record<string, string>): Promise<StompAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: local });
    let buffer = '';
    const waiting: Array<(frame: { command: string; message: string | undefined }) => void> = [];
    const frames: Array<{ command: string; message: string | undefined }> = [];
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
        const text = buffer.slice(0, end).replace(/^\n+/, '');
        buffer = buffer.slice(end + 1);
        const lines = text.split('\n');
        // STOMP 1.2 §Value Encoding: after CONNECTED, header values escape ':' as \c.
        const message = lines.find((l) => l.startsWith('message:'))?.slice('message:'.length).replace(/\\c/g, ':');
        const frame = { command: lines[0]!, message };
        const w = waiting.shift();
        if (w) w(frame);
        else frames.push(frame);
      }
    });
    const next = () => new Promise<{ command: string; message: string | undefined }>((r) => (frames.length > 0 ? r(frames.shift()!) : waiting.push(r)));
    socket.once('connect', () => {
      const lines = ['CONNECT', 'accept-version:1.2', 'host:gatehouse', ...Object.entries(headers).map(([k, v]) => `${k}:${v}`)];
      socket.write(`${lines.join('\n')}\n\n\0`);
      next().then((first) => resolve({ ...first, socket, closed, next }), reject);
    });
    socket.once('error', reject);
  });
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

const ANONYMOUS_CONF = `
gateway.stomp {
  clientinfo_override.clientid = "\${Packet.headers.client-id}"
  listeners.tcp.default.bind = "127.0.0.1:0"
}
`;

describe('the banned list on the access path, every kind and protocol (issue 15 points 1, 6)', () => {
  let n: ApiNode;
  before(async () => {
    n = await startApiNode(ANONYMOUS_CONF);
  });
  after(async () => n.stop());

  // A client each kind names, and whether it comes from 127.0.0.2 (the peerhost kinds ban it).
  const kinds: Array<{ as: string; who: string; clientid: string; username: string; from: string }> = [
    { as: 'clientid', who: 'dev-banned', clientid: 'dev-banned', username: 'u-ok', from: '127.0.0.1' },
    { as: 'username', who: 'mallory', clientid: 'dev-1', username: 'mallory', from: '127.0.0.1' },
    { as: 'peerhost', who: '127.0.0.2', clientid: 'dev-2', username: 'u-ok', from: '127.0.0.2' },
    { as: 'clientid_re', who: '^sensor-[0-9]+$', clientid: 'sensor-42', username: 'u-ok', from: '127.0.0.1' },
    { as: 'username_re', who: 'evil', clientid: 'dev-3', username: 'very-evil-user', from: '127.0.0.1' },
    { as: 'peerhost_net', who: '127.0.0.0/30', clientid: 'dev-4', username: 'u-ok', from: '127.0.0.2' },
  ];
  for (const k of kinds) {
    test(`${k.as} ${k.who}: MQTT 3.1.1 code 5 (mqtt.js and mosquitto_pub), 5.0 0x8A, STOMP ERROR then close; others get in`, async () => {
      const added = n.node.protection.banned.add({ as: k.as, who: k.who, reason: `test ${k.as}` });
      assert.equal(added.added, true);
      try {
        const port = n.port();
        const client = { clientId: k.clientid, username: k.username };
        assert.equal(await codeFrom(port, k.from, { ...client, protocolVersion: 4 }), 5);
        assert.equal(await codeFrom(port, k.from, { ...client, protocolVersion: 5 }), 0x8a);
        const mosq = await mosquittoPub(port, k.from, k.clientid, k.username);
        assert.notEqual(mosq.status, 0, mosq.output);
        assert.match(mosq.output, /not authori[sz]ed/i);
        const stomp = await stompFrom(n.port('stomp:tcp:default'), k.from, { login: k.username, 'client-id': k.clientid });
        assert.equal(stomp.command, 'ERROR');
        assert.equal(stomp.message, 'Login Failed: banned');
        await withTimeout(stomp.closed, 2000, 'STOMP close after ERROR');
        // Someone the entry does not name gets in, from another address.
        assert.equal(await codeFrom(port, '127.0.0.5', { clientId: 'bystander', username: 'u-ok', protocolVersion: 5 }), 0);
        // The refusal names the check and the entry.
        const line = n.logs.lines.find((l) => l['msg'] === 'connection refused' && l['check'] === 'banned' && l['clientid'] === k.clientid);
        assert.ok(line, 'refusal logged');
        assert.match(String(line['detail']), new RegExp(`banned as ${k.as} ${JSON.stringify(added.added ? added.entry.who : '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} by "mgmt_api": "test ${k.as}", until infinity`));
      } finally {
        n.node.protection.banned.delete(k.as, k.who);
      }
      assert.equal(await codeFrom(n.port(), k.from, { clientId: k.clientid, username: k.username, protocolVersion: 5 }), 0, 'let in once the entry is deleted');
    });
  }

  test('counted by kind on /prometheus/stats', async () => {
    const prom = await n.call('GET', '/prometheus/stats');
    for (const k of kinds) assert.match(prom.text, new RegExp(`gatehouse_banned_refusals_total\\{as="${k.as}"\\} [1-9]`));
  });

  test('expiry: an entry `until` a moment ahead refuses, then stops matching and leaves the list', async () => {
    const until1 = nowSeconds() + 2;
    n.node.protection.banned.add({ as: 'clientid', who: 'brief', until: until1 });
    assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'brief', protocolVersion: 5 }), 0x8a);
    await until(async () => (await codeFrom(n.port(), '127.0.0.1', { clientId: 'brief', protocolVersion: 5 })) === 0, 'the ban to expire', 4000);
    assert.ok(nowSeconds() >= until1, 'not let in before until');
    await until(() => n.node.protection.banned.get('clientid', 'brief') === undefined, 'the expired entry removed', 3000);
    assert.equal(n.node.store.banned.get('clientid', 'brief'), undefined, 'removed from the store too');
  });

  test('an entry added over the API disconnects matching connected clients: MQTT 5 DISCONNECT 0x98, 3.1.1 closed, STOMP ERROR then close; no will', async () => {
    const watcher = await connectFrom(n.port(), '127.0.0.1', { clientId: 'watcher', protocolVersion: 5 });
    await subscribe(watcher, 'will/#', 0);
    const wills: string[] = [];
    watcher.on('message', (topic) => wills.push(topic));
    const will = (name: string) => ({ topic: `will/${name}`, payload: Buffer.from('gone'), qos: 0 as const, retain: false });
    const v5 = await connectFrom(n.port(), '127.0.0.1', { clientId: 'kick-5', username: 'kickme-a', protocolVersion: 5, will: will('v5') });
    const v4 = await connectFrom(n.port(), '127.0.0.1', { clientId: 'kick-4', username: 'kickme-b', protocolVersion: 4, will: will('v4') });
    const stomp = await stompFrom(n.port('stomp:tcp:default'), '127.0.0.1', { login: 'kickme-c', 'client-id': 'kick-s' });
    assert.equal(stomp.command, 'CONNECTED');
    await until(() => n.node.access.connectedCount === 4, 'four clients connected');
    const reason5 = new Promise<number | undefined>((resolve) => v5.once('disconnect', (p: { reasonCode?: number }) => resolve(p.reasonCode)));
    const closed5 = new Promise<void>((r) => v5.once('close', () => r()));
    const closed4 = new Promise<void>((r) => v4.once('close', () => r()));
    const res = await n.call('POST', '/banned', { as: 'username_re', who: '^kickme-', reason: 'kick test' });
    assert.equal(res.status, 200, res.text);
    // MQTT 5.0 §3.14.2.1: 0x8A is CONNACK-only; a connected client is told 0x98 (Administrative action).
    assert.equal(await withTimeout(reason5, 2000, 'DISCONNECT'), 0x98);
    await withTimeout(closed5, 2000, 'v5 closed');
    await withTimeout(closed4, 2000, 'v4 closed');
    const err = await withTimeout(stomp.next(), 2000, 'STOMP ERROR');
    assert.equal(err.command, 'ERROR');
    assert.equal(err.message, 'Disconnected: banned');
    await withTimeout(stomp.closed, 2000, 'STOMP closed');
    assert.equal(watcher.connected, true, 'a client the entry does not name stays');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(wills, [], 'wills of banned clients are not published (§13.4)');
    await endClient(watcher);
    assert.equal((await n.call('DELETE', '/banned/username_re/' + encodeURIComponent('^kickme-'))).status, 204);
  });

  test('the API over HTTP: paging, filters, errors, roles', async () => {
    assert.equal((await n.call('DELETE', '/banned')).status, 204);
    for (const who of ['p-1', 'p-2', 'p-3']) assert.equal((await n.call('POST', '/banned', { as: 'clientid', who })).status, 200);
    let res = await n.call('GET', '/banned?page=1&limit=2');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data.map((e: { who: string }) => e.who), ['p-1', 'p-2']);
    assert.deepEqual(res.body.meta, { page: 1, limit: 2, count: 3, hasnext: true });
    res = await n.call('GET', '/banned?page=2&limit=2', undefined, viewerAuth);
    assert.equal(res.status, 200, 'a viewer reads');
    assert.deepEqual(res.body.data.map((e: { who: string }) => e.who), ['p-3']);
    assert.equal(res.body.meta.hasnext, false);
    assert.equal(res.body.data[0].until, 'infinity');
    res = await n.call('GET', '/banned?like_clientid=%5Ep-%5B12%5D');
    assert.equal(res.body.meta.count, 2);
    res = await n.call('GET', '/banned?clientid=p-1&username=x');
    assert.equal(res.status, 400);
    res = await n.call('POST', '/banned', { as: 'clientid', who: 'p-1' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'ALREADY_EXISTS');
    assert.equal(JSON.parse(res.body.message).who, 'p-1');
    res = await n.call('POST', '/banned', { as: 'peerhost', who: '300.1.1.1' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'BAD_REQUEST');
    res = await n.call('POST', '/banned', { as: 'colour', who: 'blue' });
    assert.equal(res.status, 400);
    res = await n.call('POST', '/banned', { as: 'clientid', who: 'v-1' }, viewerAuth);
    assert.equal(res.status, 403, 'a viewer may not write');
    res = await n.call('DELETE', '/banned/clientid/nobody');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'NOT_FOUND');
    assert.equal((await n.call('DELETE', '/banned/clientid/p-2')).status, 204);
    assert.equal((await n.call('DELETE', '/banned')).status, 204);
    assert.equal((await n.call('GET', '/banned')).body.meta.count, 0);
  });

  test('POST /authentication/explain names the entry and the check, with the identity rules applied', async () => {
    n.node.protection.banned.add({ as: 'peerhost_net', who: '10.9.0.0/16', reason: 'lab network' });
    try {
      const res = await n.call('POST', '/authentication/explain', { clientid: 'lab-1', peerhost: '10.9.4.4' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.decision.result, 'deny');
      assert.equal(res.body.decision.reason, 'banned');
      assert.equal(res.body.decision.check, 'banned');
      assert.match(res.body.decision.detail, /banned as peerhost_net "10\.9\.0\.0\/16" by "mgmt_api": "lab network", until infinity/);
      assert.deepEqual(res.body.decision.connack, { mqtt5: 0x8a, mqtt3: 5 });
      // Explaining counts nothing.
      const counted = n.node.protection.banned.refusals().peerhost_net;
      await n.call('POST', '/authentication/explain', { clientid: 'lab-1', peerhost: '10.9.4.4' });
      assert.equal(n.node.protection.banned.refusals().peerhost_net, counted);
      const other = await n.call('POST', '/authentication/explain', { clientid: 'lab-1', peerhost: '10.8.4.4' });
      assert.equal(other.body.decision.result, 'allow');
    } finally {
      n.node.protection.banned.delete('peerhost_net', '10.9.0.0/16');
    }
  });
});

describe('durable and shared with the CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-banned-wired-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an entry survives a restart of the node', async () => {
    let n = await startApiNode('', { dataDir: dir });
    try {
      assert.equal((await n.call('POST', '/banned', { as: 'username', who: 'persisted', reason: 'restart test' })).status, 200);
    } finally {
      await n.stop();
    }
    n = await startApiNode('', { dataDir: dir });
    try {
      assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'p', username: 'persisted', protocolVersion: 5 }), 0x8a);
      const res = await n.call('GET', '/banned?username=persisted');
      assert.equal(res.body.data[0].reason, 'restart test');
    } finally {
      await n.stop();
    }
  });

  test('`gatehouse banned add` while the node runs reaches it within about a second, and kicks the client', async () => {
    const n = await startApiNode('', { dataDir: dir });
    try {
      const conf = join(dir, 'cli.conf');
      writeFileSync(conf, `node.data_dir = "${dir}"\n`);
      const connected = await connectFrom(n.port(), '127.0.0.1', { clientId: 'cli-target', protocolVersion: 5 });
      const reason = new Promise<number | undefined>((resolve) => connected.once('disconnect', (p: { reasonCode?: number }) => resolve(p.reasonCode)));
      const r = await runCli(['banned', 'add', 'clientid', 'cli-target', '--reason', 'from the CLI', '--config', conf], {}, 60000);
      assert.equal(r.code, 0, r.stderr);
      const added = Date.now();
      assert.equal(await withTimeout(reason, 2500, 'DISCONNECT after the CLI add'), 0x98);
      assert.ok(Date.now() - added < 1500, `reached the node in ${Date.now() - added} ms`);
      assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'cli-target', protocolVersion: 4 }), 5);
    } finally {
      await n.stop();
    }
  });
});

describe('flapping detection (flapping_detect, zones; emqx5-auth.md §13.4)', () => {
  let n: ApiNode;
  before(async () => {
    n = await startApiNode(`
flapping_detect { enable = true, window_time = 2s, max_count = 3, ban_time = 1m }
zones.calm.flapping_detect { enable = false }
listeners.tcp.calm { bind = "127.0.0.1:0", zone = calm }
`);
  });
  after(async () => n.stop());

  test('a client id that connects max_count times within window_time is banned for ban_time: "flapping is detected"', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'flappy', protocolVersion: 5 }), 0, `attempt ${i + 1}`);
    assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'flappy', protocolVersion: 5 }), 0x8a);
    assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'flappy', protocolVersion: 4 }), 5);
    const entry = n.node.protection.banned.get('clientid', 'flappy');
    assert.equal(entry?.reason, 'flapping is detected');
    assert.equal(entry?.by, 'flapping detector');
    assert.ok(entry.until !== undefined && entry.until - entry.at === 60);
    assert.ok(n.logs.find('flapping detected: client id banned', { clientid: 'flappy', count: 3, window_ms: 2000 }));
    const refused = n.logs.lines.find((l) => l['msg'] === 'connection refused' && l['clientid'] === 'flappy');
    assert.match(String(refused?.['detail']), /flapping_detect of zone default: max_count 3 within window_time 2000 ms, ban_time 60 s/);
    const prom = await n.call('GET', '/prometheus/stats');
    assert.match(prom.text, /gatehouse_flapping_bans_total 1/);
  });

  test('attempts spread wider than the window, and a listener in a zone with detection off, are not banned', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await codeFrom(n.port('tcp:calm'), '127.0.0.1', { clientId: 'calm-dev', protocolVersion: 5 }), 0);
    assert.equal(n.node.protection.banned.get('clientid', 'calm-dev'), undefined);
  });

  test('an API change of flapping_detect applies to the next CONNECT', async () => {
    await n.node.apply(setSubtree(['flapping_detect'], { enable: true, window_time: '2s', max_count: 2, ban_time: '1m' }));
    assert.equal(n.node.protection.flapping.policy().maxCount, 2);
    assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'flappy-2', protocolVersion: 5 }), 0);
    assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'flappy-2', protocolVersion: 5 }), 0);
    assert.equal(await codeFrom(n.port(), '127.0.0.1', { clientId: 'flappy-2', protocolVersion: 5 }), 0x8a);
    await n.node.apply(setSubtree(['flapping_detect', 'enable'], false));
    assert.equal(n.node.protection.flapping.policy().enable, false);
  });
});

describe('failed-login bans (authentication_settings.login_failures)', () => {
  let n: ApiNode;
  before(async () => {
    n = await startApiNode(`
authentication = [{ mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = sha256 } }]
authentication_settings.login_failures { max_count = 3, window_time = 10s, ban_time = 2s }
`);
    const users = n.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!;
    await users.add({ user_id: 'owner', password: 'right' });
    await users.add({ user_id: 'target', password: 'right' });
  });
  after(async () => n.stop());

  test('N wrong passwords from one address ban that address for ban_time; another address still logs in; the ban expires', async () => {
    for (let i = 0; i < 3; i++) {
      // An unknown user is 0x87 (not_authorized), a wrong password 0x86: both count.
      const username = i === 0 ? 'owner' : `guess-${i}`;
      assert.equal(await codeFrom(n.port(), '127.0.0.3', { clientId: `guess-${i}`, username, password: 'wrong', protocolVersion: 5 }), i === 0 ? 0x86 : 0x87);
    }
    const entry = n.node.protection.banned.get('peerhost', '127.0.0.3');
    assert.equal(entry?.reason, 'login_failures');
    assert.ok(n.logs.find('repeated login failures: banned', { as: 'peerhost', who: '127.0.0.3' }));
    // Even the right password is refused from the banned address, before it is looked at.
    assert.equal(await codeFrom(n.port(), '127.0.0.3', { clientId: 'owner-dev', username: 'owner', password: 'right', protocolVersion: 5 }), 0x8a);
    assert.equal(await codeFrom(n.port(), '127.0.0.2', { clientId: 'owner-dev', username: 'owner', password: 'right', protocolVersion: 5 }), 0);
    const refused = n.logs.lines.find((l) => l['msg'] === 'connection refused' && l['clientid'] === 'owner-dev');
    assert.match(String(refused?.['detail']), /banned as peerhost "127\.0\.0\.3" by "login failure tracker": "login_failures", until .*login_failures: max_count 3 within window_time 10000 ms, ban_time 2 s/);
    const explained = await n.call('POST', '/authentication/explain', { clientid: 'x', username: 'owner', password: 'right', peerhost: '127.0.0.3' });
    assert.equal(explained.body.decision.check, 'banned');
    assert.match(explained.body.decision.detail, /peerhost "127\.0\.0\.3"/);
    const prom = await n.call('GET', '/prometheus/stats');
    assert.match(prom.text, /gatehouse_login_failure_bans_total\{as="peerhost"\} 1/);
    await until(async () => (await codeFrom(n.port(), '127.0.0.3', { clientId: 'owner-dev', username: 'owner', password: 'right', protocolVersion: 5 })) === 0, 'the ban to expire', 5000);
  });

  test('N failures for one username ban the username', async () => {
    for (let i = 0; i < 3; i++) {
      const from = i % 2 === 0 ? '127.0.0.4' : '127.0.0.5';
      assert.equal(await codeFrom(n.port(), from, { clientId: `t-${i}`, username: 'target', password: 'wrong', protocolVersion: 4 }), 4);
    }
    assert.equal(n.node.protection.banned.get('username', 'target')?.reason, 'login_failures');
    assert.equal(n.node.protection.banned.get('peerhost', '127.0.0.4'), undefined, 'two failures from each address: no address ban');
  });

  test('an API change of login_failures applies live; max_count = 0 turns it off', async () => {
    await n.node.apply(setSubtree(['authentication_settings', 'login_failures', 'max_count'], 0));
    assert.equal(n.node.protection.loginFailures.enabled, false);
    for (let i = 0; i < 4; i++) await codeFrom(n.port(), '127.0.0.6', { clientId: `o-${i}`, username: `o-${i}`, password: 'wrong', protocolVersion: 5 });
    assert.equal(n.node.protection.banned.get('peerhost', '127.0.0.6'), undefined);
  });
});
