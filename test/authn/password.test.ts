import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import {
  ExternalPasswordHashAlgorithmSchema,
  HashBusyError,
  HashLimiter,
  InvalidAlgorithmError,
  InvalidSaltError,
  InvalidStoredPasswordError,
  PasswordHashAlgorithmSchema,
  clampSaltRounds,
  configureHashConcurrency,
  defaultHashConcurrency,
  hashConcurrencyStats,
  hashPassword,
  isSuperuserImportValue,
  isSuperuserValue,
  parsePasswordHashAlgorithm,
  verifyPassword,
  type PasswordHashAlgorithm,
  type PasswordHashAlgorithmInput,
  type Pbkdf2MacFun,
  type SaltPosition,
  type SimpleHashName,
} from '../../src/authn/password/index.js';

// ---------------------------------------------------------------------------
// Known-answer vectors (generated independently with Python hashlib/bcrypt)
// ---------------------------------------------------------------------------

interface SimpleVector {
  name: SimpleHashName;
  salt_position: SaltPosition;
  password: string;
  salt: string;
  password_hash: string;
}
interface Pbkdf2Vector {
  name: 'pbkdf2';
  mac_fun: Pbkdf2MacFun;
  iterations: number;
  dk_length: number | null;
  password: string;
  salt: string;
  password_hash: string;
}
interface BcryptVector {
  name: 'bcrypt';
  password: string;
  password_hash: string;
  salt: string;
  expect?: boolean;
}
interface Vectors {
  simple: SimpleVector[];
  pbkdf2: Pbkdf2Vector[];
  bcrypt: BcryptVector[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/password-hashes.json', import.meta.url), 'utf8'),
) as Vectors;

function pbkdf2Algorithm(v: Pbkdf2Vector): PasswordHashAlgorithm {
  return {
    name: 'pbkdf2',
    mac_fun: v.mac_fun,
    iterations: v.iterations,
    ...(v.dk_length === null ? {} : { dk_length: v.dk_length }),
  };
}

const SIMPLE: SimpleHashName[] = ['plain', 'md5', 'sha', 'sha256', 'sha512'];
const POSITIONS: SaltPosition[] = ['disable', 'prefix', 'suffix'];

afterEach(() => {
  configureHashConcurrency(defaultHashConcurrency(), { maxQueue: Infinity, maxQueuePerSource: Infinity });
});

describe('known-answer vectors', () => {
  it('has the expected shape (guards against an empty or renamed fixture)', () => {
    assert.equal(vectors.simple.length, 148);
    assert.equal(vectors.pbkdf2.length, 60);
    assert.equal(vectors.bcrypt.length, 24);
    assert.ok(vectors.bcrypt.some((v) => v.expect === false));
  });

  it('verifies every simple-hash vector, and rejects it with one extra character', async () => {
    for (const v of vectors.simple) {
      const alg: PasswordHashAlgorithm = { name: v.name, salt_position: v.salt_position };
      const stored = { password_hash: v.password_hash, salt: v.salt };
      const label = `${v.name}/${v.salt_position}/${JSON.stringify(v.salt)}/${JSON.stringify(v.password)}`;
      assert.equal(await verifyPassword(alg, v.password, stored), true, label);
      assert.equal(await verifyPassword(alg, `${v.password}x`, stored), false, label);
    }
  });

  it('verifies every pbkdf2 vector, and rejects it with one extra character', async () => {
    for (const v of vectors.pbkdf2) {
      const alg = pbkdf2Algorithm(v);
      const stored = { password_hash: v.password_hash, salt: v.salt };
      const label = `${v.mac_fun}/${v.iterations}/${String(v.dk_length)}/${JSON.stringify(v.password)}`;
      assert.equal(await verifyPassword(alg, v.password, stored), true, label);
      assert.equal(await verifyPassword(alg, `${v.password}x`, stored), false, label);
    }
  });

  it('honours every bcrypt vector, positive and negative', async () => {
    const results = await Promise.all(
      vectors.bcrypt.map((v) =>
        verifyPassword({ name: 'bcrypt' }, v.password, { password_hash: v.password_hash, salt: v.salt }),
      ),
    );
    vectors.bcrypt.forEach((v, i) => {
      assert.equal(results[i], v.expect ?? true, `${v.password_hash.slice(0, 7)} ${JSON.stringify(v.password)}`);
    });
  });

  it('verifies a $2y$ crypt string (PHP manual password_verify example)', async () => {
    const hash = '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a';
    assert.equal(await verifyPassword({ name: 'bcrypt' }, 'rasmuslerdorf', { password_hash: hash }), true);
    assert.equal(await verifyPassword({ name: 'bcrypt' }, 'rasmuslerdorF', { password_hash: hash }), false);
  });
});

describe('hash → verify round trip', () => {
  for (const name of SIMPLE) {
    for (const salt_position of POSITIONS) {
      it(`${name} / ${salt_position}`, async () => {
        const alg: PasswordHashAlgorithm = { name, salt_position };
        const made = await hashPassword(alg, 'pässword 1');
        if (name === 'plain') {
          assert.deepEqual(made, { password_hash: 'pässword 1', salt: '' });
        } else if (salt_position === 'disable') {
          assert.equal(made.salt, '');
        } else {
          assert.match(made.salt, /^[0-9a-f]{32}$/);
        }
        if (name !== 'plain') assert.match(made.password_hash, /^[0-9a-f]+$/);
        assert.equal(await verifyPassword(alg, 'pässword 1', made), true);
        assert.equal(await verifyPassword(alg, 'pässword 2', made), false);
      });
    }
  }

  it('two hashes of the same password get different random salts', async () => {
    const alg: PasswordHashAlgorithm = { name: 'sha256', salt_position: 'suffix' };
    const a = await hashPassword(alg, 'same');
    const b = await hashPassword(alg, 'same');
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.password_hash, b.password_hash);
  });

  for (const mac_fun of ['sha', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
    it(`pbkdf2 / ${mac_fun}`, async () => {
      const alg: PasswordHashAlgorithm = { name: 'pbkdf2', mac_fun, iterations: 10 };
      const made = await hashPassword(alg, 'secret');
      assert.match(made.salt, /^[0-9a-f]{32}$/);
      const sizes = { sha: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };
      assert.equal(made.password_hash.length, sizes[mac_fun] * 2, 'default dk_length = digest size');
      assert.equal(await verifyPassword(alg, 'secret', made), true);
      assert.equal(await verifyPassword(alg, 'Secret', made), false);
    });
  }

  it('pbkdf2 honours dk_length', async () => {
    const alg: PasswordHashAlgorithm = { name: 'pbkdf2', mac_fun: 'sha256', iterations: 5, dk_length: 7 };
    const made = await hashPassword(alg, 'secret');
    assert.equal(made.password_hash.length, 14);
    assert.equal(await verifyPassword(alg, 'secret', made), true);
  });

  it('bcrypt stores the crypt string as hash and salt, and respects salt_rounds', async () => {
    const made = await hashPassword({ name: 'bcrypt', salt_rounds: 5 }, 'secret');
    assert.match(made.password_hash, /^\$2b\$05\$[./A-Za-z0-9]{53}$/);
    assert.equal(made.salt, made.password_hash);
    assert.equal(await verifyPassword({ name: 'bcrypt' }, 'secret', made), true);
    assert.equal(await verifyPassword({ name: 'bcrypt' }, 'secreT', made), false);
    assert.equal(await verifyPassword({ name: 'bcrypt' }, Buffer.from('secret'), made), true);
  });

  it('bcrypt defaults to 10 rounds and refuses rounds outside 5..10 when hashing', async () => {
    const made = await hashPassword({ name: 'bcrypt' }, 'secret');
    assert.ok(made.password_hash.startsWith('$2b$10$'));
    await assert.rejects(hashPassword({ name: 'bcrypt', salt_rounds: 11 }, 'x'), InvalidAlgorithmError);
    await assert.rejects(hashPassword({ name: 'bcrypt', salt_rounds: 4 }, 'x'), InvalidAlgorithmError);
  });

  it('accepts a Buffer password on both sides', async () => {
    const alg: PasswordHashAlgorithm = { name: 'md5', salt_position: 'prefix' };
    const made = await hashPassword(alg, Buffer.from('bytes'));
    assert.equal(await verifyPassword(alg, 'bytes', made), true);
    assert.equal(await verifyPassword(alg, Buffer.from('bytes'), made), true);
  });
});

describe('comparison rules', () => {
  it('accepts uppercase hex for digests and pbkdf2', async () => {
    const md5 = vectors.simple.find((v) => v.name === 'md5' && v.salt_position === 'prefix' && v.salt !== '');
    const pb = vectors.pbkdf2.find((v) => v.mac_fun === 'sha256');
    assert.ok(md5 && pb);
    assert.notEqual(md5.password_hash.toUpperCase(), md5.password_hash);
    const alg: PasswordHashAlgorithm = { name: 'md5', salt_position: 'prefix' };
    assert.equal(
      await verifyPassword(alg, md5.password, { password_hash: md5.password_hash.toUpperCase(), salt: md5.salt }),
      true,
    );
    assert.equal(
      await verifyPassword(pbkdf2Algorithm(pb), pb.password, {
        password_hash: pb.password_hash.toUpperCase(),
        salt: pb.salt,
      }),
      true,
    );
  });

  it('uses the salt as raw bytes: an uppercased salt is a different salt', async () => {
    const v = vectors.simple.find((x) => x.name === 'sha256' && x.salt_position === 'suffix' && /[a-f]/.test(x.salt));
    assert.ok(v);
    const alg: PasswordHashAlgorithm = { name: 'sha256', salt_position: 'suffix' };
    assert.equal(await verifyPassword(alg, v.password, { password_hash: v.password_hash, salt: v.salt.toUpperCase() }), false);
  });

  it('compares plain passwords exactly (case-sensitive, unlike EMQX)', async () => {
    const alg: PasswordHashAlgorithm = { name: 'plain', salt_position: 'disable' };
    assert.equal(await verifyPassword(alg, 'Secret', { password_hash: 'Secret' }), true);
    assert.equal(await verifyPassword(alg, 'secret', { password_hash: 'Secret' }), false);
    assert.equal(await verifyPassword(alg, 'SECRET', { password_hash: 'Secret' }), false);
  });

  it('plain with a prefix salt compares salt ‖ password', async () => {
    const alg: PasswordHashAlgorithm = { name: 'plain', salt_position: 'prefix' };
    assert.equal(await verifyPassword(alg, 'pw', { password_hash: 'saltpw', salt: 'salt' }), true);
    assert.equal(await verifyPassword(alg, 'pw', { password_hash: 'pw', salt: 'salt' }), false);
  });

  it('a stored hash of a different length never matches', async () => {
    const v = vectors.simple.find((x) => x.name === 'sha512' && x.salt_position === 'disable');
    assert.ok(v);
    const alg: PasswordHashAlgorithm = { name: 'sha512', salt_position: 'disable' };
    assert.equal(await verifyPassword(alg, v.password, { password_hash: v.password_hash.slice(0, -2) }), false);
    assert.equal(await verifyPassword(alg, v.password, { password_hash: `${v.password_hash}00` }), false);
    assert.equal(await verifyPassword(alg, v.password, { password_hash: '' }), false);
  });

  it('a missing candidate password is false for every algorithm', async () => {
    const algs: PasswordHashAlgorithm[] = [
      { name: 'plain', salt_position: 'disable' },
      { name: 'sha256', salt_position: 'prefix' },
      { name: 'bcrypt' },
      { name: 'pbkdf2', mac_fun: 'sha256', iterations: 1 },
    ];
    for (const alg of algs) {
      // An empty plain password would otherwise match an empty stored hash.
      assert.equal(await verifyPassword(alg, undefined, { password_hash: '', salt: '' }), false, alg.name);
    }
  });

  it('pbkdf2 with md4 / md5 / ripemd160 never verifies and cannot hash', async () => {
    for (const mac_fun of ['md4', 'md5', 'ripemd160'] as const) {
      const alg: PasswordHashAlgorithm = { name: 'pbkdf2', mac_fun, iterations: 1 };
      // Even the right answer (where this OpenSSL can compute it) is refused.
      let right = '00';
      try {
        right = pbkdf2Sync('public', 's', 1, 16, mac_fun).toString('hex');
      } catch {
        // md4 is absent from OpenSSL 3's default provider
      }
      assert.equal(await verifyPassword(alg, 'public', { password_hash: right, salt: 's' }), false, mac_fun);
      await assert.rejects(hashPassword(alg, 'x'), InvalidAlgorithmError);
    }
  });

  it('a malformed bcrypt string is false without hashing', async () => {
    for (const bad of ['', 'public', '$2b$05$short', '$2x$05$eRHeESL2kYlXJSBBxM2CIObGZzKN4.La3ACK2vTEstgHVmCyUA7WS']) {
      assert.equal(await verifyPassword({ name: 'bcrypt' }, 'public', { password_hash: bad }), false, bad);
    }
  });
});

describe('unusable stored records', () => {
  it('a null salt with prefix/suffix is a typed error; with disable it is ignored', async () => {
    const v = vectors.simple.find((x) => x.name === 'sha' && x.salt_position === 'disable');
    assert.ok(v);
    for (const salt_position of ['prefix', 'suffix'] as const) {
      let err: unknown;
      try {
        await verifyPassword({ name: 'sha', salt_position }, 'my-secret-pw', { password_hash: v.password_hash, salt: null });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof InvalidSaltError);
      assert.equal(err.code, 'invalid_salt');
      assert.ok(!err.message.includes('my-secret-pw'));
    }
    assert.equal(
      await verifyPassword({ name: 'sha', salt_position: 'disable' }, v.password, { password_hash: v.password_hash, salt: null }),
      true,
    );
    await assert.rejects(
      verifyPassword({ name: 'pbkdf2', mac_fun: 'sha', iterations: 1 }, 'x', { password_hash: 'ab', salt: null }),
      InvalidSaltError,
    );
  });

  it('an absent salt is the empty salt', async () => {
    const v = vectors.simple.find((x) => x.name === 'md5' && x.salt_position === 'prefix' && x.salt === '');
    assert.ok(v);
    assert.equal(
      await verifyPassword({ name: 'md5', salt_position: 'prefix' }, v.password, { password_hash: v.password_hash }),
      true,
    );
  });

  it('a non-string stored hash is a typed error', async () => {
    const stored = JSON.parse('{"password_hash": null}') as { password_hash: string };
    await assert.rejects(verifyPassword({ name: 'md5', salt_position: 'disable' }, 'x', stored), InvalidStoredPasswordError);
  });

  it('an unknown algorithm name is a typed error', async () => {
    const alg = JSON.parse('{"name": "argon2"}') as PasswordHashAlgorithm;
    await assert.rejects(verifyPassword(alg, 'x', { password_hash: 'y' }), InvalidAlgorithmError);
    await assert.rejects(hashPassword(alg, 'x'), InvalidAlgorithmError);
  });
});

describe('event loop and concurrency', () => {
  it('keeps the event loop ticking while 20 bcrypt cost-10 verifications run', async () => {
    const v = vectors.bcrypt.find((x) => x.password_hash.startsWith('$2b$10$') && x.expect === undefined);
    assert.ok(v);
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks += 1;
    }, 10);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => verifyPassword({ name: 'bcrypt' }, v.password, { password_hash: v.password_hash })),
    );
    const elapsed = performance.now() - started;
    clearInterval(timer);
    maxGap = Math.max(maxGap, performance.now() - last);
    assert.deepEqual(results, Array(20).fill(true));
    assert.ok(elapsed > 100, `the work must take long enough to measure (took ${elapsed.toFixed(0)} ms)`);
    assert.ok(ticks >= 5, `interval ticked ${ticks} times`);
    // Blocking hashing would stall the loop for about the whole run; off-loop hashing leaves
    // only scheduling noise (bounded loosely so a loaded CI machine does not flake).
    assert.ok(maxGap < Math.min(400, elapsed / 3), `max event-loop gap ${maxGap.toFixed(1)} ms of ${elapsed.toFixed(0)} ms`);
  });

  it('HashLimiter never runs more than its limit at once and runs everything in order', async () => {
    const limiter = new HashLimiter({ concurrency: 3 });
    let inFlight = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number) => async (): Promise<number> => {
      order.push(i);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5 + (i % 3)));
      inFlight -= 1;
      return i * 2;
    };
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => limiter.run(job(i))));
    assert.deepEqual(results, Array.from({ length: 12 }, (_, i) => i * 2));
    assert.equal(peak, 3);
    assert.deepEqual(order, Array.from({ length: 12 }, (_, i) => i));
    assert.deepEqual(limiter.stats(), { concurrency: 3, maxQueue: Infinity, maxQueuePerSource: Infinity, active: 0, queued: 0, sources: 0, refused: { source: 0, total: 0 } });
  });

  it('HashLimiter frees the slot of a failing job and passes its error on', async () => {
    const limiter = new HashLimiter({ concurrency: 1 });
    await assert.rejects(limiter.run(() => Promise.reject(new Error('boom'))), /boom/);
    await assert.rejects(
      limiter.run(() => {
        throw new Error('sync boom');
      }),
      /sync boom/,
    );
    assert.equal(await limiter.run(async () => 'ok'), 'ok');
    assert.equal(limiter.stats().active, 0);
  });

  it('HashLimiter rejects with HashBusyError only when asked and the queue is full', async () => {
    const limiter = new HashLimiter({ concurrency: 1, maxQueue: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = limiter.run(() => gate);
    const second = limiter.run(async () => 2, { rejectWhenFull: true });
    await assert.rejects(limiter.run(async () => 3, { rejectWhenFull: true }), HashBusyError);
    const patient = limiter.run(async () => 4); // hashing for user creation waits instead
    assert.deepEqual(limiter.stats(), { concurrency: 1, maxQueue: 1, maxQueuePerSource: Infinity, active: 1, queued: 2, sources: 1, refused: { source: 0, total: 1 } });
    release();
    await first;
    assert.equal(await second, 2);
    assert.equal(await patient, 4);
  });

  it('bcrypt verification goes through the shared limiter', async () => {
    configureHashConcurrency(1);
    const v = vectors.bcrypt.find((x) => x.password_hash.startsWith('$2b$05$') && x.expect === undefined);
    assert.ok(v);
    const pending = Array.from({ length: 4 }, () =>
      verifyPassword({ name: 'bcrypt' }, v.password, { password_hash: v.password_hash }),
    );
    // verifyPassword reaches the limiter synchronously, before its first await.
    const during = hashConcurrencyStats();
    assert.equal(during.active, 1);
    assert.equal(during.queued, 3);
    assert.deepEqual(await Promise.all(pending), [true, true, true, true]);
    assert.equal(hashConcurrencyStats().active, 0);
  });

  it('a full verification queue rejects with HashBusyError; cheap digests bypass it', async () => {
    configureHashConcurrency(1, { maxQueue: 1 });
    const v = vectors.bcrypt.find((x) => x.password_hash.startsWith('$2b$05$') && x.expect === undefined);
    const s = vectors.simple.find((x) => x.name === 'sha256' && x.salt_position === 'prefix');
    assert.ok(v && s);
    const verify = () => verifyPassword({ name: 'bcrypt' }, v.password, { password_hash: v.password_hash });
    const a = verify();
    const b = verify();
    await assert.rejects(verify(), HashBusyError);
    await assert.rejects(
      verifyPassword({ name: 'pbkdf2', mac_fun: 'sha256', iterations: 1 }, 'x', { password_hash: 'ab', salt: '' }),
      HashBusyError,
    );
    assert.equal(
      await verifyPassword({ name: 'sha256', salt_position: 'prefix' }, s.password, { password_hash: s.password_hash, salt: s.salt }),
      true,
    );
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
  });

  it('configureHashConcurrency refuses nonsense', () => {
    assert.throws(() => configureHashConcurrency(0), /integer >= 1/);
    assert.throws(() => configureHashConcurrency(1.5), /integer >= 1/);
    assert.throws(() => configureHashConcurrency(2, { maxQueue: -1 }), /queue length/);
    assert.ok(defaultHashConcurrency() >= 1);
  });
});

