import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { AccessService } from '../../src/access/service.js';
import { AdmissionPacer } from '../../src/access/pacer.js';
import { ClientSession } from '../../src/access/session.js';
import type { AccessConnection, DisconnectReason, HeldSubscription, Refusal, Revocation } from '../../src/access/connection.js';
import type { AdmissionCheck, AdmissionRequest, AccessObserver } from '../../src/access/types.js';
import type { AuthenticationService, AuthnDecision, ClientCredential } from '../../src/authn/types.js';
import type { AuthorizationService } from '../../src/authz/types.js';
import type { ConnectionMeta } from '../../src/transport/types.js';
import { connect, connackCode, endClient, startTestNode, subscribe, type TestNode } from '../helpers/node.js';
import { RawStomp, h } from '../stomp/raw-client.js';
import { startApiNode } from '../api/helpers.js';
import { withTimeout } from '../stomp/clients.js';

/**
 * The one access path (issue 14 point 1): admission checks before authentication on every
 * protocol (issue 15 builds the banned list, flapping and throttling on them), observers,
 * disconnecting connected clients across protocols, expiry, and the synchronous fast path.
 */

const CONF = `
authentication = [{ mechanism = password_based, backend = built_in_database }]
gateway.stomp {
  authentication { mechanism = password_based, backend = built_in_database }
  listeners.tcp.default.bind = "127.0.0.1:0"
}
`;

/** A trivial check: bans one client id and one username, answers server_busy to another id, records what it saw. */
class TestCheck implements AdmissionCheck {
  readonly name = 'test-check';
  readonly seen: AdmissionRequest[] = [];
  check(request: AdmissionRequest): Refusal | undefined {
    // What a check may read (the credential it is given carries more, never to be kept).
    const { listener, protocol, zone, peerhost, clientid, username } = request;
    this.seen.push({ listener, protocol, zone, peerhost, clientid, username });
    if (request.clientid === 'banned-dev' || request.username === 'banned-user') return { reason: 'banned', detail: 'test entry' };
    if (request.clientid === 'busy-dev') return { reason: 'server_busy', detail: 'test queue full' };
    return undefined;
  }
}

