import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuiltInStore } from '../../../src/store/index.js';
import { BannedList, BannedQueryError, bannedClientMatcher } from '../../../src/access/banned/list.js';
import { BanInputError, parseBan, rfc3339, viewOf, type BannedEntry } from '../../../src/access/banned/entry.js';

let root: string;
let n = 0;
const dir = () => join(root, `store-${++n}`);

before(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-banned-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A list over a fresh store, with a clock the test moves (seconds). */
function fixture(path = dir()) {
  const store = BuiltInStore.open(path);
  const clock = { now: 1_700_000_000 };
  const list = new BannedList({ records: store.banned, now: () => clock.now });
  return { store, list, clock, path };
}

describe('parseBan (EMQX emqx_banned:parse)', () => {
  const now = 1_700_000_000;
  test('defaults: by mgmt_api, reason "", at now, until infinity', () => {
    assert.deepEqual(parseBan({ as: 'clientid', who: 'c1' }, { nowSeconds: now }), { as: 'clientid', who: 'c1', by: 'mgmt_api', reason: '', at: now });
  });

  test('times as seconds, digit strings or RFC 3339; an expired ban is refused naming until', () => {
    const b = parseBan({ as: 'username', who: 'u', at: '2023-11-14T22:13:20Z', until: String(now + 60) }, { nowSeconds: now });
    assert.equal(b.at, now);
    assert.equal(b.until, now + 60);
    assert.equal(parseBan({ as: 'username', who: 'u', until: '2023-11-14T23:13:20+01:00' }, { nowSeconds: now - 1 }).until, now);
    assert.throws(() => parseBan({ as: 'username', who: 'u', until: now }, { nowSeconds: now }), (e: BanInputError) => e.field === 'until' && /expired/.test(e.message));
    assert.throws(() => parseBan({ as: 'username', who: 'u', at: 'yesterday' }, { nowSeconds: now }), (e: BanInputError) => e.field === 'at');
    assert.throws(() => parseBan({ as: 'username', who: 'u', until: -5 }, { nowSeconds: now }), (e: BanInputError) => e.field === 'until');
  });

  test('bad kinds, empty who, bad addresses, networks and expressions name their field', () => {
    const field = (req: Parameters<typeof parseBan>[0]) => {
      try {
        parseBan(req, { nowSeconds: now });
      } catch (e) {
        return (e as BanInputError).field;
      }
      return undefined;
    };
    assert.equal(field({ as: 'ip', who: '1.2.3.4' }), 'as');
    assert.equal(field({ as: 'clientid', who: '' }), 'who');
    assert.equal(field({ as: 'clientid', who: 5 }), 'who');
    assert.equal(field({ as: 'peerhost', who: '1.2.3' }), 'who');
    assert.equal(field({ as: 'peerhost_net', who: '10.0.0.0/33' }), 'who');
    assert.equal(field({ as: 'clientid_re', who: '(unclosed' }), 'who');
    assert.equal(field({ as: 'username_re', who: '(?i)abc' }), 'who');
    assert.equal(field({ as: 'clientid', who: 'c', by: 7 }), 'by');
    assert.equal(field({ as: 'clientid', who: 'c', reason: {} }), 'reason');
  });

  test('addresses and networks are kept in canonical form', () => {
    assert.equal(parseBan({ as: 'peerhost', who: '2001:DB8:0::1' }, { nowSeconds: now }).who, '2001:db8::1');
    assert.equal(parseBan({ as: 'peerhost_net', who: '192.168.7.9/16' }, { nowSeconds: now }).who, '192.168.0.0/16');
  });

  test('viewOf: RFC 3339 times in the local offset, until infinity', () => {
    const view = viewOf({ as: 'clientid', who: 'c', by: 'b', reason: 'r', at: now });
    assert.equal(view.until, 'infinity');
    assert.match(view.at, /^2023-11-1[45]T\d\d:\d\d:20[+-]\d\d:\d\d$/);
    assert.equal(Date.parse(view.at) / 1000, now);
    assert.equal(Date.parse(rfc3339(now + 3600)) / 1000, now + 3600);
  });
});

describe('BannedList: the check', () => {
  test('each kind bans what it names and nothing else', () => {
    const { list, store } = fixture();
    try {
      list.add({ as: 'clientid', who: 'bad-client' });
      list.add({ as: 'username', who: 'mallory' });
      list.add({ as: 'peerhost', who: '127.0.0.3' });
      list.add({ as: 'clientid_re', who: '^evil-\\d+$' });
      list.add({ as: 'username_re', who: 'root' });
      list.add({ as: 'peerhost_net', who: '10.20.0.0/16' });
      list.add({ as: 'peerhost_net', who: '2001:db8:bad::/48' });
      list.add({ as: 'peerhost', who: '2001:DB8::77' });
      const kindOf = (clientid: string, username: string | undefined, peerhost: string) => list.check({ clientid, username, peerhost })?.as;
      assert.equal(kindOf('ok', 'alice', '127.0.0.1'), undefined);
      assert.equal(kindOf('bad-client', 'alice', '127.0.0.1'), 'clientid');
      assert.equal(kindOf('ok', 'mallory', '127.0.0.1'), 'username');
      assert.equal(kindOf('ok', undefined, '127.0.0.3'), 'peerhost');
      assert.equal(kindOf('evil-42', 'alice', '127.0.0.1'), 'clientid_re');
      assert.equal(kindOf('evil-42x', 'alice', '127.0.0.1'), undefined);
      assert.equal(kindOf('ok', 'groot', '127.0.0.1'), 'username_re');
      assert.equal(kindOf('ok', 'alice', '10.20.30.40'), 'peerhost_net');
      assert.equal(kindOf('ok', 'alice', '10.21.0.1'), undefined);
      assert.equal(kindOf('ok', 'alice', '2001:db8:bad:1::9'), 'peerhost_net');
      assert.equal(kindOf('ok', 'alice', '2001:db8::77'), 'peerhost');
      assert.equal(kindOf('ok', 'alice', '::ffff:127.0.0.3'), 'peerhost', 'an IPv4-mapped peer is its IPv4 address');
      assert.equal(kindOf('ok', 'alice', 'not-an-address'), undefined);
      assert.deepEqual(list.refusals(), { clientid: 1, username: 1, peerhost: 3, clientid_re: 1, username_re: 1, peerhost_net: 2 });
    } finally {
      store.close();
    }
  });

  test('order is EMQX\'s: clientid, username, peerhost, then the rules', () => {
    const { list, store } = fixture();
    try {
      list.add({ as: 'peerhost_net', who: '127.0.0.0/8' });
      list.add({ as: 'clientid_re', who: '^c' });
      list.add({ as: 'peerhost', who: '127.0.0.1' });
      list.add({ as: 'username', who: 'u' });
      list.add({ as: 'clientid', who: 'c' });
      assert.equal(list.match({ clientid: 'c', username: 'u', peerhost: '127.0.0.1' })?.as, 'clientid');
      assert.equal(list.match({ clientid: 'cc', username: 'u', peerhost: '127.0.0.1' })?.as, 'username');
      assert.equal(list.match({ clientid: 'cc', username: 'v', peerhost: '127.0.0.1' })?.as, 'peerhost');
      assert.equal(list.match({ clientid: 'cc', username: 'v', peerhost: '127.0.0.2' })?.as, 'clientid_re');
      assert.equal(list.match({ clientid: 'dd', username: 'v', peerhost: '127.0.0.2' })?.as, 'peerhost_net');
      assert.deepEqual(Object.values(list.refusals()), [0, 0, 0, 0, 0, 0], 'match() counts nothing');
    } finally {
      store.close();
    }
  });

  test('an entry never matches once until has passed; expire() removes it from the list and the store', () => {
    const { list, store, clock } = fixture();
    try {
      list.add({ as: 'clientid', who: 'c1', until: clock.now + 10 });
      list.add({ as: 'clientid', who: 'c2' });
      assert.ok(list.match({ clientid: 'c1', peerhost: '1.1.1.1' }));
      clock.now += 10;
      assert.equal(list.match({ clientid: 'c1', peerhost: '1.1.1.1' }), undefined, 'not in force at until');
      assert.equal(store.banned.count(), 2, 'still stored until expired');
      assert.equal(list.expire(), 1);
      assert.equal(store.banned.count(), 1);
      assert.equal(list.size, 1);
    } finally {
      store.close();
    }
  });

  test('a duplicate still in force is refused with the existing entry; an expired one is replaced (EMQX create/1)', () => {
    const { list, store, clock } = fixture();
    try {
      const first = list.add({ as: 'username', who: 'u', reason: 'first', until: clock.now + 5 });
      assert.equal(first.added, true);
      const again = list.add({ as: 'username', who: 'u', reason: 'second' });
      assert.equal(again.added, false);
      assert.equal(!again.added && again.existing.reason, 'first');
      clock.now += 5;
      const replaced = list.add({ as: 'username', who: 'u', reason: 'third' });
      assert.equal(replaced.added, true);
      assert.equal(store.banned.get('username', 'u')?.reason, 'third');
      assert.ok(list.match({ clientid: 'x', username: 'u', peerhost: '1.1.1.1' }));
    } finally {
      store.close();
    }
  });

  test('delete takes the who in any spelling; clear empties list and store', () => {
    const { list, store } = fixture();
    try {
      list.add({ as: 'peerhost', who: '2001:db8::1' });
      list.add({ as: 'clientid', who: 'c' });
      assert.equal(list.delete('peerhost', '2001:DB8:0:0::1'), true);
      assert.equal(list.delete('peerhost', '2001:db8::1'), false);
      assert.equal(list.delete('peerhost', 'garbage'), false);
      assert.throws(() => list.delete('ip', 'x'), BanInputError);
      assert.equal(list.match({ clientid: 'z', peerhost: '2001:db8::1' }), undefined);
      assert.equal(list.clear(), 1);
      assert.equal(list.size, 0);
      assert.equal(store.banned.count(), 0);
      assert.equal(list.match({ clientid: 'c', peerhost: '1.1.1.1' }), undefined);
    } finally {
      store.close();
    }
  });
});

describe('BannedList: durability, other processes, events', () => {
  test('entries survive closing and reopening the store', () => {
    const path = dir();
    const a = fixture(path);
    a.list.add({ as: 'clientid_re', who: '^x', reason: 'kept' });
    a.store.close();
    const b = fixture(path);
    try {
      assert.equal(b.list.match({ clientid: 'xyz', peerhost: '1.1.1.1' })?.reason, 'kept');
    } finally {
      b.store.close();
    }
  });

  test('a change by another connection (the CLI) reaches the running list on refresh, and onAdded hears of it', () => {
    const path = dir();
    const node = fixture(path);
    const cli = fixture(path);
    try {
      const heard: BannedEntry[] = [];
      node.list.onAdded((e) => heard.push(e));
      cli.list.add({ as: 'clientid', who: 'from-cli' });
      assert.equal(node.list.match({ clientid: 'from-cli', peerhost: '1.1.1.1' }), undefined, 'not seen before the poll');
      node.list.refresh();
      assert.equal(node.list.match({ clientid: 'from-cli', peerhost: '1.1.1.1' })?.who, 'from-cli');
      assert.deepEqual(heard.map((e) => e.who), ['from-cli']);
      cli.list.delete('clientid', 'from-cli');
      node.list.refresh();
      assert.equal(node.list.match({ clientid: 'from-cli', peerhost: '1.1.1.1' }), undefined);
      node.list.add({ as: 'clientid', who: 'own' });
      node.list.refresh();
      assert.deepEqual(heard.map((e) => e.who), ['from-cli', 'own'], 'an own add is reported once');
    } finally {
      node.store.close();
      cli.store.close();
    }
  });

  test('start(): the poll timer picks up another process\'s change by itself', async () => {
    const path = dir();
    const store = BuiltInStore.open(path);
    const list = new BannedList({ records: store.banned });
    const other = BuiltInStore.open(path);
    try {
      list.start({ pollMs: 20 });
      const heard = new Promise<BannedEntry>((resolve) => list.onAdded(resolve));
      new BannedList({ records: other.banned }).add({ as: 'username', who: 'late' });
      // The poll timer is unref'd (it must not keep a node alive): a ref'd deadline keeps this
      // test's event loop running until the change is heard, and fails it if it never is.
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error('the poll timer never picked the change up')), 5000);
      });
      try {
        assert.equal((await Promise.race([heard, late])).who, 'late');
      } finally {
        clearTimeout(deadline);
      }
      assert.ok(list.match({ clientid: 'c', username: 'late', peerhost: '1.1.1.1' }));
    } finally {
      list.stop();
      store.close();
      other.close();
    }
  });

  test('start(): the expiry timer removes an entry at its until, unaided', async () => {
    const store = BuiltInStore.open(dir());
    const list = new BannedList({ records: store.banned });
    try {
      list.start();
      list.add({ as: 'clientid', who: 'brief', until: Math.floor(Date.now() / 1000) + 1 });
      assert.equal(list.size, 1);
      const deadline = Date.now() + 4000;
      while (list.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(list.size, 0);
      assert.equal(store.banned.count(), 0);
    } finally {
      list.stop();
      store.close();
    }
  });
});

