import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BuiltInStore, PskImportError, StoreInputError } from '../../src/store/index.js';

let root: string;
let counter = 0;
const open = (): BuiltInStore => BuiltInStore.open(join(root, `psk-${++counter}`));

before(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-store-psk-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('PSK table', () => {
  test('import: first separator splits, CRLF/LF stripped, literal bytes, later duplicates win', () => {
    const store = open();
    try {
      const file =
        'myclient1:8c701116e9127c57a99d5563709af3deaca75563e2c4dd0865701ae839fb6d79\n' +
        'myclient2:d1e617d3b963757bfc21dad3fea169716c3a2f053f23decaea5cdfaabd04bfc4\r\n' +
        'withcolon:a:b:c\n' +
        'dup:first\n' +
        'empty:\n' +
        'dup:second\r\n' +
        'last:no-newline';
      assert.deepEqual(store.psk.importPskFile(file, ':', 2), { imported: 7 });
      assert.deepEqual(
        store.psk.get('myclient1'),
        Buffer.from('8c701116e9127c57a99d5563709af3deaca75563e2c4dd0865701ae839fb6d79', 'utf8'),
      );
      assert.equal(store.psk.get('myclient1')!.length, 64); // not hex-decoded
      assert.equal(store.psk.get('myclient2')!.toString(), 'd1e617d3b963757bfc21dad3fea169716c3a2f053f23decaea5cdfaabd04bfc4');
      assert.equal(store.psk.get('withcolon')!.toString(), 'a:b:c');
      assert.equal(store.psk.get('dup')!.toString(), 'second');
      assert.equal(store.psk.get('empty')!.length, 0);
      assert.equal(store.psk.get('last')!.toString(), 'no-newline');
      assert.equal(store.psk.get('nobody'), undefined);
      assert.equal(store.psk.count(), 6);
    } finally {
      store.close();
    }
  });

  test('custom multi-byte separator and non-UTF-8 secret bytes from a Buffer', () => {
    const store = open();
    try {
      const secret = Buffer.from([0x00, 0xff, 0x3a, 0x80, 0x7f]);
      const file = Buffer.concat([Buffer.from('dev-1::'), secret, Buffer.from('\nplain::abc::def\n')]);
      assert.equal(store.psk.importPskFile(file, '::').imported, 2);
      assert.deepEqual(store.psk.get('dev-1'), secret);
      assert.equal(store.psk.get('plain')!.toString(), 'abc::def');
    } finally {
      store.close();
    }
  });

  test('a line without the separator aborts with bad_format naming the line; earlier chunks stay', () => {
    const store = open();
    try {
      const file = 'id1:s1\nid2:s2\nid3:s3\nid4:s4\nno-separator-topsecret\nid6:s6\n';
      assert.throws(
        () => store.psk.importPskFile(file, ':', 3),
        (e: unknown) => {
          assert.ok(e instanceof PskImportError);
          assert.equal(e.code, 'bad_format');
          assert.equal(e.line, 5);
          assert.equal(e.imported, 3);
          assert.match(e.message, /line 5/);
          assert.ok(!e.message.includes('topsecret'));
          return true;
        },
      );
      assert.equal(store.psk.get('id1')!.toString(), 's1');
      assert.equal(store.psk.get('id3')!.toString(), 's3');
      assert.equal(store.psk.get('id4'), undefined); // in the aborted chunk
      assert.equal(store.psk.get('id6'), undefined);
      assert.equal(store.psk.count(), 3);
      // An empty line has no separator either.
      assert.throws(() => store.psk.importPskFile('a:b\n\nc:d\n'), (e: unknown) => e instanceof PskImportError && e.line === 2);
    } finally {
      store.close();
    }
  });

  test('upsertMany in chunks, overwrite, delete, persistence across reopen', () => {
    const dir = join(root, 'psk-persist');
    const a = BuiltInStore.open(dir);
    const entries = Array.from({ length: 120 }, (_, i) => ({ identity: `c${i}`, secret: Buffer.from(`k${i}`) }));
    assert.equal(a.psk.upsertMany(entries, 50), 120);
    assert.equal(a.psk.upsertMany([{ identity: 'c7', secret: Buffer.from('new') }]), 1);
    assert.equal(a.psk.delete('c8'), 'ok');
    assert.equal(a.psk.delete('c8'), 'not_found');
    a.close();
    const b = BuiltInStore.open(dir);
    try {
      assert.equal(b.psk.count(), 119);
      assert.equal(b.psk.get('c7')!.toString(), 'new');
      assert.equal(b.psk.get('c119')!.toString(), 'k119');
      assert.equal(b.psk.get('c8'), undefined);
    } finally {
      b.close();
    }
  });

  test('bad arguments are refused', () => {
    const store = open();
    try {
      assert.throws(() => store.psk.importPskFile('a:b', '', 10), StoreInputError);
      assert.throws(() => store.psk.importPskFile('a:b', ':', 0), StoreInputError);
      assert.throws(() => store.psk.upsertMany([{ identity: 'x', secret: 'str' as unknown as Buffer }]), StoreInputError);
      assert.equal(store.psk.count(), 0);
      assert.deepEqual(store.psk.importPskFile('', ':', 10), { imported: 0 });
    } finally {
      store.close();
    }
  });
});