describe('is_superuser', () => {
  it('follows the EMQX truthiness table', () => {
    const truthy: unknown[] = [true, 'true', '1', 1, 2, 100, '2', '+3', '007', '99999999999999999999999', 5n];
    const falsy: unknown[] = [
      false, 'false', '0', 0, '', null, undefined, 'TRUE', 'True', 'yes', 1.5, '1.5', '1.0', -1, '-1', ' 1', '1 ',
      'abc', {}, [], [1], NaN, Infinity,
    ];
    for (const v of truthy) assert.equal(isSuperuserValue(v), true, `${typeof v} ${String(v)}`);
    for (const v of falsy) assert.equal(isSuperuserValue(v), false, `${typeof v} ${String(v)}`);
  });

  it('import files accept only true and "true"', () => {
    assert.equal(isSuperuserImportValue(true), true);
    assert.equal(isSuperuserImportValue('true'), true);
    for (const v of ['1', 1, 'TRUE', 'yes', false, null, undefined]) assert.equal(isSuperuserImportValue(v), false, String(v));
  });
});

describe('password_hash_algorithm parsing and schema', () => {
  it('defaults to sha256 with a prefix salt', () => {
    assert.deepEqual(parsePasswordHashAlgorithm(undefined), { name: 'sha256', salt_position: 'prefix' });
    assert.deepEqual(parsePasswordHashAlgorithm({ name: 'md5' }), { name: 'md5', salt_position: 'prefix' });
    assert.deepEqual(Value.Default(PasswordHashAlgorithmSchema, undefined), { name: 'sha256', salt_position: 'prefix' });
  });

  it('fills bcrypt salt_rounds and checks pbkdf2 fields', () => {
    assert.deepEqual(parsePasswordHashAlgorithm({ name: 'bcrypt' }), { name: 'bcrypt', salt_rounds: 10 });
    assert.deepEqual(parsePasswordHashAlgorithm({ name: 'pbkdf2', mac_fun: 'sha512', iterations: 3 }), {
      name: 'pbkdf2',
      mac_fun: 'sha512',
      iterations: 3,
    });
    assert.throws(() => parsePasswordHashAlgorithm({ name: 'pbkdf2', mac_fun: 'sha512' }), /iterations/);
    assert.throws(() => parsePasswordHashAlgorithm({ name: 'pbkdf2', mac_fun: 'whirlpool', iterations: 1 }), /mac_fun/);
    assert.throws(() => parsePasswordHashAlgorithm({ name: 'sha256', salt_position: 'middle' }), /salt_position/);
  });

  it('names the problem: missing name, unknown name, not an object', () => {
    assert.throws(() => parsePasswordHashAlgorithm({ salt_position: 'prefix' }), (e: unknown) => {
      return e instanceof InvalidAlgorithmError && e.code === 'algorithm_name_missing';
    });
    assert.throws(() => parsePasswordHashAlgorithm({ name: 'argon2' }), /must be one of/);
    assert.throws(() => parsePasswordHashAlgorithm('sha256'), /must be an object/);
  });

  it('clamps salt_rounds from config files and rejects it from the API', () => {
    assert.equal(clampSaltRounds(3), 5);
    assert.equal(clampSaltRounds(7), 7);
    assert.equal(clampSaltRounds(31), 10);
    assert.throws(() => clampSaltRounds(7.5), InvalidAlgorithmError);
    assert.deepEqual(parsePasswordHashAlgorithm({ name: 'bcrypt', salt_rounds: 20 }, { source: 'config' }), {
      name: 'bcrypt',
      salt_rounds: 10,
    });
    assert.deepEqual(parsePasswordHashAlgorithm({ name: 'bcrypt', salt_rounds: 1 }, { source: 'config' }), {
      name: 'bcrypt',
      salt_rounds: 5,
    });
    assert.throws(() => parsePasswordHashAlgorithm({ name: 'bcrypt', salt_rounds: 20 }), /salt_rounds/);
    assert.equal(Value.Check(PasswordHashAlgorithmSchema, { name: 'bcrypt', salt_rounds: 20 }), false);
    assert.equal(Value.Check(PasswordHashAlgorithmSchema, { name: 'bcrypt', salt_rounds: 6 }), true);
  });

  it('external backends accept only {name: "bcrypt"}', () => {
    assert.deepEqual(parsePasswordHashAlgorithm({ name: 'bcrypt' }, { variant: 'external' }), { name: 'bcrypt' });
    assert.throws(
      () => parsePasswordHashAlgorithm({ name: 'bcrypt', salt_rounds: 6 }, { variant: 'external' }),
      /salt_rounds/,
    );
    assert.equal(Value.Check(ExternalPasswordHashAlgorithmSchema, { name: 'bcrypt', salt_rounds: 6 }), false);
    assert.equal(Value.Check(ExternalPasswordHashAlgorithmSchema, { name: 'bcrypt' }), true);
  });

  it('the schema carries static types (checked by tsc) that parse accepts', () => {
    const input: PasswordHashAlgorithmInput = { name: 'pbkdf2', mac_fun: 'sha256', iterations: 2 };
    // @ts-expect-error an unknown algorithm name is a type error
    const unknownName: PasswordHashAlgorithmInput = { name: 'argon2' };
    assert.deepEqual(parsePasswordHashAlgorithm(input), input);
    assert.equal(Value.Check(PasswordHashAlgorithmSchema, unknownName), false);
  });

  it('does not modify the input object', () => {
    const input = { name: 'bcrypt', salt_rounds: 50 };
    parsePasswordHashAlgorithm(input, { source: 'config' });
    assert.deepEqual(input, { name: 'bcrypt', salt_rounds: 50 });
  });
});
