import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

/**
 * Issue 12, point 6, on the command line: `check-config` and `start` name the field and what
 * was expected for a wrong-typed secret, never its value (file or GATEHOUSE_* variable).
 */

function tempConf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-cli-secrets-'));
  const file = join(dir, 'gatehouse.conf');
  writeFileSync(file, `node.data_dir = "${join(dir, 'data')}"\n${text}\n`);
  return file;
}

const SECRETS = ['Dash-S3cret-91', 'KeyPass-S3cret-27', 'InlineKey-S3cret-55', 'Env-S3cret-64'];

describe('the CLI never prints a secret it refuses', () => {
  test('check-config names wrong-typed secrets without their values', async () => {
    const file = tempConf(`
      dashboard.default_password = ["${SECRETS[0]}"]
      listeners.ssl.bad {
        bind = "127.0.0.1:0"
        ssl_options {
          password = ["${SECRETS[1]}"]
          keyfile = ["-----BEGIN PRIVATE KEY-----${SECRETS[2]}-----END PRIVATE KEY-----"]
        }
      }
      mqtt.idle_timeout = true
    `);
    const r = await runCli(['check-config', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /dashboard\.default_password: got an array \(not shown\), expected string/);
    assert.match(r.stderr, /listeners\.ssl\.bad\.ssl_options\.password: got an array \(not shown\)/);
    assert.match(r.stderr, /listeners\.ssl\.bad\.ssl_options\.keyfile: got an array \(not shown\)/);
    assert.match(r.stderr, /mqtt\.idle_timeout: got true/, 'other values are still shown');
    for (const s of SECRETS.slice(0, 3)) assert.ok(!(r.stdout + r.stderr).includes(s), `printed ${s}: ${r.stderr}`);
  });

  test('start refuses a wrong-typed secret from the environment without printing it', async () => {
    const r = await runCli(['start', '--config', tempConf('')], {
      GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:0',
      GATEHOUSE_LISTENERS__WS__DEFAULT__BIND: '127.0.0.1:0',
      GATEHOUSE_DASHBOARD__LISTENERS__HTTP__BIND: '127.0.0.1:0',
      GATEHOUSE_DASHBOARD__DEFAULT_PASSWORD: `{ value = "${SECRETS[3]}" }`,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /dashboard\.default_password: got an object \(not shown\), expected string/);
    assert.ok(!(r.stdout + r.stderr).includes(SECRETS[3]!), r.stderr);
  });
});
