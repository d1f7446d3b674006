import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { AuthenticatorRegistry } from '../../src/authn/registry.js';
import { AuthnService } from '../../src/authn/service.js';
import type { AuthnResult } from '../../src/authn/authenticator.js';
import type { ClientCredential } from '../../src/authn/types.js';
import { BuiltInStore } from '../../src/store/index.js';

/** Stub backends: each answers one way, so a chain's outcome is predictable. */
const BEHAVIOURS = ['allow', 'deny', 'ignore', 'throw', 'timeout'] as const;
type Behaviour = (typeof BEHAVIOURS)[number];
/** The same answers given synchronously (as the built-in database does for digests). */
const SYNC_BEHAVIOURS = ['sync-allow', 'sync-deny', 'sync-ignore', 'sync-throw'] as const;
type SyncBehaviour = (typeof SYNC_BEHAVIOURS)[number];

/** What a stub answers (or throws); `timeout` never settles. */
function answer(b: Behaviour): AuthnResult | Promise<AuthnResult> {
  switch (b) {
    case 'allow':
      return { outcome: 'allow', isSuperuser: false };
    case 'deny':
      return { outcome: 'deny', reason: 'bad_username_or_password' };
    case 'ignore':
      return { outcome: 'ignore' };
    case 'throw':
      throw new Error('backend exploded');
    case 'timeout':
      return new Promise<AuthnResult>(() => undefined);
  }
}

/** The stub types, in a registry of their own (as the composition root makes one). */
const authenticators = new AuthenticatorRegistry();
for (const b of [...BEHAVIOURS, ...SYNC_BEHAVIOURS]) {
  const sync = b.startsWith('sync-');
  const behaviour = b.replace('sync-', '') as Behaviour;
  authenticators.register({
    mechanism: 'stub',
    backend: b,
    schema: Type.Object({ mechanism: Type.String(), backend: Type.String(), enable: Type.Boolean({ default: true }) }),
    async create() {
      return { authenticate: sync ? () => answer(behaviour) : async () => answer(behaviour) };
    },
  });
}

const stub = (b: Behaviour | SyncBehaviour, enable = true) => ({ mechanism: 'stub', backend: b, enable });

function credential(over: Partial<ClientCredential> = {}): ClientCredential {
  return {
    listener: 'tcp:default',
    protocol: 'mqtt',
    clientid: 'c1',
    username: 'u1',
    password: Buffer.from('p'),
    peerhost: '127.0.0.1',
    peerport: 5000,
    sockport: 1883,
    zone: 'default',
    mountpoint: '',
    client_attrs: {},
    enable_authn: true,
    ...over,
  };
}

/** What EMQX §2.3 says a chain of these behaviours yields. */
function expected(chain: Behaviour[]): 'allow' | 'deny' | 'not_authorized' {
  for (const b of chain) {
    if (b === 'allow') return 'allow';
    if (b === 'deny') return 'deny';
  }
  return 'not_authorized';
}

function permutations<T>(items: readonly T[], length: number): T[][] {
  if (length === 0) return [[]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)], length - 1).map((rest) => [item, ...rest]));
}