describe('BannedList: paging and filters (GET /banned)', () => {
  test('pages in insertion order with count and hasnext', () => {
    const { list, store } = fixture();
    try {
      for (let i = 0; i < 5; i++) list.add({ as: 'clientid', who: `c${i}` });
      const p1 = list.page({ page: 1, limit: 2 });
      assert.deepEqual(p1.data.map((e) => e.who), ['c0', 'c1']);
      assert.deepEqual(p1.meta, { page: 1, limit: 2, count: 5, hasnext: true });
      const p3 = list.page({ page: 3, limit: 2 });
      assert.deepEqual(p3.data.map((e) => e.who), ['c4']);
      assert.equal(p3.meta.hasnext, false);
      assert.deepEqual(list.page({ page: 9, limit: 2 }).data, []);
    } finally {
      store.close();
    }
  });

  test('one exact or like_ filter; two are too_many_filters; a bad like_ expression is refused', () => {
    const { list, store } = fixture();
    try {
      list.add({ as: 'clientid', who: 'dev-1' });
      list.add({ as: 'clientid_re', who: '^dev-' });
      list.add({ as: 'username', who: 'dev-1' });
      list.add({ as: 'peerhost', who: '2001:db8::1' });
      assert.deepEqual(list.page({ page: 1, limit: 10, clientid: 'dev-1' }).data.map((e) => e.as), ['clientid']);
      assert.deepEqual(list.page({ page: 1, limit: 10, peerhost: '2001:DB8::1' }).data.map((e) => e.who), ['2001:db8::1']);
      const like = list.page({ page: 1, limit: 10, like_clientid: 'dev' });
      assert.deepEqual(like.data.map((e) => e.as), ['clientid', 'clientid_re']);
      assert.equal(like.meta.count, 2);
      assert.throws(() => list.page({ page: 1, limit: 10, clientid: 'a', username: 'b' }), BannedQueryError);
      assert.throws(() => list.page({ page: 1, limit: 10, like_username: '(' }), BannedQueryError);
    } finally {
      store.close();
    }
  });
});

