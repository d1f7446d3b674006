import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltInStore } from '../../../src/store/index.js';
import { BannedList } from '../../../src/access/banned/list.js';
import { FlappingDetector, type FlappingPolicy } from '../../../src/access/banned/flapping.js';
import { LoginFailureTracker } from '../../../src/access/banned/login-failures.js';
import { WindowCounter } from '../../../src/access/banned/window-counter.js';
import { flappingSettings, loginFailureSettings } from '../../../src/access/banned/settings.js';
import { loadConfigText } from '../../../src/config/load.js';
import { LogCapture } from '../../helpers/node.js';

let root: string;
let n = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-detectors-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A banned list over a fresh store and one clock (ms) shared by the list and the detector. */
function fixture() {
  const store = BuiltInStore.open(join(root, `s${++n}`));
  const clock = { ms: 1_700_000_000_000 };
  const logs = new LogCapture();
  const list = new BannedList({ records: store.banned, now: () => Math.floor(clock.ms / 1000) });
  return { store, clock, list, logs };
}

describe('WindowCounter', () => {
  test('counts within a window from the first event; a later event opens a new one; stale keys go', () => {
    const c = new WindowCounter(1000);
    assert.equal(c.hit('a', 0), 1);
    assert.equal(c.hit('a', 500), 2);
    assert.equal(c.hit('b', 600), 1);
    assert.equal(c.hit('a', 999), 3);
    assert.equal(c.hit('a', 1000), 1, 'the window opened at 0 has passed');
    assert.equal(c.hit('c', 1700), 1);
    assert.equal(c.size, 2, 'b (opened at 600) was dropped at 1700');
  });

  test('never holds more than maxKeys: the oldest window goes', () => {
    const c = new WindowCounter(60_000, 3);
    for (const k of ['a', 'b', 'c', 'd']) c.hit(k, 0);
    assert.equal(c.size, 3);
    assert.equal(c.hit('a', 1), 1, 'a was evicted');
  });
});

describe('FlappingDetector (EMQX emqx_flapping)', () => {
  const policy: FlappingPolicy = { enable: true, windowMs: 10_000, maxCount: 3, banSeconds: 300 };

  test('max_count attempts within the window ban the client id for ban_time, "flapping is detected", logged and counted', () => {
    const { store, clock, list, logs } = fixture();
    try {
      const detector = new FlappingDetector({ banned: list, settings: { global: policy }, logger: logs.logger, now: () => clock.ms });
      const attempt = { clientid: 'flappy', peerhost: '127.0.0.2', listener: 'tcp:default' };
      assert.equal(detector.observe(attempt), undefined);
      clock.ms += 4000;
      assert.equal(detector.observe(attempt), undefined);
      assert.equal(list.match({ clientid: 'flappy', peerhost: '127.0.0.2' }), undefined);
      clock.ms += 4000;
      const ban = detector.observe(attempt);
      assert.ok(ban);
      assert.deepEqual(
        { as: ban.as, who: ban.who, by: ban.by, reason: ban.reason, length: ban.until! - ban.at },
        { as: 'clientid', who: 'flappy', by: 'flapping detector', reason: 'flapping is detected', length: 300 },
      );
      assert.equal(list.match({ clientid: 'flappy', peerhost: '127.0.0.9' })?.reason, 'flapping is detected');
      assert.equal(detector.bans(), 1);
      const line = logs.find('flapping detected: client id banned');
      assert.equal(line?.['clientid'], 'flappy');
      assert.equal(line?.['count'], 3);
      clock.ms += 300_000;
      assert.equal(list.match({ clientid: 'flappy', peerhost: '127.0.0.2' }), undefined, 'the ban ends after ban_time');
    } finally {
      store.close();
    }
  });

  test('attempts spread wider than the window never ban; disabled detection counts nothing', () => {
    const { store, clock, list } = fixture();
    try {
      const detector = new FlappingDetector({ banned: list, settings: { global: policy }, now: () => clock.ms });
      for (let i = 0; i < 10; i++) {
        assert.equal(detector.observe({ clientid: 'steady', peerhost: '1.1.1.1', listener: 'tcp:default' }), undefined);
        clock.ms += 5001;
      }
      detector.configure({ global: { ...policy, enable: false } });
      for (let i = 0; i < 10; i++) assert.equal(detector.observe({ clientid: 'fast', peerhost: '1.1.1.1', listener: 'tcp:default' }), undefined);
      assert.equal(list.size, 0);
    } finally {
      store.close();
    }
  });

  test('a zone\'s policy applies to its listeners; other zones use the global one', () => {
    const { store, clock, list } = fixture();
    try {
      const detector = new FlappingDetector({
        banned: list,
        settings: { global: { ...policy, enable: false }, zones: { strict: { ...policy, maxCount: 2 } } },
        now: () => clock.ms,
      });
      const strict = { clientid: 'z', peerhost: '1.1.1.1', listener: 'tcp:devices', zone: 'strict' };
      const other = { clientid: 'y', peerhost: '1.1.1.1', listener: 'tcp:default', zone: 'default' };
      for (let i = 0; i < 5; i++) assert.equal(detector.observe(other), undefined);
      assert.equal(detector.observe(strict), undefined);
      assert.ok(detector.observe(strict));
    } finally {
      store.close();
    }
  });
});

