// haproxy in front of Gatehouse listeners: Proxy Protocol v1/v2 on plain TCP, TLS passed
// through to an ssl listener, and TLS terminated by haproxy with the client CN in a v2 TLV.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { connect, endClient, startTestNode, type TestNode } from '../helpers/node.js';
import { CONNACK_OK, connectPacket, freePort, RecordingAuthn, startHaproxy } from './support.js';

/** Connects through `port`, sends CONNECT, resolves with the local port once CONNACK arrives. */
function mqttThrough(port: number, clientId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no CONNACK for ${clientId}`))), 5000);
    s.on('connect', () => s.write(connectPacket(clientId)));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.includes(CONNACK_OK)) {
        clearTimeout(timer);
        const local = s.localPort!;
        s.destroy();
        resolve(local);
      }
    });
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

describe('haproxy in front of Gatehouse', () => {
  let dir: string;
  let certs: DevCertPaths;
  let t: TestNode;
  let haproxy: { stop(): Promise<void>; output(): string };
  const authn = new RecordingAuthn();
  const front: Record<string, number> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-haproxy-'));
    certs = await generateDevCertificates(join(dir, 'certs'));
    const combined = join(dir, 'haproxy-server.pem');
    writeFileSync(combined, readFileSync(certs.serverCert, 'utf8') + readFileSync(certs.serverKey, 'utf8'));
    const ssl = `ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}", verify = verify_peer, fail_if_no_peer_cert = true }`;
    t = await startTestNode(
      [
        'listeners.tcp.default { proxy_protocol = true }',
        `listeners.ssl.behind { bind = "127.0.0.1:0", proxy_protocol = true, ${ssl} }`,
        'mqtt.peer_cert_as_username = cn',
      ].join('\n'),
      { authn },
    );
    for (const name of ['v1', 'v2', 'ssl_pass', 'ssl_term']) front[name] = await freePort();
    const tcp = t.port('tcp:default');
    const sslPort = t.port('ssl:behind');
    const config = `
global
  maxconn 200
defaults
  mode tcp
  timeout connect 3s
  timeout client 20s
  timeout server 20s
frontend v1
  bind 127.0.0.1:${front['v1']}
  default_backend v1
backend v1
  server gh 127.0.0.1:${tcp} send-proxy
frontend v2
  bind 127.0.0.1:${front['v2']}
  default_backend v2
backend v2
  server gh 127.0.0.1:${tcp} send-proxy-v2
frontend ssl_pass
  bind 127.0.0.1:${front['ssl_pass']}
  default_backend ssl_pass
backend ssl_pass
  server gh 127.0.0.1:${sslPort} send-proxy-v2
frontend ssl_term
  bind 127.0.0.1:${front['ssl_term']} ssl crt ${combined} ca-file ${certs.caCert} verify required
  default_backend ssl_term
backend ssl_term
  server gh 127.0.0.1:${tcp} send-proxy-v2-ssl-cn
`;
    haproxy = await startHaproxy(dir, config, Object.values(front));
  });

  after(async () => {
    await haproxy?.stop();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('send-proxy (v1) to a tcp listener: authentication sees the client address, not haproxy', async () => {
    const localPort = await mqttThrough(front['v1']!, 'ha-v1');
    const c = await authn.credentialOf('ha-v1');
    assert.equal(c.peerhost, '127.0.0.1');
    assert.equal(c.peerport, localPort, 'the client port from the header');
    assert.equal(c.sockport, front['v1'], 'the port the client connected to (haproxy frontend)');
  });

  test('send-proxy-v2 to a tcp listener', async () => {
    const localPort = await mqttThrough(front['v2']!, 'ha-v2');
    const c = await authn.credentialOf('ha-v2');
    assert.deepEqual([c.peerhost, c.peerport, c.sockport], ['127.0.0.1', localPort, front['v2']]);
  });

  test('TLS passed through haproxy (send-proxy-v2) to an mTLS ssl listener: header read before the handshake', async () => {
    const client = await connect(`mqtts://localhost:${front['ssl_pass']}`, {
      ca: readFileSync(certs.caCert),
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
      clientId: 'ha-ssl-pass',
    });
    const localPort = (client.stream as net.Socket).localPort;
    await endClient(client);
    const c = await authn.credentialOf('ha-ssl-pass');
    assert.equal(c.listener, 'ssl:behind');
    assert.equal(c.peerport, localPort);
    assert.equal(c.cert_common_name, 'device-001');
    assert.equal(c.username, 'device-001');
    // And without a client certificate the handshake behind haproxy still fails.
    await assert.rejects(connect(`mqtts://localhost:${front['ssl_pass']}`, { ca: readFileSync(certs.caCert), clientId: 'ha-ssl-nocert' }));
    assert.equal(authn.seen.some((x) => x.clientid === 'ha-ssl-nocert'), false);
  });

  test('haproxy terminating TLS with send-proxy-v2-ssl-cn: the client CN reaches authentication on a plain listener', async () => {
    const client = await connect(`mqtts://localhost:${front['ssl_term']}`, {
      ca: readFileSync(certs.caCert),
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
      clientId: 'ha-ssl-term',
    });
    const localPort = (client.stream as net.Socket).localPort;
    await endClient(client);
    const c = await authn.credentialOf('ha-ssl-term');
    assert.equal(c.listener, 'tcp:default');
    assert.equal(c.peerport, localPort);
    assert.equal(c.cert_common_name, 'device-001');
    assert.equal(c.cert_subject, 'device-001', 'EMQX: the DN is not transmitted, the CN stands in');
    assert.equal(c.username, 'device-001', 'peer_cert_as_username = cn');
  });
});