async function until(predicate: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function stompLogin(port: number, login: string, passcode: string): Promise<RawStomp> {
  const client = await RawStomp.connect(port);
  client.sendFrame('CONNECT', [['accept-version', '1.2'], ['login', login], ['passcode', passcode]]);
  return client;
}

describe('access service on a node: admission checks, observers, disconnecting clients', () => {
  let t: TestNode;
  const check = new TestCheck();
  const events: string[] = [];
  const observer: AccessObserver = {
    authenticationFailed: (c, r) => events.push(`failed ${c.protocol} ${c.username} ${r.reason}`),
    authenticationSucceeded: (c, s) => events.push(`succeeded ${c.protocol} ${c.username} ${s.authz.clientid === c.clientid}`),
    disconnected: (s) => events.push(`disconnected ${s.authz.protocol} ${s.authz.username}`),
  };
  let unobserve: () => void;

  before(async () => {
    t = await startTestNode(CONF, { admissionChecks: [check] });
    await t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!.add({ user_id: 'alice', password: 'a-pass' });
    await t.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!.add({ user_id: 'banned-user', password: 'b-pass' });
    await t.node.authn.chain('stomp:global')!.entries[0]!.authenticator.users!.add({ user_id: 'stomper', password: 's-pass' });
    await t.node.authn.chain('stomp:global')!.entries[0]!.authenticator.users!.add({ user_id: 'banned-user', password: 'b-pass' });
    unobserve = t.node.access.observe(observer);
  });
  after(async () => {
    unobserve();
    await t.stop();
  });

  const authenticated = () => t.node.authn.metrics.get('client.authenticate');

  test('banned (issue 15 §1): CONNACK 0x8A on MQTT 5, return code 5 on 3.1.1, before any authenticator runs', async () => {
    const before = authenticated();
    // The right password: only the check can refuse it.
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, clientId: 'dev-5', username: 'banned-user', password: 'b-pass' }), 0x8a);
    assert.equal(await connackCode(t.url('ws:default'), { protocolVersion: 4, clientId: 'banned-dev', username: 'alice', password: 'a-pass' }), 5);
    assert.equal(authenticated(), before, 'no authentication ran for a banned client');
    const line = t.logs.find('connection refused', { reason: 'banned', clientid: 'banned-dev' });
    assert.ok(line, t.logs.text());
    assert.equal(line['check'], 'test-check');
    assert.equal(line['detail'], 'test entry');
    assert.equal(line['listener'], 'ws:default');
    assert.equal(line['reason_code'], 5);
    assert.equal(t.node.access.refusals.of('tcp:default').get('banned'), 1);
    assert.equal(t.node.access.refusals.of('ws:default').get('banned'), 1);
    const seen = check.seen.find((r) => r.username === 'banned-user' && r.protocol === 'mqtt');
    assert.deepEqual(seen, { listener: 'tcp:default', protocol: 'mqtt', zone: 'default', peerhost: '127.0.0.1', clientid: 'dev-5', username: 'banned-user' });
  });

  test('server_busy: CONNACK 0x89 on MQTT 5, return code 3 on 3.1.1', async () => {
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, clientId: 'busy-dev', username: 'alice', password: 'a-pass' }), 0x89);
    assert.equal(await connackCode(t.url(), { protocolVersion: 4, clientId: 'busy-dev', username: 'alice', password: 'a-pass' }), 3);
    assert.equal(t.node.access.refusals.of('tcp:default').get('server_busy'), 2);
  });

  test('banned on STOMP: ERROR "Login Failed: banned", then close; the check saw the gateway listener', async () => {
    const before = authenticated();
    const stomp = await stompLogin(t.port('stomp:tcp:default'), 'banned-user', 'b-pass');
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(h(err, 'message'), 'Login Failed: banned');
    await withTimeout(stomp.closedPromise, 2000, 'close after ERROR');
    assert.equal(authenticated(), before);
    const seen = check.seen.find((r) => r.username === 'banned-user' && r.protocol === 'stomp');
    assert.equal(seen?.listener, 'stomp:tcp:default');
    assert.match(seen?.clientid ?? '', /^[a-z0-9]{16}$/, 'the gateway-assigned client id');
    assert.ok(t.logs.find('connection refused', { listener: 'stomp:tcp:default', reason: 'banned', check: 'test-check' }));
  });

  test('observers hear failed and successful authentications and disconnects, on both protocols', async () => {
    events.length = 0;
    assert.equal(await connackCode(t.url(), { protocolVersion: 5, clientId: 'obs-1', username: 'alice', password: 'wrong' }), 0x86);
    const c = await connect(t.url(), { protocolVersion: 5, clientId: 'obs-2', username: 'alice', password: 'a-pass' });
    await endClient(c);
    await until(() => events.length >= 3, 'the MQTT client gone');
    const stomp = await stompLogin(t.port('stomp:tcp:default'), 'stomper', 's-pass');
    assert.equal((await stomp.next()).command, 'CONNECTED');
    stomp.sendFrame('DISCONNECT');
    await withTimeout(stomp.closedPromise, 2000, 'close after DISCONNECT');
    await until(() => events.length >= 5, 'five events');
    assert.deepEqual(events, [
      'failed mqtt alice bad_username_or_password',
      'succeeded mqtt alice true',
      'disconnected mqtt alice',
      'succeeded stomp stomper true',
      'disconnected stomp stomper',
    ]);
  });

  // MQTT 5.0 §3.14.2.1: 0x8A (Banned) is not a DISCONNECT reason code; a banned client already connected gets 0x98.
  test('disconnecting connected clients by predicate, across protocols: MQTT 5 DISCONNECT 0x98, 3.1.1 closed, STOMP ERROR then close', async () => {
    const v5 = await connect(t.url(), { protocolVersion: 5, clientId: 'kick-5', username: 'alice', password: 'a-pass' });
    const v4 = await connect(t.url('ws:default'), { protocolVersion: 4, clientId: 'kick-4', username: 'alice', password: 'a-pass' });
    const keep = await connect(t.url(), { protocolVersion: 5, clientId: 'keep', username: 'alice', password: 'a-pass' });
    const stomp = await stompLogin(t.port('stomp:tcp:default'), 'stomper', 's-pass');
    assert.equal((await stomp.next()).command, 'CONNECTED');
    // aedes reports a client ready just after its CONNACK is written.
    await until(() => t.node.access.connectedCount === 4, 'four clients connected');
    const disconnect5 = new Promise<number | undefined>((resolve) => v5.once('disconnect', (packet: { reasonCode?: number }) => resolve(packet.reasonCode)));
    const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));
    const closed5 = closed(v5);
    const closed4 = closed(v4);
    const count = t.node.access.disconnectWhere((c) => c.clientid.startsWith('kick-') || c.username === 'stomper', 'banned');
    assert.equal(count, 3);
    assert.equal(await withTimeout(disconnect5, 2000, 'DISCONNECT'), 0x98);
    await withTimeout(closed5, 2000, 'v5 closed');
    await withTimeout(closed4, 2000, 'v4 closed');
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(h(err, 'message'), 'Disconnected: banned');
    await withTimeout(stomp.closedPromise, 2000, 'STOMP closed');
    assert.equal(keep.connected, true, 'a client the predicate did not select stays');
    assert.ok(t.logs.find('disconnecting client', { clientid: 'kick-5', reason: 'banned' }));
    // By client id; a client already gone is no longer there to disconnect.
    assert.equal(t.node.access.disconnectClient('kick-5', 'banned'), 0);
    const closedKeep = closed(keep);
    assert.equal(t.node.access.disconnectClient('keep', 'administrative_action'), 1);
    await withTimeout(closedKeep, 2000, 'keep closed');
  });

  test('a client disconnected as banned leaves no will (emqx5-auth.md §13.4); an administrative kick publishes it', async () => {
    const watcher = await connect(t.url(), { protocolVersion: 5, clientId: 'will-watcher', username: 'alice', password: 'a-pass' });
    await subscribe(watcher, 'will/#', 0);
    const wills: string[] = [];
    watcher.on('message', (topic) => wills.push(topic));
    const will = (name: string) => ({ topic: `will/${name}`, payload: Buffer.from('gone'), qos: 0 as const, retain: false });
    await connect(t.url(), { protocolVersion: 5, clientId: 'will-banned', username: 'alice', password: 'a-pass', will: will('banned') });
    await connect(t.url(), { protocolVersion: 5, clientId: 'will-kicked', username: 'alice', password: 'a-pass', will: will('kicked') });
    await until(() => t.node.broker.session('will-kicked') !== undefined && t.node.access.connectedCount >= 3, 'will clients connected');
    assert.equal(t.node.access.disconnectClient('will-banned', 'banned'), 1);
    assert.equal(t.node.access.disconnectClient('will-kicked', 'administrative_action'), 1);
    await until(() => wills.includes('will/kicked'), 'the kicked client\'s will');
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(wills, ['will/kicked']);
    await endClient(watcher);
  });
});

