import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHocon, parseHoconFile, HoconError, type HoconObject } from '../../src/config/hocon/index.js';
import { parseDuration, parseByteSize } from '../../src/config/hocon/units.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hocon');
const NO_ENV = {};

function p(text: string, env: Record<string, string | undefined> = NO_ENV): HoconObject {
  return parseHocon(text, { env });
}

/** Asserts that parsing fails with a HoconError at the given place whose reason matches. */
function fails(text: string, line: number, col: number, reason: RegExp, filename?: string): HoconError {
  try {
    parseHocon(text, { env: NO_ENV, filename });
  } catch (err) {
    assert.ok(err instanceof HoconError, `expected HoconError, got ${String(err)}`);
    assert.match(err.reason, reason);
    assert.equal(err.line, line, `line of: ${err.message}`);
    assert.equal(err.col, col, `column of: ${err.message}`);
    assert.equal(err.message, `${err.file}:${line}:${col}: ${err.reason}`);
    return err;
  }
  assert.fail(`expected a parse error for ${JSON.stringify(text)}`);
}

describe('EMQX reference examples', () => {
  test('example 1 (Appendix A) parses with the documented values', () => {
    const c = parseHoconFile(join(FIXTURES, 'emqx5-example-1.conf'), { env: NO_ENV });
    const authn = c.authentication as HoconObject[];
    assert.equal(authn.length, 3);
    assert.deepEqual(authn[0], {
      mechanism: 'password_based',
      backend: 'built_in_database',
      user_id_type: 'username',
      password_hash_algorithm: { name: 'sha256', salt_position: 'suffix' },
    });
    assert.equal(authn[1]!.url, 'http://127.0.0.1:8080/auth');
    assert.equal(authn[1]!.method, 'post');
    // Placeholders inside quoted strings are not HOCON substitutions.
    assert.deepEqual(authn[1]!.body, { username: '${username}', password: '${password}' });
    assert.equal(authn[2]!.use_jwks, false);
    assert.equal(authn[2]!.algorithm, 'hmac-based');
    assert.equal(authn[2]!.secret, 's3cr3t');
    assert.deepEqual(authn[2]!.verify_claims, { username: '${username}' });
    // Parsed text of EMQX's Appendix A example (test/fixtures/hocon): no socket is opened.
    assert.deepEqual(c.listeners, { tcp: { default: { bind: '0.0.0.0:1883', enable_authn: 'quick_deny_anonymous' } } });
    const authz = c.authorization as HoconObject;
    assert.equal(authz.no_match, 'deny');
    assert.equal(authz.deny_action, 'disconnect');
    assert.deepEqual(authz.cache, { enable: true, max_size: 32, ttl: '1m' });
    assert.equal(parseDuration((authz.cache as HoconObject).ttl as string), 60_000);
    assert.deepEqual(authz.sources, [
      { type: 'built_in_database', max_rules: 100 },
      { type: 'file', path: 'etc/acl.conf' },
    ]);
    assert.deepEqual(c.psk_authentication, { enable: true, init_file: 'data/psk.txt', separator: ':' });
    assert.deepEqual(c.gateway, {
      stomp: {
        mountpoint: 'stomp/',
        authentication: { mechanism: 'password_based', backend: 'built_in_database' },
        listeners: { tcp: { default: { bind: 61613 } } },
      },
    });
  });

  test('example 2 (§12.2 clientinfo_override templates): later assignment wins, templates stay literal', () => {
    const c = parseHoconFile(join(FIXTURES, 'emqx5-example-2.conf'), { env: NO_ENV });
    assert.deepEqual(c, {
      username: '${Packet.headers.login}',
      password: '${Packet.headers.passcode}',
      clientid: '${Packet.headers.client-id}',
    });
  });

  test('example 3 (inline and table assignments)', () => {
    const c = parseHoconFile(join(FIXTURES, 'emqx5-example-3.conf'), { env: NO_ENV });
    assert.deepEqual(c, {
      use_jwks: false,
      algorithm: 'hmac-based',
      salt_position: 'prefix',
      disable_prepared_statements: true,
      ssl: { enable: false },
      deny_action: 'disconnect',
      websocket: { mqtt_path: '/mqtt' },
      verify: 'verify_peer',
      enable_authn: false,
    });
  });

  test('an unquoted ip:port bind is rejected with a hint to quote it', () => {
    const err = fails('listeners.tcp.default {\n  bind = 0.0.0.0:11883\n}', 2, 17, /':' is not allowed in unquoted strings, so quote the whole value/, 'emqx.conf');
    assert.ok(err.message.startsWith('emqx.conf:2:17: '));
  });

  test('SSL defaults written with ${EMQX_ETC_DIR} resolve from the environment', () => {
    const c = p('ssl_options { certfile = ${EMQX_ETC_DIR}/certs/cert.pem, keyfile = ${EMQX_ETC_DIR}"/certs/key.pem" }', {
      EMQX_ETC_DIR: '/etc/emqx',
    });
    assert.deepEqual(c.ssl_options, { certfile: '/etc/emqx/certs/cert.pem', keyfile: '/etc/emqx/certs/key.pem' });
  });
});

