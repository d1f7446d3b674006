import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { BuiltInStore } from '../../../src/store/index.js';
import { BannedList } from '../../../src/access/banned/list.js';
import { FlappingDetector } from '../../../src/access/banned/flapping.js';
import { LoginFailureTracker } from '../../../src/access/banned/login-failures.js';
import { registerProtectionMetrics } from '../../../src/access/banned/prometheus.js';
import { HashLimiter } from '../../../src/authn/password/index.js';

test('the protections\' counters in a Prometheus registry, read at scrape time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-prom-'));
  const store = BuiltInStore.open(dir);
  try {
    const list = new BannedList({ records: store.banned });
    const flapping = new FlappingDetector({ banned: list, settings: { global: { enable: true, windowMs: 60_000, maxCount: 2, banSeconds: 60 } } });
    const failures = new LoginFailureTracker({ banned: list, settings: { maxCount: 1, windowMs: 60_000, banSeconds: 60 } });
    const limiter = new HashLimiter({ concurrency: 1, maxQueuePerSource: 0 });
    const registry = new Registry();
    registerProtectionMetrics(registry, {
      bannedRefusals: () => list.refusals(),
      flappingBans: () => flapping.bans(),
      loginFailureBans: () => failures.bans(),
      hashQueueRefusals: () => limiter.stats().refused,
    });
    list.add({ as: 'peerhost', who: '127.0.0.9' });
    list.check({ clientid: 'a', peerhost: '127.0.0.9' });
    list.check({ clientid: 'b', peerhost: '127.0.0.9' });
    flapping.observe({ clientid: 'f', peerhost: '127.0.0.1', listener: 'tcp:default' });
    flapping.observe({ clientid: 'f', peerhost: '127.0.0.1', listener: 'tcp:default' });
    failures.failed({ peerhost: '127.0.0.5', username: 'u' });
    let release!: () => void;
    const running = limiter.run(() => new Promise<void>((r) => (release = r)));
    await assert.rejects(limiter.run(async () => 1, { source: '127.0.0.3', rejectWhenFull: true }));
    release();
    await running;
    const text = await registry.metrics();
    assert.match(text, /^gatehouse_banned_refusals_total\{as="peerhost"\} 2$/m);
    assert.match(text, /^gatehouse_banned_refusals_total\{as="clientid"\} 0$/m);
    assert.match(text, /^gatehouse_flapping_bans_total 1$/m);
    assert.match(text, /^gatehouse_login_failure_bans_total\{as="peerhost"\} 1$/m);
    assert.match(text, /^gatehouse_login_failure_bans_total\{as="username"\} 1$/m);
    assert.match(text, /^gatehouse_hash_queue_refusals_total\{bound="address"\} 1$/m);
    assert.match(text, /^gatehouse_hash_queue_refusals_total\{bound="total"\} 0$/m);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
