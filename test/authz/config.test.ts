import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfigText } from '../../src/config/load.js';
import { configChecks } from '../../src/main.js';
import { aclFilePath } from '../../src/authz/sources/file/index.js';
import { compileAclFile } from '../../src/authz/sources/file/acl-conf.js';
import { runCli, ROOT } from '../helpers/cli.js';
import { startTestNode } from '../helpers/node.js';

/** `authorization { no_match, deny_action, cache, sources }` (§8.3) in the config file and check-config. */
describe('authorization settings', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-authz-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const load = (text: string, env: Record<string, string> = {}) => loadConfigText(text, { checks: configChecks(), env });
  function problems(text: string): Array<{ path: string; message: string }> {
    try {
      load(text);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.problems;
    }
    return [];
  }

  test("EMQX's names and defaults", () => {
    const c = load('');
    assert.deepEqual(c.authorization, { no_match: 'allow', deny_action: 'ignore', cache: { enable: true, max_size: 32, ttl: '1m', excludes: [] }, sources: [] });
    const file = join(dir, 'ok.conf');
    writeFileSync(file, '{allow, all}.');
    const full = load(`authorization {
      no_match = deny
      deny_action = disconnect
      cache { enable = false, max_size = 1000, ttl = 5m, excludes = ["sensors/#", "eq +/x"] }
      sources = [{ type = built_in_database }, { type = file, path = "${file}" }]
    }`);
    assert.equal(full.authorization.no_match, 'deny');
    assert.deepEqual(full.authorization.sources, [
      { type: 'built_in_database', enable: true, max_rules: 100 },
      { type: 'file', enable: true, path: file },
    ]);
  });

  test('environment overrides reach authorization', () => {
    const c = load('', { GATEHOUSE_AUTHORIZATION__NO_MATCH: 'deny', GATEHOUSE_AUTHORIZATION__SOURCES: '[{type = built_in_database, max_rules = 7}]' });
    assert.equal(c.authorization.no_match, 'deny');
    assert.deepEqual(c.authorization.sources, [{ type: 'built_in_database', enable: true, max_rules: 7 }]);
  });

  test('an acl.conf that does not parse is a config error naming the file, line and column', () => {
    const file = join(dir, 'broken.conf');
    writeFileSync(file, '{allow, all}.\n\n{deny, {username, "x"}, publish, "t/#"}.\n');
    const p = problems(`authorization.sources = [{ type = file, path = "${file}" }]`);
    assert.equal(p.length, 1);
    assert.equal(p[0]!.path, 'authorization.sources.0.path');
    assert.match(p[0]!.message, new RegExp(`${file.replace(/[.]/g, '\\.')}: line 3, column 34: topics must be all or a list`));
  });

  test('each source block is checked against its type, with paths named', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['[{ type = mysql }]', 'authorization.sources.0.type', /unknown authorization source type "mysql"; available: file, built_in_database/],
      ['[{ type = built_in_database }, { type = built_in_database }]', 'authorization.sources.1', /duplicated_authz_source_type/],
      ['[{ type = file }]', 'authorization.sources.0.path', /is required/],
      [`[{ type = file, path = "${join(dir, 'missing.conf')}" }]`, 'authorization.sources.0.path', /cannot read .*missing\.conf: ENOENT/],
      ['[{ type = built_in_database, max_rules = 0 }]', 'authorization.sources.0.max_rules', /expected/],
      ['[{ type = built_in_database, bogus = 1 }]', 'authorization.sources.0.bogus', /unknown key/],
      ['[{ enable = true }]', 'authorization.sources.0.type', /is required/],
    ];
    for (const [sources, path, message] of cases) {
      const p = problems(`authorization.sources = ${sources}`);
      assert.ok(p.some((x) => x.path === path && message.test(x.message)), `${sources}: ${JSON.stringify(p)}`);
    }
    // A disabled file source is not read.
    assert.deepEqual(problems(`authorization.sources = [{ type = file, enable = false, path = "${join(dir, 'missing.conf')}" }]`), []);
  });

  test('settings out of range are refused', () => {
    assert.equal(problems('authorization.cache.max_size = 1048577')[0]?.path, 'authorization.cache.max_size');
    assert.equal(problems('authorization.no_match = maybe')[0]?.path, 'authorization.no_match');
    assert.equal(problems('authorization.deny_action = kick')[0]?.path, 'authorization.deny_action');
    const bad = problems('authorization.cache.excludes = ["ok/#", "a/#/b"]');
    assert.equal(bad[0]?.path, 'authorization.cache.excludes.1');
    assert.match(bad[0]!.message, /last level/);
  });

  test('${EMQX_ETC_DIR}/acl.conf is etc/acl.conf unless the variable is set; the shipped one is the default acl.conf', () => {
    assert.equal(aclFilePath('${EMQX_ETC_DIR}/acl.conf', '/base', {}), resolve('/base/etc/acl.conf'));
    assert.equal(aclFilePath('${EMQX_ETC_DIR}/acl.conf', '/base', { EMQX_ETC_DIR: '/opt/etc' }), '/opt/etc/acl.conf');
    assert.throws(() => aclFilePath('${NOPE}/acl.conf', '/base', {}), /NOPE is not set/);
    const shipped = readFileSync(join(ROOT, 'etc/acl.conf'), 'utf8');
    assert.equal(shipped, readFileSync(join(ROOT, 'test/fixtures/authz/acl.conf'), 'utf8'));
    assert.equal(compileAclFile(shipped).rules.length, 4);
  });

  test('gatehouse check-config prints the acl.conf mistake and exits 1', async () => {
    const acl = join(dir, 'cli-broken.conf');
    writeFileSync(acl, '{allow, all.\n');
    const conf = join(dir, 'gatehouse.conf');
    writeFileSync(conf, `authorization.sources = [{ type = file, path = "${acl}" }]\n`);
    const r = await runCli(['check-config', conf]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /authorization\.sources\.0\.path: .*cli-broken\.conf: line 1, column 12: expected ',' or '}', got '\.'/);
  });

  test('a node with no sources answers from no_match, synchronously', async () => {
    const t = await startTestNode('authorization.no_match = deny');
    try {
      const d = t.node.authz.authorize(
        { clientid: 'c', peerhost: '127.0.0.1', listener: 'tcp:default', protocol: 'mqtt', mountpoint: '', isSuperuser: false, client_attrs: {} },
        { action: 'publish', topic: 't', qos: 0, retain: false },
      );
      assert.ok(!(d instanceof Promise));
      assert.equal(d.result, 'deny');
    } finally {
      await t.stop();
    }
  });
});