describe('syntax', () => {
  test('comments with # and //, but not inside quoted strings', () => {
    const c = p('# top\na = 1 // trailing\n// whole line\nb = "x // y # z" # after\nc = http # c\n');
    assert.deepEqual(c, { a: 1, b: 'x // y # z', c: 'http' });
  });

  test('root braces are optional', () => {
    const text = 'a = 1\nb { c = 2 }';
    assert.deepEqual(p(`{\n${text}\n}`), p(text));
    assert.deepEqual(p(text), { a: 1, b: { c: 2 } });
    assert.deepEqual(p(''), {});
    assert.deepEqual(p('# only a comment\n'), {});
  });

  test('separators =, : and none before {', () => {
    assert.deepEqual(p('a = 1\nb : 2\nc { d = 3 }\ne: { f = 4 }\ng = { h: 5 }'), {
      a: 1, b: 2, c: { d: 3 }, e: { f: 4 }, g: { h: 5 },
    });
    fails('a [1]', 1, 3, /expected '=', ':', '\+=' or '\{' after key 'a', found '\['/);
  });

  test('path expressions and quoted keys', () => {
    assert.deepEqual(p('a.b.c = 1\na.b.d = 2\n"a.b" = 3\n"x".y."z.w" = 4'), {
      a: { b: { c: 1, d: 2 } }, 'a.b': 3, x: { y: { 'z.w': 4 } },
    });
    assert.deepEqual(p('foo bar = 1'), { 'foo bar': 1 });
    assert.deepEqual(p('10.0foo = 1'), { '10': { '0foo': 1 } });
    fails('a..b = 1', 1, 1, /empty path element/);
    fails('${x} = 1', 1, 1, /substitutions are not allowed in keys/);
  });

  test('unquoted strings', () => {
    assert.deepEqual(p('mechanism = password_based\npath = etc/acl.conf\nv = -abc\nd = 2024-01-02\nip = 10.0.0.1'), {
      mechanism: 'password_based', path: 'etc/acl.conf', v: '-abc', d: '2024-01-02', ip: '10.0.0.1',
    });
    fails('a = b@c', 1, 6, /character '@' is not allowed/);
  });

  test('quoted strings with JSON escapes', () => {
    const c = p(String.raw`a = "q\" b\\ s\/ \b\f\n\r\t \u00e9\u20AC"`);
    assert.equal(c.a, 'q" b\\ s/ \b\f\n\r\t é€');
    fails(String.raw`a = "bad \q"`, 1, 10, /bad escape '\\q'/);
    fails(String.raw`a = "\u12"`, 1, 6, /bad \\u escape/);
  });

  test('triple-quoted strings are raw and may span lines', () => {
    const c = p('a = """line 1\n  "quoted" \\n raw\nend"""\nb = """x""""');
    assert.equal(c.a, 'line 1\n  "quoted" \\n raw\nend');
    assert.equal(c.b, 'x"');
  });

  test('numbers, booleans and null', () => {
    assert.deepEqual(p('i = 42\nn = -7\nf = 1.5\ne = 1e3\nt = true\nfa = false\nz = null\nts = "true"'), {
      i: 42, n: -7, f: 1.5, e: 1000, t: true, fa: false, z: null, ts: 'true',
    });
    // A number followed directly by letters is a string (durations, sizes).
    assert.deepEqual(p('ttl = 10s\nsize = 64KB\nx = 1.0 a'), { ttl: '10s', size: '64KB', x: '1.0 a' });
  });

  test('value concatenation', () => {
    assert.deepEqual(p('a = foo bar\nb = foo   "bar"  baz  \nc = true story\nd = "a"1'), {
      a: 'foo bar', b: 'foo   bar  baz', c: 'true story', d: 'a1',
    });
    assert.deepEqual(p('o = { x = 1 } { y = 2 }\nl = [1, 2] [3]'), { o: { x: 1, y: 2 }, l: [1, 2, 3] });
    fails('a = [1] x', 1, 9, /cannot concatenate an array with a string/);
  });

  test('arrays with newlines, commas and trailing commas', () => {
    assert.deepEqual(p('a = [\n  1\n  2,\n  "three",\n]\nb = [ [1, 2], {k = v}, ]\nc = []'), {
      a: [1, 2, 'three'], b: [[1, 2], { k: 'v' }], c: [],
    });
    fails('a = [1,,2]', 1, 8, /two commas in a row/);
    fails('a = [,1]', 1, 6, /unexpected ','/);
    fails('a = 1,,\nb = 2', 1, 7, /two commas in a row/);
  });

  test('duplicate keys: objects merge deeply, other values are replaced', () => {
    const c = p('a { x = 1, n { p = 1, q = 2 } }\na { y = 2, n { q = 3 } }\nb = 1\nb = 2\nc { x = 1 }\nc = 5\nd = 5\nd { y = 1 }\ne { x = 1 }\ne = null\ne { z = 1 }');
    assert.deepEqual(c, { a: { x: 1, y: 2, n: { p: 1, q: 3 } }, b: 2, c: 5, d: { y: 1 }, e: { z: 1 } });
    assert.deepEqual(p('a.b = 1\na { c = 2 }\na.b = 3'), { a: { b: 3, c: 2 } });
  });

  test('+= appends to an array (or starts one)', () => {
    assert.deepEqual(p('a = [1]\na += 2\na += [3]\nb += x\nn { l += 1, l += 2 }'), {
      a: [1, 2, [3]], b: ['x'], n: { l: [1, 2] },
    });
  });

  test('keys named __proto__ stay plain data', () => {
    const c = p('"__proto__" { polluted = yes }\nx = 1');
    assert.deepEqual(Object.keys(c), ['__proto__', 'x']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(c), Object.prototype);
  });
});