test('refusals and denials are counted per listener and reason on /prometheus/stats', async () => {
  const n = await startApiNode('authentication = [{ mechanism = password_based, backend = built_in_database }]');
  try {
    await n.node.authn.chain('mqtt:global')!.entries[0]!.authenticator.users!.add({ user_id: 'p', password: 'p-pass' });
    assert.equal(await connackCode(`mqtt://127.0.0.1:${n.port()}`, { protocolVersion: 5, username: 'p', password: 'wrong' }), 0x86);
    const c = await connect(`mqtt://127.0.0.1:${n.port()}`, { protocolVersion: 5, username: 'p', password: 'p-pass' });
    // $SYS/ is the broker's: denied (QoS 0, nothing comes back), logged and counted.
    c.publish('$SYS/fake', 'x');
    const deadline = Date.now() + 3000;
    while (!n.logs.find('authorization denied', { topic: '$SYS/fake' }) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const prom = await n.call('GET', '/prometheus/stats');
    assert.match(prom.text, /gatehouse_connection_refusals_total\{listener="tcp:default",reason="bad_username_or_password"\} 1/);
    assert.match(prom.text, /gatehouse_authorization_denials_total\{listener="tcp:default",action="publish"\} 1/);
    await endClient(c);
  } finally {
    await n.stop();
  }
});

/** An authentication service that lets everyone in until `expireAt`. */
function expiringAuthn(ms: number): AuthenticationService {
  return { authenticate: async () => ({ allowed: true, anonymous: false, isSuperuser: false, expireAt: Date.now() + ms }) };
}

test('MQTT: authentication expiry disconnects (MQTT 5 DISCONNECT 0x87, emqx5-auth.md §1.1 step 7; 3.1.1 closed)', async () => {
  const t = await startTestNode('', { authn: expiringAuthn(300) });
  try {
    const v5 = await connect(t.url(), { protocolVersion: 5, clientId: 'exp-5' });
    const v4 = await connect(t.url(), { protocolVersion: 4, clientId: 'exp-4' });
    const reason = new Promise<number | undefined>((resolve) => v5.once('disconnect', (packet: { reasonCode?: number }) => resolve(packet.reasonCode)));
    const closed4 = new Promise<void>((resolve) => v4.once('close', () => resolve()));
    assert.equal(await withTimeout(reason, 3000, 'DISCONNECT at expiry'), 0x87);
    await withTimeout(closed4, 3000, 'v4 closed at expiry');
    assert.ok(t.logs.find('authentication expired: disconnecting', { clientid: 'exp-5', listener: 'tcp:default' }));
    await until(() => t.node.access.connectedCount === 0, 'expired clients forgotten');
  } finally {
    await t.stop();
  }
});

// ---- the service on its own: the synchronous fast path --------------------------------

const META: ConnectionMeta = {
  listenerId: 'tcp:unit',
  transport: 'tcp',
  protocol: 'mqtt',
  peerhost: '127.0.0.1',
  peerport: 1000,
  sockhost: '127.0.0.1',
  sockport: 1883,
  mountpoint: 'dev/${clientid}/',
  enableAuthn: true,
};

class UnitConnection implements AccessConnection {
  closed = false;
  readonly refusals: Refusal[] = [];
  readonly disconnects: DisconnectReason[] = [];
  refuse(refusal: Refusal): number {
    this.refusals.push(refusal);
    return 0x87;
  }
  disconnect(reason: DisconnectReason): void {
    this.disconnects.push(reason);
  }
  subscriptions(): HeldSubscription[] {
    return [];
  }
  revoke(): Revocation {
    return 'unsubscribed';
  }
}

/** An authorization service of the contract's simplest shape: everything but a `$SYS/` publish. */
const allowAllButSys: AuthorizationService = {
  authorize: (_client, request) =>
    request.action === 'publish' && request.topic.startsWith('$SYS/') ? { result: 'deny', from: 'reserved' } : { result: 'allow', from: 'default' },
};

function unitService(authn: AuthenticationService, authz: AuthorizationService = allowAllButSys): AccessService {
  return new AccessService({
    logger: pino({ level: 'silent' }),
    authn: () => authn,
    authz: () => authz,
    certificates: { value: () => undefined, problem: () => 'no certificates here' },
    mqtt: () => ({ peerCertAsUsername: 'disabled', peerCertAsClientid: 'disabled', useUsernameAsClientid: false }),
  });
}

const ALLOW: AuthnDecision = { allowed: true, anonymous: true, isSuperuser: false };

describe('access service: synchronous fast path', () => {
  test('a synchronous decision is answered without a promise, with the mountpoint rendered', () => {
    const service = unitService({ authenticate: async () => ALLOW, decide: () => ALLOW });
    const outcome = service.admit(new UnitConnection(), META, { clientid: 'dev42' });
    assert.ok(outcome instanceof ClientSession, 'a session, not a promise');
    assert.equal(outcome.mountpoint, 'dev/dev42/');
    assert.equal(outcome.authz.clientid, 'dev42');
    // A synchronous authorization answer: the mounted topic, no promise.
    assert.equal(service.authorize(outcome, 'publish', 'temp', 0, false), 'dev/dev42/temp');
    assert.equal(service.authorize(outcome, 'subscribe', '$share/g/t/#', 1, false), '$share/g/dev/dev42/t/#');
    const sys = service.authorize(outcome, 'publish', '$SYS/x', 0, false);
    assert.ok(typeof sys === 'object' && !(sys instanceof Promise) && sys.result === 'deny', 'a $SYS/ publish is denied synchronously');
    assert.equal(service.denials.of('tcp:unit').get('publish'), 1);
  });

  test('an asynchronous decision comes as a promise; a connection closed meanwhile gets nothing', async () => {
    const service = unitService({ authenticate: async () => ALLOW });
    const open = service.admit(new UnitConnection(), META, { clientid: 'dev43' });
    assert.ok(open instanceof Promise);
    assert.ok((await open) instanceof ClientSession);
    const gone = new UnitConnection();
    const pending = service.admit(gone, META, { clientid: 'dev44' });
    gone.closed = true;
    assert.equal(await pending, undefined);
    assert.deepEqual(gone.refusals, []);
  });

  test('past its turn\'s budget an admission waits for a later turn (pacer.ts); one whose connection closes meanwhile is never decided', async () => {
    let asked = 0;
    let clock = 0;
    const service = new AccessService({
      logger: pino({ level: 'silent' }),
      authn: () => ({ authenticate: async () => ALLOW, decide: () => (asked++, ALLOW) }),
      authz: () => allowAllButSys,
      certificates: { value: () => undefined, problem: () => 'no certificates here' },
      mqtt: () => ({ peerCertAsUsername: 'disabled', peerCertAsClientid: 'disabled', useUsernameAsClientid: false }),
      pacer: new AdmissionPacer({ budgetMs: 1, now: () => clock }),
    });
    assert.ok(service.admit(new UnitConnection(), META, { clientid: 'first' }) instanceof ClientSession, 'within the turn\'s budget: at once');
    clock += 2; // the budget is spent
    const waiting = service.admit(new UnitConnection(), META, { clientid: 'second' });
    const gone = new UnitConnection();
    const dropped = service.admit(gone, META, { clientid: 'third' });
    assert.ok(waiting instanceof Promise && dropped instanceof Promise);
    assert.equal(asked, 1, 'nothing decided for the waiting two yet');
    gone.closed = true;
    assert.ok((await waiting) instanceof ClientSession);
    assert.equal(await dropped, undefined);
    assert.equal(asked, 2, 'the closed connection was never authenticated');
    assert.deepEqual(gone.refusals, []);
  });

  test('a refusal is answered through the connection; a value with / in the mountpoint is bad_mountpoint', () => {
    const service = unitService({ authenticate: async () => ALLOW, decide: () => ALLOW });
    const conn = new UnitConnection();
    const outcome = service.admit(conn, META, { clientid: 'a/b' });
    assert.ok(!(outcome instanceof ClientSession) && !(outcome instanceof Promise) && outcome?.reason === 'bad_mountpoint');
    assert.equal(conn.refusals[0]?.placeholder, 'clientid');
    assert.equal(service.refusals.of('tcp:unit').get('bad_mountpoint'), 1);
  });

  test('a throwing authentication service refuses with server_unavailable (fails closed)', () => {
    const service = unitService({
      authenticate: async () => ALLOW,
      decide: (_c: ClientCredential) => {
        throw new Error('down');
      },
    });
    const conn = new UnitConnection();
    const outcome = service.admit(conn, META, { clientid: 'x' });
    assert.equal((outcome as Refusal).reason, 'server_unavailable');
    assert.equal(conn.refusals.length, 1);
  });
});