describe('LoginFailureTracker', () => {
  const settings = { maxCount: 3, windowMs: 60_000, banSeconds: 120 };

  test('max_count failures from one address ban the address; for one username, the username', () => {
    const { store, clock, list, logs } = fixture();
    try {
      const tracker = new LoginFailureTracker({ banned: list, settings, logger: logs.logger, now: () => clock.ms });
      // Three addresses guessing at one username: the username is banned.
      assert.deepEqual(tracker.failed({ peerhost: '10.0.0.1', username: 'alice', reason: 'bad_username_or_password' }), []);
      assert.deepEqual(tracker.failed({ peerhost: '10.0.0.2', username: 'alice', reason: 'bad_username_or_password' }), []);
      const byName = tracker.failed({ peerhost: '10.0.0.3', username: 'alice', reason: 'not_authorized' });
      assert.deepEqual(byName.map((e) => [e.as, e.who, e.reason, e.by, e.until! - e.at]), [['username', 'alice', 'login_failures', 'login failure tracker', 120]]);
      // One address trying many names: the address is banned.
      tracker.failed({ peerhost: '10.0.0.9', username: 'u1' });
      tracker.failed({ peerhost: '10.0.0.9', username: 'u2' });
      const byHost = tracker.failed({ peerhost: '10.0.0.9', username: 'u3' });
      assert.deepEqual(byHost.map((e) => [e.as, e.who]), [['peerhost', '10.0.0.9']]);
      assert.deepEqual(tracker.bans(), { peerhost: 1, username: 1 });
      assert.equal(list.match({ clientid: 'x', username: 'alice', peerhost: '10.0.0.1' })?.reason, 'login_failures');
      assert.equal(list.match({ clientid: 'x', username: 'bob', peerhost: '10.0.0.9' })?.as, 'peerhost');
      assert.ok(logs.find('repeated login failures: banned', { as: 'peerhost', who: '10.0.0.9' }));
      clock.ms += 120_000;
      assert.equal(list.match({ clientid: 'x', username: 'alice', peerhost: '10.0.0.1' }), undefined, 'the ban expires');
    } finally {
      store.close();
    }
  });

  test('refusals that are not the client\'s doing do not count; failures outside the window do not add up; 0 = off', () => {
    const { store, clock, list } = fixture();
    try {
      const tracker = new LoginFailureTracker({ banned: list, settings, now: () => clock.ms });
      for (let i = 0; i < 10; i++) {
        for (const reason of ['server_busy', 'server_unavailable', 'banned']) tracker.failed({ peerhost: '10.0.0.1', username: 'u', reason });
      }
      for (let i = 0; i < 10; i++) {
        tracker.failed({ peerhost: '10.0.0.2', reason: 'bad_username_or_password' });
        tracker.failed({ peerhost: '10.0.0.2', reason: 'bad_username_or_password' });
        clock.ms += 61_000;
      }
      tracker.configure({ ...settings, maxCount: 0 });
      assert.equal(tracker.enabled, false);
      for (let i = 0; i < 10; i++) tracker.failed({ peerhost: '10.0.0.3' });
      assert.equal(list.size, 0);
    } finally {
      store.close();
    }
  });

  test('an address a ban cannot name is logged, not thrown', () => {
    const { store, list, logs } = fixture();
    try {
      const tracker = new LoginFailureTracker({ banned: list, settings: { ...settings, maxCount: 1 }, logger: logs.logger });
      assert.deepEqual(tracker.failed({ peerhost: 'not-an-ip' }), []);
      assert.ok(logs.find('repeated login failures: ban not made'));
    } finally {
      store.close();
    }
  });
});

describe('settings from the configuration', () => {
  test('EMQX defaults; zone overrides on the global block; window_time = disable turns detection off', () => {
    const config = loadConfigText(
      ['flapping_detect { max_count = 4 }', 'zones.a.flapping_detect { window_time = 5s }', 'zones.b.flapping_detect { window_time = disable }'].join('\n'),
    );
    const s = flappingSettings(config);
    assert.deepEqual(s.global, { enable: false, windowMs: 60_000, maxCount: 4, banSeconds: 300 });
    assert.deepEqual(s.zones?.['a'], { enable: false, windowMs: 5000, maxCount: 4, banSeconds: 300 });
    assert.equal(s.zones?.['b']?.enable, false);
    assert.deepEqual(loginFailureSettings(config), { maxCount: 0, windowMs: 60_000, banSeconds: 300 });
  });

  test('max_count 0 for flapping is refused (EMQX would ban every client at its first CONNECT)', () => {
    assert.throws(() => loadConfigText('flapping_detect.max_count = 0'), /flapping_detect\.max_count/);
  });
});