describe('authentication chain rules (§2.2–2.4)', () => {
  let dir: string;
  let store: BuiltInStore;
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => logs.push(JSON.parse(s) as Record<string, unknown>) });
  const service = () => new AuthnService({ logger, store, baseDir: dir, timeoutMs: 50, authenticators });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-chain-'));
    store = BuiltInStore.open(dir);
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no chain at all: anonymous allow', async () => {
    const d = await service().authenticate(credential());
    assert.deepEqual(d, { allowed: true, anonymous: true, isSuperuser: false });
  });

  test('a chain whose authenticators are all disabled: anonymous allow', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('deny', false), stub('ignore', false)], true);
    const d = await s.authenticate(credential());
    assert.equal(d.allowed, true);
    assert.equal(d.allowed && d.anonymous, true);
  });

  for (const length of [1, 2, 3]) {
    const chains = permutations(BEHAVIOURS, length);
    test(`every ordering of ${length} of allow/deny/ignore/throw/timeout (${chains.length} chains)`, async () => {
      for (const chain of chains) {
        const s = service();
        await s.setChain('mqtt:global', chain.map((b) => stub(b)), true);
        const d = await s.authenticate(credential());
        const want = expected(chain);
        const label = chain.join(' → ');
        if (want === 'allow') {
          assert.equal(d.allowed, true, label);
          assert.equal(d.allowed && d.anonymous, false, label);
          assert.equal(d.authenticator, 'stub:allow', label);
        } else if (want === 'deny') {
          assert.equal(d.allowed, false, label);
          assert.equal(!d.allowed && d.reason, 'bad_username_or_password', label);
          assert.equal(d.authenticator, 'stub:deny', label);
        } else {
          assert.equal(d.allowed, false, label);
          assert.equal(!d.allowed && d.reason, 'not_authorized', label);
        }
        assert.equal(d.chain, 'mqtt:global');
      }
    });
  }

  test('synchronous and asynchronous answers mixed: same rules, and a decision without a promise until one is awaited', async () => {
    const mixed = ['sync-allow', 'sync-deny', 'sync-ignore', 'sync-throw', 'ignore', 'timeout'] as const;
    const plain = (b: (typeof mixed)[number]): Behaviour => b.replace('sync-', '') as Behaviour;
    let checked = 0;
    for (const length of [1, 2, 3]) {
      for (const chain of permutations(mixed, length)) {
        const s = service();
        await s.setChain('mqtt:global', chain.map((b) => stub(b)), true);
        const answer = s.decide(credential());
        const label = chain.join(' → ');
        // Synchronous exactly when every member asked before the decision answered synchronously.
        const asked = chain.slice(0, chain.findIndex((b) => b === 'sync-allow' || b === 'sync-deny') + 1 || chain.length);
        assert.equal(answer instanceof Promise, asked.some((b) => !b.startsWith('sync-')), label);
        const d = await answer;
        const want = expected(chain.map(plain));
        assert.equal(d.allowed, want === 'allow', label);
        if (want === 'allow') assert.equal(d.authenticator, 'stub:sync-allow', label);
        else assert.equal(!d.allowed && d.reason, want === 'deny' ? 'bad_username_or_password' : 'not_authorized', label);
        checked++;
      }
    }
    assert.equal(checked, 6 + 30 + 120);
  });

  test('disabled members are skipped, enabled ones still decide', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('deny', false), stub('allow')], true);
    assert.equal((await s.authenticate(credential())).allowed, true);
    await s.setChain('mqtt:global', [stub('allow', false), stub('ignore')], true);
    const d = await s.authenticate(credential());
    assert.equal(!d.allowed && d.reason, 'not_authorized');
  });

  test('a listener chain is used exclusively: no fall-through to the global chain', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('allow')], true);
    await s.setChain('tcp:default', [stub('ignore')], true);
    const d = await s.authenticate(credential({ listener: 'tcp:default' }));
    assert.equal(!d.allowed && d.reason, 'not_authorized');
    assert.equal(d.chain, 'tcp:default');
    // Another listener without its own chain uses the global one.
    const other = await s.authenticate(credential({ listener: 'ws:default' }));
    assert.equal(other.allowed, true);
    assert.equal(other.chain, 'mqtt:global');
  });

  test('a listener chain with only disabled members means anonymous access, global not consulted', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('deny')], true);
    await s.setChain('tcp:default', [stub('deny', false)], true);
    const d = await s.authenticate(credential({ listener: 'tcp:default' }));
    assert.equal(d.allowed, true);
    assert.equal(d.allowed && d.anonymous, true);
  });

  test('an empty listener chain is removed, so the global chain applies', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('deny')], true);
    await s.setChain('tcp:default', [stub('allow')], true);
    await s.setChain('tcp:default', [], true);
    const d = await s.authenticate(credential());
    assert.equal(d.allowed, false);
    assert.equal(d.chain, 'mqtt:global');
  });

  test('chains are per protocol: a STOMP client uses stomp:global, not mqtt:global', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('deny')], true);
    await s.setChain('stomp:global', [stub('allow')], true);
    assert.equal((await s.authenticate(credential({ protocol: 'stomp', listener: 'stomp:tcp:default' }))).allowed, true);
    assert.equal((await s.authenticate(credential())).allowed, false);
  });

  test('enable_authn = false lets the client in without consulting any chain', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('deny')], true);
    const d = await s.authenticate(credential({ enable_authn: false }));
    assert.equal(d.allowed, true);
    assert.equal(s.metrics.get('client.authenticate'), 0);
  });

  test('quick_deny_anonymous refuses a client without username before the chain, and lets others through', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('allow')], true);
    const { username: _drop, ...noUser } = credential();
    const d = await s.authenticate({ ...noUser, enable_authn: 'quick_deny_anonymous' });
    assert.equal(!d.allowed && d.reason, 'not_authorized');
    const empty = await s.authenticate(credential({ username: '', enable_authn: 'quick_deny_anonymous' }));
    assert.equal(empty.allowed, false);
    const named = await s.authenticate(credential({ enable_authn: 'quick_deny_anonymous' }));
    assert.equal(named.allowed, true);
  });

  test('errors and timeouts are logged as warnings with chain and authenticator, and counted as nomatch', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('throw'), stub('timeout'), stub('allow')], true);
    logs.length = 0;
    const d = await s.authenticate(credential());
    assert.equal(d.allowed, true);
    const err = logs.find((l) => l['msg'] === 'authenticator_error');
    const slow = logs.find((l) => l['msg'] === 'authenticator_timeout');
    assert.equal(err?.['chain'], 'mqtt:global');
    assert.equal(err?.['authenticator'], 'stub:throw');
    assert.equal(err?.['level'], 40);
    assert.equal(slow?.['authenticator'], 'stub:timeout');
    const entries = s.chain('mqtt:global')!.entries;
    assert.deepEqual(entries[0]!.metrics.snapshot(), { total: 1, success: 0, failed: 0, nomatch: 1 });
    assert.deepEqual(entries[1]!.metrics.snapshot(), { total: 1, success: 0, failed: 0, nomatch: 1 });
    assert.deepEqual(entries[2]!.metrics.snapshot(), { total: 1, success: 1, failed: 0, nomatch: 0 });
  });

  test('per-authenticator and global counters (§13.1)', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('ignore'), stub('deny')], true);
    await s.authenticate(credential());
    await s.authenticate(credential());
    const [ignore, deny] = s.chain('mqtt:global')!.entries;
    assert.deepEqual(ignore!.metrics.snapshot(), { total: 2, success: 0, failed: 0, nomatch: 2 });
    assert.deepEqual(deny!.metrics.snapshot(), { total: 2, success: 0, failed: 2, nomatch: 0 });
    assert.equal(s.metrics.get('authentication.failure'), 2);
    assert.equal(s.metrics.get('client.authenticate'), 2);
    // Metrics survive a reconfiguration of the chain.
    await s.setChain('mqtt:global', [stub('ignore'), stub('deny', false)], true);
    assert.equal(s.chain('mqtt:global')!.entries[0]!.metrics.get('total'), 2);
  });

  test('explain runs the chain without touching counters and reports each step', async () => {
    const s = service();
    await s.setChain('mqtt:global', [stub('ignore'), stub('throw'), stub('deny')], true);
    const e = await s.explain(credential());
    assert.equal(e.chain, 'mqtt:global');
    assert.deepEqual(
      e.steps.map((st) => [st.authenticator, st.result]),
      [
        ['stub:ignore', 'ignore'],
        ['stub:throw', 'error'],
        ['stub:deny', 'deny'],
      ],
    );
    assert.equal(e.decision.allowed, false);
    assert.equal(s.chain('mqtt:global')!.entries[0]!.metrics.get('total'), 0);
  });
});