describe('bannedClientMatcher: the connected clients an added entry names', () => {
  test('one predicate per kind, agreeing with the list\'s check', () => {
    const clients = [
      { clientid: 'c1', username: 'alice', peerhost: '10.0.0.5' },
      { clientid: 'evil-7', username: 'bob', peerhost: '2001:db8::5' },
      { clientid: 'c3', peerhost: '::ffff:192.168.1.9' },
    ];
    const named = (as: string, who: string) =>
      clients.filter(bannedClientMatcher(parseBan({ as, who }, { nowSeconds: 1 }))).map((c) => c.clientid);
    assert.deepEqual(named('clientid', 'c1'), ['c1']);
    assert.deepEqual(named('username', 'bob'), ['evil-7']);
    assert.deepEqual(named('clientid_re', '^evil-'), ['evil-7']);
    assert.deepEqual(named('username_re', 'li'), ['c1']);
    assert.deepEqual(named('peerhost', '2001:db8::5'), ['evil-7']);
    assert.deepEqual(named('peerhost', '192.168.1.9'), ['c3']);
    assert.deepEqual(named('peerhost_net', '10.0.0.0/8'), ['c1']);
    assert.deepEqual(named('peerhost_net', '2001:db8::/32'), ['evil-7']);
  });
});

describe('BannedList.addMany', () => {
  test('10 000 entries of every kind in one transaction; checks stay exact; a bad request adds nothing', () => {
    const { list, store } = fixture();
    try {
      const requests = Array.from({ length: 10_000 }, (_, i) => {
        switch (i % 6) {
          case 0: return { as: 'clientid', who: `c-${i}` };
          case 1: return { as: 'username', who: `u-${i}` };
          case 2: return { as: 'peerhost', who: `10.${(i >> 8) & 255}.${i & 255}.1` };
          case 3: return { as: 'clientid_re', who: `^bot-${i}-\\d+$` };
          case 4: return { as: 'username_re', who: `spam${i}x` };
          default: return { as: 'peerhost_net', who: `172.${16 + ((i >> 8) & 15)}.${i & 255}.0/24` };
        }
      });
      const started = performance.now();
      const results = list.addMany(requests);
      assert.ok(performance.now() - started < 5000);
      assert.equal(results.filter((r) => r.added).length, 10_000);
      assert.equal(store.banned.count(), 10_000);
      assert.equal(list.match({ clientid: 'bot-9-42', peerhost: '1.1.1.1' })?.who, '^bot-9-\\d+$');
      assert.equal(list.match({ clientid: 'x', username: 'my-spam10x', peerhost: '1.1.1.1' })?.as, 'username_re');
      assert.equal(list.match({ clientid: 'x', peerhost: '172.27.11.200' })?.as, 'peerhost_net');
      assert.equal(list.match({ clientid: 'device-1', username: 'alice', peerhost: '192.168.0.1' }), undefined);
      assert.equal(list.addMany([{ as: 'clientid', who: 'c-0' }])[0]!.added, false);
      assert.throws(() => list.addMany([{ as: 'clientid', who: 'new' }, { as: 'peerhost', who: 'x' }]), /entry 1/);
      assert.equal(list.get('clientid', 'new'), undefined);
    } finally {
      store.close();
    }
  });
});
