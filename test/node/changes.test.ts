import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError, loadConfigFile, loadConfigText, validateConfig } from '../../src/config/load.js';
import type { GatehouseConfig } from '../../src/config/schema.js';
import { configChecks } from '../../src/main.js';
import { LiveConfig, setSubtree, updateSubtree, UNCHANGED, type ChangeHandler } from '../../src/node/changes.js';

/**
 * `LiveConfig.apply`, the one entry every configuration change goes through (ARCHITECTURE.md
 * "Configuration becomes running state in one place"), with handlers that record what they
 * are asked: validate first, handlers in order, undo newest first, persist last.
 */

const checks = configChecks();
const silent = pino({ level: 'silent' });

/** A handler that records its calls; `fails` makes its apply throw. */
function recorder(name: string, calls: string[], owns: (path: readonly string[]) => boolean = () => true, fails = false): ChangeHandler {
  return {
    name,
    owns,
    async apply(step) {
      calls.push(`${name}.apply@${step.at.join('.') || '(all)'}:${step.origin}`);
      if (fails) throw new Error(`${name} cannot`);
      return {
        undo: async () => void calls.push(`${name}.undo`),
        finish: async () => void calls.push(`${name}.finish`),
      };
    },
  };
}

describe('LiveConfig.apply', () => {
  let dir: string;
  let file: string;
  let initial: GatehouseConfig;
  const make = (overrideFile = file) =>
    new LiveConfig({ initial, overrideFile, validate: (doc) => validateConfig(doc, checks, 'change'), logger: silent });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-changes-'));
    file = join(dir, 'cluster.hocon');
    initial = loadConfigText('listeners.tcp.default.bind = "127.0.0.1:0"', { checks });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('each handler is asked in registration order with where the change was made; then the file is written and each finishes', async () => {
    const calls: string[] = [];
    const live = make().register(recorder('authentication', calls)).register(recorder('listeners', calls));
    const result = await live.apply(setSubtree(['listeners', 'tcp', 'extra'], { bind: '127.0.0.1:0', mountpoint: 'x/' }));
    assert.deepEqual(calls, [
      'authentication.apply@listeners.tcp.extra:api',
      'listeners.apply@listeners.tcp.extra:api',
      'authentication.finish',
      'listeners.finish',
    ]);
    assert.deepEqual(result.changed, ['listeners.tcp.extra']);
    assert.equal(live.config.listeners.tcp['extra']?.mountpoint, 'x/');
    assert.equal(live.config.listeners.tcp['extra']?.max_connections, 'infinity', 'defaults filled by validation');
    assert.match(readFileSync(file, 'utf8'), /"extra"/, 'persisted');
  });

  test('an invalid change is refused before any handler: configuration, running state and file untouched', async () => {
    const calls: string[] = [];
    const live = make().register(recorder('listeners', calls));
    const before = structuredClone(live.config);
    await assert.rejects(live.apply(setSubtree(['listeners', 'tcp', 'default', 'bind'], true)), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.path), ['listeners.tcp.default.bind']);
      return true;
    });
    assert.deepEqual(calls, [], 'no handler asked');
    assert.deepEqual(live.config, before);
    assert.equal(existsSync(file), false, 'nothing written');
  });

  test("a later handler's failure undoes the earlier ones, newest first; nothing is written or finished", async () => {
    const calls: string[] = [];
    const live = make()
      .register(recorder('a', calls))
      .register(recorder('b', calls))
      .register(recorder('c', calls, () => true, true))
      .register(recorder('d', calls));
    const before = structuredClone(live.config);
    await assert.rejects(live.apply(setSubtree(['listeners', 'tcp', 'default', 'max_connections'], 5)), /c cannot/);
    assert.deepEqual(calls, ['a.apply@listeners.tcp.default.max_connections:api', 'b.apply@listeners.tcp.default.max_connections:api', 'c.apply@listeners.tcp.default.max_connections:api', 'b.undo', 'a.undo']);
    assert.deepEqual(live.config, before);
    assert.equal(existsSync(file), false);
  });

  test('an override file that cannot be written undoes every handler', async () => {
    const calls: string[] = [];
    const live = make(join(dir, 'missing-dir', 'cluster.hocon')).register(recorder('a', calls)).register(recorder('b', calls));
    const before = structuredClone(live.config);
    await assert.rejects(live.apply(setSubtree(['listeners', 'tcp', 'default', 'max_connections'], 5)), /ENOENT/);
    assert.deepEqual(calls.slice(-2), ['b.undo', 'a.undo']);
    assert.deepEqual(live.config, before);
  });

  test('a changed path that no handler owns refuses the change: it needs a restart', async () => {
    const calls: string[] = [];
    const live = make().register(recorder('listeners', calls, (path) => path[0] === 'listeners'));
    await assert.rejects(live.apply(setSubtree(['mqtt', 'max_packet_size'], '2MB')), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [{ path: 'mqtt.max_packet_size', message: 'cannot change while the node runs; restart the node to apply it' }]);
      return true;
    });
    assert.deepEqual(calls, []);
    assert.equal(live.config.mqtt.max_packet_size, '1MB');
  });

  test('changes run one at a time: concurrent read-modify-writes all land', async () => {
    const live = make().register(recorder('listeners', []));
    const bump = () => live.apply(updateSubtree(['listeners', 'tcp', 'default', 'max_connections'], (n) => (typeof n === 'number' ? n + 1 : 1)));
    await Promise.all(Array.from({ length: 10 }, bump));
    assert.equal(live.config.listeners.tcp['default']?.max_connections, 10);
    assert.match(readFileSync(file, 'utf8'), /"max_connections": 10/);
  });

  test('UNCHANGED asks no handler and writes nothing; a refusal from `to` changes nothing', async () => {
    const calls: string[] = [];
    const live = make().register(recorder('listeners', calls));
    const result = await live.apply(updateSubtree(['listeners', 'tcp', 'default'], () => UNCHANGED));
    assert.deepEqual(result.changed, []);
    await assert.rejects(live.apply(updateSubtree(['listeners'], () => {
      throw new Error('not this one');
    })), /not this one/);
    assert.deepEqual(calls, []);
    assert.equal(existsSync(file), false);
  });

  test('a reload applies the difference as a whole (at the root) and writes nothing; a bad file is refused naming it', async () => {
    const conf = join(dir, 'gatehouse.conf');
    const load = () => loadConfigFile(conf, { checks, env: {} });
    writeFileSync(conf, 'listeners.tcp.default.bind = "127.0.0.1:0"\nlisteners.tcp.more.bind = "127.0.0.1:0"\n');
    const calls: string[] = [];
    const live = make().register(recorder('listeners', calls));
    const result = await live.apply({ kind: 'reload', load });
    assert.deepEqual(result.changed, ['listeners.tcp.more']);
    assert.deepEqual(calls, ['listeners.apply@(all):reload', 'listeners.finish']);
    assert.equal(existsSync(file), false, 'a reload is not persisted: the files are its source');

    writeFileSync(conf, 'listeners.tcp.default.bind = true\n');
    const before = structuredClone(live.config);
    await assert.rejects(live.apply({ kind: 'reload', load }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`configuration file ${conf.replace(/[.]/g, '\\.')}`));
      assert.match(err.message, /listeners\.tcp\.default\.bind: got true/);
      return true;
    });
    assert.deepEqual(live.config, before);
    assert.equal(calls.length, 2, 'no handler asked for the bad file');
  });
});
