import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { generateDevCertificates } from '../../certs/generate.js';
import { runCli } from '../helpers/cli.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/** Opens TLS-PSK, sends CONNECT, resolves with the CONNACK bytes (rejects when the handshake fails). */
function pskConnect(port: number, identity: string, secret: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ciphers: 'PSK-AES128-GCM-SHA256',
      maxVersion: 'TLSv1.2',
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ identity, psk: Buffer.from(secret) }),
    });
    socket.once('secureConnect', () => socket.write(mqttPacket.generate({ cmd: 'connect', clientId: `psk-${identity}`, protocolVersion: 4, clean: true, keepalive: 30 })));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed')));
  });
}

describe('gatehouse psk: identities reload without a restart', () => {
  let dir: string;
  let conf: string;
  let t: TestNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-psk-'));
    const certs = await generateDevCertificates(join(dir, 'certs'));
    const body = `
      psk_authentication { enable = true }
      listeners.ssl.psk {
        bind = "127.0.0.1:0"
        ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", versions = ["tlsv1.2"],
                      ciphers = ["PSK-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"] }
      }`;
    conf = join(dir, 'gatehouse.conf');
    writeFileSync(conf, `node.data_dir = "${join(dir, 'data')}"\n${body}\n`);
    t = await startTestNode(body, { dataDir: join(dir, 'data') });
  });
  after(async () => {
    await t.stop();
  });

  test('unknown identity fails; after `gatehouse psk import` the same client connects; delete revokes it', async () => {
    const port = t.port('ssl:psk');
    await assert.rejects(pskConnect(port, 'late-device', 'late-secret-0001'));
    const file = join(dir, 'psk.txt');
    writeFileSync(file, 'late-device:late-secret-0001\n');
    const r = await runCli(['psk', 'import', file, '--config', conf]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 1 PSK identities/);
    const connack = await pskConnect(port, 'late-device', 'late-secret-0001');
    assert.deepEqual([...connack.subarray(0, 4)], [0x20, 0x02, 0x00, 0x00]);
    await assert.rejects(pskConnect(port, 'late-device', 'wrong-secret-000'));
    assert.equal((await runCli(['psk', 'delete', 'late-device', '--config', conf])).code, 0);
    await assert.rejects(pskConnect(port, 'late-device', 'late-secret-0001'));
  });

  test('a malformed PSK file is refused naming the line', async () => {
    const file = join(dir, 'bad.txt');
    writeFileSync(file, 'a:1\nno-separator-here\n');
    const r = await runCli(['psk', 'import', file, '--config', conf]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 2/);
  });
});