describe('substitutions', () => {
  test('resolve against the document, including forward and nested references', () => {
    const c = p('a = ${b.c}\nb { c = 42, d = ${b.c}0 }\ne = ${b}\nf = "pre-"${b.c}\ng = ${t} ${t}\nt = yes');
    assert.deepEqual(c, { a: 42, b: { c: 42, d: '420' }, e: { c: 42, d: '420' }, f: 'pre-42', g: 'yes yes', t: 'yes' });
  });

  test('a substitution sees the final value of the path', () => {
    assert.deepEqual(p('a = ${b}\nb = 1\nb = 2'), { a: 2, b: 2 });
  });

  test('environment variables are used when the document has no such path', () => {
    const env = { HOME: '/home/gh', PORT: '11883' };
    assert.deepEqual(p('home = ${HOME}\nport = ${PORT}\nx = ${?HOME}/x', env), { home: '/home/gh', port: '11883', x: '/home/gh/x' });
    assert.deepEqual(p('HOME = "/cfg"\nh = ${HOME}', env), { HOME: '/cfg', h: '/cfg' }, 'the document wins over env');
    assert.equal(parseHocon('u = ${GH_TEST_VAR}', { env: { GH_TEST_VAR: 'v' } }).u, 'v');
  });

  test('process.env is the default environment', () => {
    process.env.GATEHOUSE_HOCON_TEST = 'from-env';
    try {
      assert.equal(parseHocon('v = ${GATEHOUSE_HOCON_TEST}').v, 'from-env');
    } finally {
      delete process.env.GATEHOUSE_HOCON_TEST;
    }
  });

  test('optional substitutions', () => {
    assert.deepEqual(p('a = ${?NOPE}\nb = 1\nb = ${?NOPE}\nc = [1, ${?NOPE}, 2]\nd = x${?NOPE}y\ne = ${?X}', { X: 'set' }), {
      b: 1, c: [1, 2], d: 'xy', e: 'set',
    });
  });

  test('self-referential fields', () => {
    assert.deepEqual(p('path = "/bin"\npath = ${path}":/usr/bin"'), { path: '/bin:/usr/bin' });
    assert.deepEqual(p('PATH = ${PATH}":/opt/gh"', { PATH: '/bin' }), { PATH: '/bin:/opt/gh' });
    assert.deepEqual(p('o { a = 1 }\no = ${o} { b = 2 }'), { o: { a: 1, b: 2 } });
    assert.deepEqual(p('x = ${?x}"suffix"'), { x: 'suffix' });
    // Spec example: a self-reference through a path expression sees the value below it.
    assert.deepEqual(p('foo : { a : { c : 1 } }\nfoo : ${foo.a}\nfoo : { a : 2 }'), { foo: { a: 2, c: 1 } });
    fails('path = ${path}":extra"', 1, 8, /could not resolve substitution \$\{path\}/);
  });

  test('cycles and undefined references are errors with positions', () => {
    fails('a = ${b}\nb = ${a}', 2, 5, /substitution cycle: \$\{a\}/);
    fails('a { b = ${a} }', 1, 9, /substitution cycle/);
    fails('x = 1\ny = ${nope.here}', 2, 5, /could not resolve substitution \$\{nope\.here\}/);
  });

  test('concatenating an object with a string is an error', () => {
    fails('o { a = 1 }\ns = ${o} text', 2, 10, /cannot concatenate an object with a string/);
  });
});

