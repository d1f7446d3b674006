import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Listener } from '../../listeners/listener.js';
import { createStompFront, stompListenerSpecs } from '../../gateways/stomp/index.js';
import { MqttBroker } from '../../src/broker/broker.js';
import { AccessService } from '../../src/access/service.js';
import { loadConfigText } from '../../src/config/load.js';
import type { StompGatewayConfig } from '../../src/config/schema.js';
import type { AuthenticationService, AuthnDecision, ClientCredential } from '../../src/authn/types.js';
import type { AuthorizationService, AuthzClient, AuthzDecision, AuthzRequest } from '../../src/authz/types.js';
import { LogCapture } from '../helpers/node.js';
import { RawStomp, h } from './raw-client.js';
import { stompitConnect, stompjsConnect, withTimeout } from './clients.js';

/**
 * The gateway with stub authentication and authorization services (the real chains live in
 * src/authn and src/authz): what the services are asked, and what a refusal looks like on the wire.
 */

function gatewayConfig(extra = ''): StompGatewayConfig {
  const config = loadConfigText(`gateway.stomp {\n listeners.tcp.test.bind = "127.0.0.1:0"\n ${extra}\n}`);
  return config.gateway.stomp as StompGatewayConfig;
}

/** Records what it is asked; `answer` is the test's decision (only `authenticate`: no synchronous `decide`). */
class StubAuthn implements AuthenticationService {
  readonly seen: ClientCredential[] = [];
  answer: (c: ClientCredential) => AuthnDecision | Promise<AuthnDecision> = () => ({ allowed: true, anonymous: true, isSuperuser: false });
  async authenticate(credential: ClientCredential): Promise<AuthnDecision> {
    this.seen.push(credential);
    return this.answer(credential);
  }
}

/** A stub authorization source: denies publish under `secret/` and subscribe under `private/`. */
class StubAuthz implements AuthorizationService {
  readonly seen: Array<{ client: AuthzClient; request: AuthzRequest }> = [];
  authorize(client: AuthzClient, request: AuthzRequest): AuthzDecision | Promise<AuthzDecision> {
    // The request object is refilled for the next question (the contract): keep a copy.
    this.seen.push({ client, request: { ...request } });
    const denied =
      (request.action === 'publish' && request.topic.startsWith('secret/')) ||
      (request.action === 'subscribe' && request.topic.startsWith('private/'));
    const decision: AuthzDecision = denied ? { result: 'deny', from: 'stub', reason: 'rule 1' } : { result: 'allow', from: 'stub' };
    // Exercise both the synchronous and the promise form of the interface.
    return request.action === 'publish' ? decision : Promise.resolve(decision);
  }
}

