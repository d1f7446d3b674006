import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  UserImportError,
  formatFromFilename,
  parseUserFile,
  toImportRecords,
  type RawUser,
  type UserImportErrorCode,
} from '../../src/store/index.js';

/** Assert a UserImportError with `code` whose message contains `where` and not `secret`. */
function throwsImport(fn: () => unknown, code: UserImportErrorCode, where?: string, secret?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserImportError, `expected UserImportError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (where !== undefined) assert.ok(e.message.includes(where), `message "${e.message}" should name ${where}`);
    if (secret !== undefined) assert.ok(!e.message.includes(secret), 'message leaks a secret');
    return true;
  });
}

const strip = (rows: RawUser[]): Omit<RawUser, 'line'>[] => rows.map(({ line: _line, ...rest }) => rest);

describe('formatFromFilename', () => {
  test('csv/json by extension, case-insensitive', () => {
    assert.equal(formatFromFilename('users.csv'), 'csv');
    assert.equal(formatFromFilename('/tmp/x/Users.CSV'), 'csv');
    assert.equal(formatFromFilename('users.json'), 'json');
    assert.equal(formatFromFilename('a.b.Json'), 'json');
  });
  test('other extension → unsupported_file_format naming it; none → unknown_file_format', () => {
    throwsImport(() => formatFromFilename('users.txt'), 'unsupported_file_format', '.txt');
    throwsImport(() => formatFromFilename('users'), 'unknown_file_format');
    throwsImport(() => formatFromFilename('users.'), 'unknown_file_format');
  });
});

describe('parseUserFile CSV', () => {
  test('EMQX export format (hash) imports', () => {
    const csv =
      'user_id,password_hash,salt,is_superuser\n' +
      'myuser3,b6c743545a7817ae8c8f624371d5f5f0373234bb0ff36b8ffbf19bce0e06ab75,de1024f462fb83910fd13151bd4bd235,true\n' +
      'myuser4,ee68c985a69208b6eda8c6c9b4c7c2d2b15ee2352cdd64a903171710a99182e8,ad773b5be9dd0613fe6c2f4d8c403139,false\n';
    const rows = parseUserFile(csv, 'csv', 'hash');
    assert.deepEqual(rows, [
      {
        user_id: 'myuser3',
        password_hash: 'b6c743545a7817ae8c8f624371d5f5f0373234bb0ff36b8ffbf19bce0e06ab75',
        salt: 'de1024f462fb83910fd13151bd4bd235',
        is_superuser: true,
        line: 2,
      },
      {
        user_id: 'myuser4',
        password_hash: 'ee68c985a69208b6eda8c6c9b4c7c2d2b15ee2352cdd64a903171710a99182e8',
        salt: 'ad773b5be9dd0613fe6c2f4d8c403139',
        is_superuser: false,
        line: 3,
      },
    ]);
  });

  test('plain, header columns in any order, Buffer input, BOM', () => {
    const csv = Buffer.from('\uFEFFis_superuser,password,user_id\ntrue,pw1,alice\nfalse,pw2,bob', 'utf8');
    assert.deepEqual(strip(parseUserFile(csv, 'csv', 'plain')), [
      { user_id: 'alice', password: 'pw1', is_superuser: true },
      { user_id: 'bob', password: 'pw2', is_superuser: false },
    ]);
  });

  test('quoted fields: commas, spaces, doubled quotes, line breaks; line numbers stay right', () => {
    const csv = [
      'user_id,password,is_superuser',
      '"al,ice","pa ss, word","true"',
      '"say ""hi""", "  padded  " ,false',
      '"multi',
      'line","p',
      'w",true',
      'last,"",false',
    ].join('\n');
    // The last row has an empty password → error naming line 7 proves line counting across quoted breaks.
    throwsImport(() => parseUserFile(csv, 'csv', 'plain'), 'plain_import_requires_password_field', 'line 7');
    const ok = csv.replace('last,"",false', 'last,"x",false');
    const rows = parseUserFile(ok, 'csv', 'plain');
    assert.deepEqual(rows, [
      { user_id: 'al,ice', password: 'pa ss, word', is_superuser: true, line: 2 },
      { user_id: 'say "hi"', password: '  padded  ', is_superuser: false, line: 3 },
      { user_id: 'multi\nline', password: 'p\nw', is_superuser: true, line: 4 },
      { user_id: 'last', password: 'x', is_superuser: false, line: 7 },
    ]);
  });

  test('CRLF, lone CR, blank lines skipped, spaces around unquoted fields dropped (EMQX style)', () => {
    const csv = 'user_id, password, is_superuser\r\n\r\nalice, secret, true\r\n\n  bob ,pw\t,false\rcarol,pw3,false\r\n';
    const rows = parseUserFile(csv, 'csv', 'plain');
    assert.deepEqual(rows, [
      { user_id: 'alice', password: 'secret', is_superuser: true, line: 3 },
      { user_id: 'bob', password: 'pw', is_superuser: false, line: 5 },
      { user_id: 'carol', password: 'pw3', is_superuser: false, line: 6 },
    ]);
  });

  test('empty columns: empty salt → "", empty or missing is_superuser → false', () => {
    const csv = 'user_id,password_hash,salt,is_superuser\nalice,h1,,\nbob,h2,s2,true\n';
    assert.deepEqual(strip(parseUserFile(csv, 'csv', 'hash')), [
      { user_id: 'alice', password_hash: 'h1', salt: '', is_superuser: false },
      { user_id: 'bob', password_hash: 'h2', salt: 's2', is_superuser: true },
    ]);
    const noCols = 'user_id,password_hash\nalice,h1\n';
    assert.deepEqual(strip(parseUserFile(noCols, 'csv', 'hash')), [
      { user_id: 'alice', password_hash: 'h1', salt: '', is_superuser: false },
    ]);
  });

  test('is_superuser is true only for the exact string "true"', () => {
    const csv = 'user_id,password,is_superuser\na,p,true\nb,p,TRUE\nc,p,True\nd,p,1\ne,p,yes\nf,p,"true"\n';
    assert.deepEqual(
      parseUserFile(csv, 'csv', 'plain').map((r) => [r.user_id, r.is_superuser]),
      [['a', true], ['b', false], ['c', false], ['d', false], ['e', false], ['f', true]],
    );
  });

  test('duplicate user ids are all returned in file order (the import decides, §6.2 rule)', () => {
    const rows = parseUserFile('user_id,password\nx,p1\nx,p2\n', 'csv', 'plain');
    assert.deepEqual(rows.map((r) => [r.user_id, r.password, r.line]), [['x', 'p1', 2], ['x', 'p2', 3]]);
  });

  test('malformed line 3 → bad_format naming line 3, without the secret', () => {
    const base = 'user_id,password,is_superuser\nalice,pw,false\n';
    throwsImport(() => parseUserFile(base + 'bob,s3cr3t-pw\n', 'csv', 'plain'), 'bad_format', 'line 3', 's3cr3t');
    throwsImport(() => parseUserFile(base + 'bob,s3cr3t-pw,false,extra\n', 'csv', 'plain'), 'bad_format', 'line 3', 's3cr3t');
    throwsImport(() => parseUserFile(base + 'bob,"s3cr3t-pw,false\nmore\n', 'csv', 'plain'), 'bad_format', 'line 3', 's3cr3t');
    throwsImport(() => parseUserFile(base + 'bob,"s3cr3t"x,false\n', 'csv', 'plain'), 'bad_format', 'line 3', 's3cr3t');
  });

  test('empty user_id → bad_format naming the line', () => {
    throwsImport(() => parseUserFile('user_id,password\na,p\n,pw\n', 'csv', 'plain'), 'bad_format', 'line 3');
    throwsImport(() => parseUserFile('user_id,password\na,p\n"",pw\n', 'csv', 'plain'), 'bad_format', 'line 3');
  });

  test('missing required columns/values', () => {
    throwsImport(() => parseUserFile('user_id,is_superuser\na,true\n', 'csv', 'plain'), 'plain_import_requires_password_field');
    throwsImport(() => parseUserFile('user_id,password\na,p\n', 'csv', 'hash'), 'hash_import_requires_password_hash_field');
    throwsImport(() => parseUserFile('user_id,password_hash\na,h\nb,\n', 'csv', 'hash'), 'hash_import_requires_password_hash_field', 'line 3');
    throwsImport(() => parseUserFile('name,password\na,p\n', 'csv', 'plain'), 'bad_format', 'user_id');
    throwsImport(() => parseUserFile('user_id,password,user_id\na,p,b\n', 'csv', 'plain'), 'bad_format', 'twice');
  });

  test('header only or empty file → empty_users, whatever the type', () => {
    throwsImport(() => parseUserFile('user_id,password,is_superuser\n', 'csv', 'plain'), 'empty_users');
    throwsImport(() => parseUserFile('user_id,password,is_superuser\n', 'csv', 'hash'), 'empty_users');
    throwsImport(() => parseUserFile('', 'csv', 'plain'), 'empty_users');
    throwsImport(() => parseUserFile('\n\n', 'csv', 'plain'), 'empty_users');
  });

  test('invalid UTF-8 → bad_format', () => {
    const bytes = Buffer.concat([Buffer.from('user_id,password\nal'), Buffer.from([0xff, 0xfe]), Buffer.from(',p\n')]);
    throwsImport(() => parseUserFile(bytes, 'csv', 'plain'), 'bad_format', 'UTF-8');
  });
});

describe('parseUserFile JSON', () => {
  test('plain array of objects; is_superuser only for true / "true"', () => {
    const json = JSON.stringify([
      { user_id: 'a', password: 'p1', is_superuser: true },
      { user_id: 'b', password: 'p2', is_superuser: 'true' },
      { user_id: 'c', password: 'p3', is_superuser: 'TRUE' },
      { user_id: 'd', password: 'p4', is_superuser: 1 },
      { user_id: 'e', password: 'p5' },
    ]);
    assert.deepEqual(parseUserFile(json, 'json', 'plain'), [
      { user_id: 'a', password: 'p1', is_superuser: true, line: 0 },
      { user_id: 'b', password: 'p2', is_superuser: true, line: 1 },
      { user_id: 'c', password: 'p3', is_superuser: false, line: 2 },
      { user_id: 'd', password: 'p4', is_superuser: false, line: 3 },
      { user_id: 'e', password: 'p5', is_superuser: false, line: 4 },
    ]);
  });

  test('hash: salt optional (default ""), null salt allowed', () => {
    const json = JSON.stringify([
      { user_id: 'a', password_hash: 'h1', salt: 's1', is_superuser: false },
      { user_id: 'b', password_hash: 'h2' },
      { user_id: 'c', password_hash: 'h3', salt: null },
    ]);
    assert.deepEqual(strip(parseUserFile(Buffer.from(json), 'json', 'hash')), [
      { user_id: 'a', password_hash: 'h1', salt: 's1', is_superuser: false },
      { user_id: 'b', password_hash: 'h2', salt: '', is_superuser: false },
      { user_id: 'c', password_hash: 'h3', salt: '', is_superuser: false },
    ]);
  });

  test('errors name the array index', () => {
    throwsImport(() => parseUserFile('{"user_id":"a"}', 'json', 'plain'), 'unknown_file_format');
    throwsImport(() => parseUserFile('[]', 'json', 'plain'), 'empty_users');
    throwsImport(() => parseUserFile('[{"user_id":"a","password":"p"}, 5]', 'json', 'plain'), 'bad_format', 'index 1');
    throwsImport(() => parseUserFile('[{"user_id":"a","password":"p"}, null]', 'json', 'plain'), 'bad_format', 'index 1');
    throwsImport(
      () => parseUserFile('[{"user_id":"a","password":"p"},{"user_id":"b","password":"p"},{"user_id":"c"}]', 'json', 'plain'),
      'plain_import_requires_password_field',
      'index 2',
    );
    throwsImport(() => parseUserFile('[{"user_id":"a","password":"p"}]', 'json', 'hash'), 'hash_import_requires_password_hash_field', 'index 0');
    throwsImport(() => parseUserFile('[{"user_id":"","password":"p"}]', 'json', 'plain'), 'bad_format', 'index 0');
    throwsImport(() => parseUserFile('[{"user_id":7,"password":"p"}]', 'json', 'plain'), 'bad_format', 'index 0');
    throwsImport(() => parseUserFile('[{"user_id":"a","password":12345}]', 'json', 'plain'), 'bad_format', 'index 0');
    throwsImport(() => parseUserFile('[{"user_id":"a","password_hash":"h","salt":5}]', 'json', 'hash'), 'bad_format', 'index 0');
  });

  test('invalid JSON → bad_format without echoing the content', () => {
    throwsImport(
      () => parseUserFile('[{"user_id":"a","password":"hunter2-secret" oops}]', 'json', 'plain'),
      'bad_format',
      'invalid JSON',
      'hunter2',
    );
    throwsImport(() => parseUserFile('', 'json', 'plain'), 'bad_format');
  });
});

describe('toImportRecords', () => {
  test('hashes plain rows with bounded concurrency, keeps order; hash rows pass through', async () => {
    const rows: RawUser[] = Array.from({ length: 20 }, (_, i) => ({
      user_id: `u${i}`,
      password: `pw${i}`,
      is_superuser: i === 3,
      line: i + 2,
    }));
    let active = 0;
    let peak = 0;
    const out = await toImportRecords(
      rows,
      async (pw) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        active--;
        return { password_hash: `H(${pw})`, salt: 'S' };
      },
      4,
    );
    assert.equal(out.length, 20);
    assert.deepEqual(out[3], { user_id: 'u3', password_hash: 'H(pw3)', salt: 'S', is_superuser: true });
    assert.ok(out.every((r, i) => r.user_id === `u${i}` && r.password_hash === `H(pw${i})`));
    assert.ok(peak <= 4 && peak >= 2, `peak concurrency ${peak}`);

    const hashed = await toImportRecords(
      [{ user_id: 'x', password_hash: 'h', salt: 's', is_superuser: false, line: 2 }],
      () => Promise.reject(new Error('must not be called')),
    );
    assert.deepEqual(hashed, [{ user_id: 'x', password_hash: 'h', salt: 's', is_superuser: false }]);
  });
});