describe('includes', () => {
  let dir = '';
  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'gh-hocon-')));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'main.conf'), 'include "base.conf"\nb = 2\nnested { include file("sub/inner.conf") }\ninclude "optional-missing.conf"\n');
    writeFileSync(join(dir, 'base.conf'), 'a = 1\nb = 1\nport = ${?PORT}\n');
    writeFileSync(join(dir, 'sub', 'inner.conf'), 'x = 10\ny = ${x}\nfrom_root = ${a}\ninclude "sibling.conf"\n');
    writeFileSync(join(dir, 'sub', 'sibling.conf'), 'z = "from sub/sibling"\n');
    writeFileSync(join(dir, 'cycle-a.conf'), 'a = 1\ninclude "cycle-b.conf"\n');
    writeFileSync(join(dir, 'cycle-b.conf'), 'b = 1\ninclude "cycle-a.conf"\n');
    writeFileSync(join(dir, 'self.conf'), 'include "self.conf"\n');
    writeFileSync(join(dir, 'req.conf'), 'include required(file("absent.conf"))\n');
    writeFileSync(join(dir, 'bad.conf'), 'ok = 1\nbroken = "no end\n');
    writeFileSync(join(dir, 'uses-bad.conf'), 'include "bad.conf"\n');
    writeFileSync(join(dir, 'noext.conf'), 'found = yes\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('include "file" and include file(...) are relative to the including file', () => {
    const c = parseHoconFile(join(dir, 'main.conf'), { env: { PORT: '8080' } });
    assert.deepEqual(c, {
      a: 1, b: 2, port: '8080',
      // ${x} in the included file means nested.x; ${a} falls back to the root.
      nested: { x: 10, y: 10, from_root: 1, z: 'from sub/sibling' },
    });
  });

  test('an include without extension tries .conf; a missing optional include is ignored', () => {
    const c = parseHocon('include "noext"\ninclude "nothing-here"\nv = 1', { filename: join(dir, 'x.conf'), env: NO_ENV });
    assert.deepEqual(c, { found: 'yes', v: 1 });
  });

  test('include cycles are errors', () => {
    assert.throws(() => parseHoconFile(join(dir, 'cycle-a.conf')), (err: unknown) => {
      assert.ok(err instanceof HoconError);
      assert.match(err.reason, /include cycle: .*cycle-a\.conf -> .*cycle-b\.conf -> .*cycle-a\.conf/);
      assert.equal(err.file, join(dir, 'cycle-b.conf'));
      assert.equal(err.line, 2);
      return true;
    });
    assert.throws(() => parseHoconFile(join(dir, 'self.conf')), /self\.conf:1:1: include cycle/);
  });

  test('a missing required include is an error', () => {
    assert.throws(() => parseHoconFile(join(dir, 'req.conf')), /req\.conf:1:1: required include 'absent\.conf' not found/);
  });

  test('errors inside an included file name that file', () => {
    assert.throws(() => parseHoconFile(join(dir, 'uses-bad.conf')), (err: unknown) => {
      assert.ok(err instanceof HoconError);
      assert.equal(err.file, join(dir, 'bad.conf'));
      assert.equal(err.line, 2);
      assert.equal(err.col, 10);
      return true;
    });
  });

  test('a custom readFile is used for includes', () => {
    const files: Record<string, string> = { '/virtual/extra.conf': 'k = v' };
    const readFile = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return text;
    };
    assert.deepEqual(parseHocon('include "extra.conf"', { filename: '/virtual/main.conf', readFile }), { k: 'v' });
  });

  test('unsupported include kinds and a missing top-level file are clear errors', () => {
    fails('include url("http://example.com/x.conf")', 1, 1, /include url\(\.\.\.\) is not supported/);
    assert.throws(() => parseHoconFile(join(dir, 'does-not-exist.conf')), /does-not-exist\.conf:1:1: cannot read config file/);
  });

  test('a key named include still works', () => {
    assert.deepEqual(p('include = 1\ninclude.x = 2'), { include: { x: 2 } });
  });
});