describe('STOMP gateway: authentication and authorization through the services', () => {
  let broker: MqttBroker;
  let listener: Listener;
  let port: number;
  let logs: LogCapture;
  let settings: StompGatewayConfig;
  const authn = new StubAuthn();
  const authz = new StubAuthz();

  before(async () => {
    logs = new LogCapture('debug');
    settings = gatewayConfig('mountpoint = "gw/"');
    const access = new AccessService({
      logger: logs.logger,
      authn: () => authn,
      authz: () => authz,
      // No TLS listener here: no certificate field is ever asked for.
      certificates: { value: () => undefined, problem: () => 'no certificate fields in this test' },
      mqtt: () => ({ peerCertAsUsername: 'disabled', peerCertAsClientid: 'disabled', useUsernameAsClientid: false }),
    });
    broker = await MqttBroker.create({ logger: logs.logger, access });
    const handler = createStompFront({ logger: logs.logger, broker, access, settings: () => settings });
    const [spec] = stompListenerSpecs(settings);
    assert.equal(spec?.id, 'stomp:tcp:test');
    listener = new Listener(spec!, { handler, logger: logs.logger, steps: [] });
    port = (await listener.start()).port;
  });
  after(async () => {
    await listener.stop();
    await broker.close();
  });
  beforeEach(() => {
    authn.seen.length = 0;
    authz.seen.length = 0;
    authn.answer = () => ({ allowed: true, anonymous: true, isSuperuser: false });
    settings = gatewayConfig('mountpoint = "gw/"');
  });

  test('login/passcode become username/password; listener id and protocol are the gateway\'s', async () => {
    const { client } = await RawStomp.login(port, [['accept-version', '1.2'], ['login', 'alice'], ['passcode', 's3cret:x']]);
    const c = authn.seen[0];
    assert.ok(c);
    assert.equal(c.username, 'alice');
    assert.deepEqual(c.password, Buffer.from('s3cret:x'));
    assert.equal(c.listener, 'stomp:tcp:test');
    assert.equal(c.protocol, 'stomp');
    assert.equal(c.peerhost, '127.0.0.1');
    assert.match(c.clientid, /^[a-z0-9]{16}$/, 'a random 16-character client id');
    client.close();
  });

  test('no login header: no username and no password (never "undefined")', async () => {
    const { client } = await RawStomp.login(port);
    const c = authn.seen[0];
    assert.ok(c);
    assert.equal('username' in c, false);
    assert.equal('password' in c, false);
    client.close();
  });

  test('clientinfo_override takes the client id from a header', async () => {
    settings = gatewayConfig('clientinfo_override { clientid = "${Packet.headers.client-id}", username = "u-${Packet.headers.login}" }');
    const { client } = await RawStomp.login(port, [['accept-version', '1.2'], ['client-id', 'dev-7'], ['login', 'bob']]);
    assert.equal(authn.seen[0]?.clientid, 'dev-7');
    assert.equal(authn.seen[0]?.username, 'u-bob');
    client.close();
  });

  test('refusal: ERROR "Login Failed: <reason>", then close; the passcode is not logged', async () => {
    authn.answer = () => ({ allowed: false, reason: 'bad_username_or_password', chain: 'stomp:tcp:test', authenticator: 'password_based:built_in_database' });
    const stomp = await RawStomp.connect(port);
    stomp.sendFrame('CONNECT', [['accept-version', '1.2'], ['login', 'mallory'], ['passcode', 'hunter2-secret']]);
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(err.body.toString(), 'Login Failed: bad_username_or_password');
    assert.equal(h(err, 'message'), 'Login Failed: bad_username_or_password');
    await withTimeout(stomp.closedPromise, 2000, 'close');
    const line = logs.find('connection refused', { username: 'mallory' });
    assert.ok(line, 'refusal logged');
    assert.equal(line['reason'], 'bad_username_or_password');
    assert.equal(line['chain'], 'stomp:tcp:test');
    assert.doesNotMatch(logs.text(), /hunter2-secret/);
  });

  test('refusal seen by stompjs; stompjs and stompit log in with good credentials', async () => {
    authn.answer = (c) =>
      c.username === 'good' && c.password?.toString() === 'pw'
        ? { allowed: true, anonymous: false, isSuperuser: false }
        : { allowed: false, reason: 'not_authorized' };
    await assert.rejects(stompjsConnect({ tcp: port }, { connectHeaders: { login: 'bad', passcode: 'pw' } }), /Login Failed: not_authorized/);
    const ok = await stompjsConnect({ tcp: port }, { connectHeaders: { login: 'good', passcode: 'pw' } });
    assert.equal(ok.client.connected, true);
    await ok.client.deactivate();
    const ok2 = await stompitConnect(port, { login: 'good', passcode: 'pw' });
    assert.equal(authn.seen.at(-1)?.username, 'good');
    ok2.destroy();
  });

  test('a failing authentication service refuses with server_unavailable', async () => {
    authn.answer = () => {
      throw new Error('backend down');
    };
    const stomp = await RawStomp.connect(port);
    stomp.sendFrame('CONNECT', [['accept-version', '1.2']]);
    assert.equal((await stomp.next()).body.toString(), 'Login Failed: server_unavailable');
    await withTimeout(stomp.closedPromise, 2000, 'close');
  });

  test('SEND denied: ERROR "Insufficient permissions for T" with receipt-id, close, nothing published', async () => {
    const watcher = (await RawStomp.login(port)).client;
    watcher.sendFrame('SUBSCRIBE', [['id', 'w'], ['destination', 'secret/#'], ['receipt', 'r']]);
    await watcher.next();
    const { client: stomp } = await RawStomp.login(port, [['accept-version', '1.2'], ['login', 'eve']]);
    stomp.sendFrame('SEND', [['destination', 'secret/plans'], ['receipt', 'send-1']], 'leak');
    const err = await stomp.next();
    assert.equal(err.command, 'ERROR');
    assert.equal(h(err, 'message'), 'Insufficient permissions for secret/plans');
    assert.equal(h(err, 'receipt-id'), 'send-1');
    await withTimeout(stomp.closedPromise, 2000, 'close after denial');
    assert.equal(await watcher.maybeNext(150), undefined, 'the denied message was not published');
    const asked = authz.seen.find((s) => s.request.action === 'publish');
    assert.ok(asked);
    // The unmounted topic, QoS 0, no retain; the client as authentication left it.
    assert.deepEqual(asked.request, { action: 'publish', topic: 'secret/plans', qos: 0, retain: false });
    assert.equal(asked.client.protocol, 'stomp');
    assert.equal(asked.client.username, 'eve');
    assert.equal(asked.client.listener, 'stomp:tcp:test');
    assert.equal(asked.client.mountpoint, 'gw/');
    const line = logs.find('authorization denied', { topic: 'secret/plans' });
    assert.ok(line);
    assert.equal(line['from'], 'stub');
    assert.equal(line['action'], 'publish');
    watcher.close();
  });

  test('SUBSCRIBE denied: ERROR with the destination, then close', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'private/+'], ['receipt', 'sub-1']]);
    const err = await stomp.next();
    assert.equal(h(err, 'message'), 'Insufficient permissions for private/+');
    assert.equal(h(err, 'receipt-id'), 'sub-1');
    await withTimeout(stomp.closedPromise, 2000, 'close after denial');
    assert.deepEqual(authz.seen.at(-1)?.request, { action: 'subscribe', topic: 'private/+', qos: 0, retain: false });
  });

  test('a SEND denied inside a transaction is refused at SEND time', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('BEGIN', [['transaction', 'tx']]);
    stomp.sendFrame('SEND', [['destination', 'secret/x'], ['transaction', 'tx']], 'x');
    assert.equal(h(await stomp.next(), 'message'), 'Insufficient permissions for secret/x');
    await withTimeout(stomp.closedPromise, 2000, 'close');
  });

  test('allowed SEND lands under the gateway mountpoint', async () => {
    const delivered: string[] = [];
    const deliver = (packet: { topic: string }, done: () => void) => {
      delivered.push(packet.topic);
      done();
    };
    await new Promise<void>((resolve) => broker.aedes.subscribe('gw/#', deliver, () => resolve()));
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SEND', [['destination', 'open/1'], ['receipt', 'r']], 'x');
    assert.equal((await stomp.next()).command, 'RECEIPT');
    assert.deepEqual(delivered, ['gw/open/1']);
    await new Promise<void>((resolve) => broker.aedes.unsubscribe('gw/#', deliver, () => resolve()));
    stomp.close();
  });

  test('mountpoint template: ${username} renders; a wildcard in the value is refused', async () => {
    settings = gatewayConfig('mountpoint = "user/${username}/"');
    const { client } = await RawStomp.login(port, [['accept-version', '1.2'], ['login', 'carol']]);
    client.sendFrame('SEND', [['destination', 'x'], ['receipt', 'r']], 'x');
    await client.next();
    assert.equal(authz.seen.at(-1)?.client.mountpoint, 'user/carol/');
    client.close();
    const bad = await RawStomp.connect(port);
    bad.sendFrame('CONNECT', [['accept-version', '1.2'], ['login', 'a/#']]);
    assert.equal((await bad.next()).body.toString(), 'Login Failed: bad_mountpoint');
    await withTimeout(bad.closedPromise, 2000, 'close');
  });

  test('unsubscribing on close: a closed subscriber leaves no broker subscription behind', async () => {
    const { client: stomp } = await RawStomp.login(port);
    stomp.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'leak/t'], ['receipt', 'r']]);
    await stomp.next();
    const mq = (broker.aedes as unknown as { mq: { _matcher: { match(topic: string): unknown[] } } }).mq;
    assert.equal(mq._matcher.match('gw/leak/t').length, 1, 'subscribed while connected');
    stomp.close();
    await stomp.closedPromise;
    await new Promise((r) => setTimeout(r, 50));
    // Publishing after the close must not reach the dead connection (nor throw).
    await broker.publish({ cmd: 'publish', topic: 'gw/leak/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    assert.equal(mq._matcher.match('gw/leak/t').length, 0, 'the same deliver function was unsubscribed');
  });

  test('authentication expiry closes the connection', async () => {
    authn.answer = () => ({ allowed: true, anonymous: false, isSuperuser: false, expireAt: Date.now() + 150 });
    const { client } = await RawStomp.login(port);
    await withTimeout(client.closedPromise, 2000, 'close at expiry');
    assert.ok(logs.find('stomp connection closed', { reason: 'authentication expired' }));
  });
});
