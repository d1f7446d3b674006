import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { renderMountpoint } from '../../src/authn/mountpoint.js';
import type { ClientCredential } from '../../src/authn/types.js';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { connect, connackCode, endClient, nextMessage, publish, startTestNode, subscribe, type TestNode } from '../helpers/node.js';
import { RawStomp, h } from '../stomp/raw-client.js';

function credential(clientid: string, extra: Partial<ClientCredential> = {}): ClientCredential {
  return { listener: 'tcp:default', protocol: 'mqtt', clientid, peerhost: '127.0.0.1', peerport: 1, sockport: 2, zone: 'default', mountpoint: '', client_attrs: {}, enable_authn: true, ...extra } as ClientCredential;
}

describe('mountpoint rendering (§5.2, gatehouse-choices 3 and 4)', () => {
  test('renders every allowed placeholder', () => {
    const c = credential('c1', { username: 'bob', client_attrs: { site: 'x' } });
    assert.deepEqual(renderMountpoint('m/${clientid}/${username}/${client_attrs.site}/${endpoint_name}/${zone}/', c), { ok: true, mountpoint: 'm/c1/bob/x/c1/default/' });
    assert.deepEqual(renderMountpoint('plain/', c), { ok: true, mountpoint: 'plain/' });
  });
  test('an absent value refuses the client', () => {
    const r = renderMountpoint('m/${username}/', credential('c'));
    assert.equal(r.ok, false);
  });
  for (const bad of ['a+b', 'a#', 'a/b', 'a\u0000b']) {
    test(`a value with ${JSON.stringify(bad)} refuses the client`, () => {
      const r = renderMountpoint('${clientid}/', credential(bad));
      assert.ok(!r.ok && r.placeholder === 'clientid');
    });
  }
});

/**
 * Issue 14: an MQTT listener's `mountpoint = "${clientid}/"` was never rendered, so every
 * client of the listener shared the literal namespace `${clientid}/`. Real clients on tcp, ssl
 * and ws: each client's topics land under its own id, clients cannot read each other, and a
 * client id that would break out of its namespace is refused.
 */
describe('listener mountpoints are rendered per client', () => {
  let t: TestNode;
  let dir: string;
  let certs: DevCertPaths;
  let observer: MqttClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-mount-'));
    certs = await generateDevCertificates(dir);
    const mp = 'mountpoint = "dev/${clientid}/"';
    t = await startTestNode(
      [
        `listeners.tcp.mounted { bind = "127.0.0.1:0", ${mp} }`,
        `listeners.ws.mounted { bind = "127.0.0.1:0", ${mp} }`,
        `listeners.ssl.mounted { bind = "127.0.0.1:0", ${mp}, ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}" } }`,
      ].join('\n'),
    );
    observer = await connect(t.url(), { clientId: 'observer', reconnectPeriod: 0 });
    await subscribe(observer, 'dev/#', 1);
  });
  after(async () => {
    await endClient(observer);
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const listeners = ['tcp:mounted', 'ssl:mounted', 'ws:mounted'] as const;
  for (const id of listeners) {
    test(`${id}: a publish lands under the client's own id, and each client sees only its own namespace`, async () => {
      const opts = id.startsWith('ssl') ? { ca: readFileSync(certs.caCert) } : {};
      const tag = id.split(':')[0]!;
      const a = await connect(t.url(id), { clientId: `dev42-${tag}`, reconnectPeriod: 0, ...opts });
      const b = await connect(t.url(id), { clientId: `dev43-${tag}`, reconnectPeriod: 0, ...opts });
      try {
        await subscribe(b, 'temp', 1);
        const leaked: string[] = [];
        b.on('message', (topic) => leaked.push(topic));
        const seen = nextMessage(observer, `dev/dev42-${tag}/temp`);
        await publish(a, 'temp', '21.5', { qos: 1 });
        assert.equal((await seen).payload.toString(), '21.5', 'mounted under the client id on the bus');
        // b's own publish reaches b (its namespace), a's never did.
        const own = nextMessage(b, 'temp');
        await publish(b, 'temp', 'mine', { qos: 1 });
        assert.equal((await own).payload.toString(), 'mine');
        assert.deepEqual(leaked, ['temp']);
      } finally {
        await endClient(a);
        await endClient(b);
      }
    });
  }

  for (const bad of ['x/y', 'x+', 'x#']) {
    test(`a client id ${JSON.stringify(bad)} is refused (CONNACK 0x85 / 3.1.1 code 2), not moved into another namespace`, async () => {
      assert.equal(await connackCode(t.url('tcp:mounted'), { clientId: bad, protocolVersion: 5, reconnectPeriod: 0 }), 0x85);
      assert.equal(await connackCode(t.url('ws:mounted'), { clientId: bad, protocolVersion: 4, reconnectPeriod: 0 }), 2);
      assert.ok(t.logs.lines.some((l) => l['msg'] === 'connection refused' && l['reason'] === 'bad_mountpoint'));
    });
  }
});

/**
 * STOMP renders its mountpoint with the same engine and the same rules (gatehouse-choices 3
 * and 4), the client id coming from a `clientinfo_override` template over a CONNECT header.
 */
describe('STOMP gateway mountpoints are rendered per client by the same engine', () => {
  let t: TestNode;
  let observer: MqttClient;

  before(async () => {
    t = await startTestNode(`
      gateway.stomp {
        mountpoint = "dev/\${clientid}/"
        clientinfo_override { clientid = "\${Packet.headers.client-id}" }
        listeners.tcp.default.bind = "127.0.0.1:0"
      }
    `);
    observer = await connect(t.url(), { clientId: 'observer', reconnectPeriod: 0 });
    await subscribe(observer, 'dev/#', 1);
  });
  after(async () => {
    await endClient(observer);
    await t.stop();
  });

  test("a SEND lands under the client's own id; another client's subscription does not see it", async () => {
    const port = t.port('stomp:tcp:default');
    const { client: a } = await RawStomp.login(port, [['accept-version', '1.2'], ['client-id', 'dev44']]);
    const { client: b } = await RawStomp.login(port, [['accept-version', '1.2'], ['client-id', 'dev45']]);
    try {
      b.sendFrame('SUBSCRIBE', [['id', '1'], ['destination', 'temp'], ['receipt', 'r']]);
      assert.equal((await b.next()).command, 'RECEIPT');
      const seen = nextMessage(observer, 'dev/dev44/temp');
      a.sendFrame('SEND', [['destination', 'temp'], ['receipt', 's']], '22.5');
      assert.equal((await a.next()).command, 'RECEIPT');
      assert.equal((await seen).payload.toString(), '22.5');
      assert.equal(await b.maybeNext(150), undefined, "b's namespace is its own");
    } finally {
      a.close();
      b.close();
    }
  });

  for (const bad of ['x/y', 'x+', 'x#']) {
    test(`a client id ${JSON.stringify(bad)} is refused: ERROR "Login Failed: bad_mountpoint"`, async () => {
      const stomp = await RawStomp.connect(t.port('stomp:tcp:default'));
      stomp.sendFrame('CONNECT', [['accept-version', '1.2'], ['client-id', bad]]);
      const err = await stomp.next();
      assert.equal(err.command, 'ERROR');
      assert.equal(h(err, 'message'), 'Login Failed: bad_mountpoint');
      await stomp.closedPromise;
      assert.ok(t.logs.lines.some((l) => l['msg'] === 'connection refused' && l['listener'] === 'stomp:tcp:default' && l['reason'] === 'bad_mountpoint' && l['clientid'] === bad));
    });
  }
});