describe('error positions', () => {
  test('unterminated strings point at the opening quote', () => {
    fails('a = 1\nb = "abc', 2, 5, /unterminated quoted string/);
    fails('a = "abc\nb = 1', 1, 5, /cannot span lines/);
    fails('a = """abc\n', 1, 5, /unterminated triple-quoted string/);
  });

  test('unbalanced braces and brackets', () => {
    fails('a {\n  b = 1\n', 1, 3, /'\{' is never closed/);
    fails('a = 1\n}', 2, 1, /unexpected '\}' without a matching '\{'/);
    fails('a = [1, 2', 1, 5, /'\[' is never closed/);
    fails('a = { b = [1 }', 1, 14, /found '\}' while an array is open/);
    fails('{ a = 1 } }', 1, 11, /after the closing '\}' of the root object/);
  });

  test('bad substitutions', () => {
    fails('a = ${b', 1, 5, /unterminated substitution/);
    fails('a = ${}', 1, 5, /empty substitution path/);
    fails('a = ${b:c}', 1, 8, /':' is not allowed in a substitution path/);
    fails('a = $b', 1, 5, /'\$' must start a substitution/);
  });

  test('the error message has the form file:line:col: reason', () => {
    const err = fails('ok = 1\n  broken = [\n', 2, 12, /never closed/, 'etc/gatehouse.conf');
    assert.equal(err.message, "etc/gatehouse.conf:2:12: unbalanced brackets: '[' is never closed (missing ']')");
    assert.equal(err.name, 'HoconError');
  });

  test('other malformed inputs', () => {
    fails('a = ', 1, 5, /expected a value, found end of input/);
    fails('= 1', 1, 1, /expected a key/);
    fails('[1, 2]', 1, 1, /root of a config file must be an object/);
    fails('a = 1 b = 2', 1, 9, /unexpected '=' after a value/);
  });

  test('string contents (possibly secrets) are not echoed in errors', () => {
    const err = fails('{ password = x } "hunter2-secret"', 1, 18, /unexpected quoted string after the closing/);
    assert.doesNotMatch(err.message, /hunter2/);
    const err2 = fails('{ a = 1 } hunter2secret', 1, 11, /unexpected unquoted text/);
    assert.doesNotMatch(err2.message, /hunter2/);
  });
});

describe('units', () => {
  test('parseDuration accepts EMQX durations and returns milliseconds', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1m'), 60_000);
    assert.equal(parseDuration('5h'), 18_000_000);
    assert.equal(parseDuration('7200s'), 7_200_000);
    assert.equal(parseDuration('100ms'), 100);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('1w'), 604_800_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2.5m'), 150_000);
    assert.equal(parseDuration('15S'), 15_000);
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration('250'), 250);
  });

  test('parseDuration rejects bad input with a reason', () => {
    for (const bad of ['', 'abc', '10 s', '5x', '-1s', 's10', '1h 30m', '1.5']) {
      assert.throws(() => parseDuration(bad), /invalid duration/, bad);
    }
    assert.throws(() => parseDuration(-5), /non-negative/);
    assert.throws(() => parseDuration(Number.NaN), /invalid duration/);
  });

  test('parseByteSize', () => {
    assert.equal(parseByteSize('1MB'), 1_048_576);
    assert.equal(parseByteSize('64KB'), 65_536);
    assert.equal(parseByteSize('640kb'), 655_360);
    assert.equal(parseByteSize('1GB'), 1_073_741_824);
    assert.equal(parseByteSize('10B'), 10);
    assert.equal(parseByteSize('512'), 512);
    assert.equal(parseByteSize(4096), 4096);
    for (const bad of ['', 'MB', '1XB', '-1KB', '1 M']) {
      assert.throws(() => parseByteSize(bad), /invalid byte size/, bad);
    }
  });
});
