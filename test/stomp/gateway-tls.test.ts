import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevCertificates, type DevCertPaths } from '../../certs/generate.js';
import { SERVER_COMMANDS, StompDecoder, encodeFrame, isHeartbeat, type StompFrame } from '../../gateways/stomp/frame.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

/** STOMP over TLS with a client certificate, CN as username through the stomp:global chain. */
describe('STOMP gateway over TLS (stomp:ssl listener)', () => {
  let t: TestNode;
  let certs: DevCertPaths;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-stomp-tls-'));
    certs = await generateDevCertificates(join(dir, 'certs'));
    t = await startTestNode(`
      gateway.stomp {
        authentication { mechanism = password_based, backend = built_in_database }
        listeners.tcp.default.bind = "127.0.0.1:0"
        listeners.ssl.default {
          bind = "127.0.0.1:0"
          ssl_options { certfile = "${certs.serverCert}", keyfile = "${certs.serverKey}", cacertfile = "${certs.caCert}",
                        verify = verify_peer, fail_if_no_peer_cert = true }
        }
      }
    `);
    await t.node.authn.chain('stomp:global')!.entries[0]!.authenticator.users!.add({ user_id: 'tls-user', password: 'tls-pass' });
  });
  after(async () => {
    await t.stop();
  });

  function exchange(options: tls.ConnectionOptions, frame: StompFrame): Promise<StompFrame> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: t.port('stomp:ssl:default'), servername: 'localhost', ...options }, () => {
        socket.write(encodeFrame(frame, '1.2'));
      });
      const decoder = new StompDecoder({ maxHeaders: 20, maxHeadersLength: 4096, maxBodyLength: 65536 }, '1.2', { commands: SERVER_COMMANDS });
      socket.on('data', (chunk) => {
        for (const item of decoder.push(chunk)) {
          if (!isHeartbeat(item)) {
            socket.destroy();
            resolve(item);
          }
        }
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('closed without a frame')));
    });
  }

  const connectFrame = (login: string, passcode: string): StompFrame => ({
    command: 'CONNECT',
    headers: [['accept-version', '1.2'], ['host', 'gatehouse'], ['login', login], ['passcode', passcode]],
    body: Buffer.alloc(0),
  });

  test('a client with a certificate from the CA logs in over TLS', async () => {
    const frame = await exchange(
      { ca: readFileSync(certs.caCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
      connectFrame('tls-user', 'tls-pass'),
    );
    assert.equal(frame.command, 'CONNECTED');
  });

  test('wrong passcode over TLS: ERROR Login Failed', async () => {
    const frame = await exchange(
      { ca: readFileSync(certs.caCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
      connectFrame('tls-user', 'nope'),
    );
    assert.equal(frame.command, 'ERROR');
    assert.equal(frame.headers.find(([k]) => k === 'message')?.[1], 'Login Failed: bad_username_or_password');
  });

  test('no client certificate: the handshake fails (fail_if_no_peer_cert)', async () => {
    await assert.rejects(exchange({ ca: readFileSync(certs.caCert) }, connectFrame('tls-user', 'tls-pass')));
  });
});
