import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PatternIndex, requiredLiteral } from '../../../src/access/banned/pattern-index.js';
import { prng } from '../../helpers/prng.js';

describe('requiredLiteral: a literal every match contains', () => {
  test('literal runs, broken by classes, groups, escapes and quantifiers', () => {
    const cases: Array<[string, string]> = [
      ['^bad-[0-9]+$', 'bad-'],
      ['x*evil.+', 'evil'],
      ['abc?d', 'ab'],
      ['abc+d', 'abc'],
      ['ab{0,3}cdef', 'cdef'],
      ['ab{2}c', 'ab'],
      ['a{x}', 'a{x}'],
      ['device\\.12\\d', 'device.12'],
      ['\\x41bcd', 'bcd'],
      ['\\u0041bcd', 'bcd'],
      ['\\u{41}bc', 'bc'],
      ['\\cAxyz', 'xyz'],
      ['(abc)def', 'def'],
      ['(?:abcd)*ef', 'ef'],
      ['[abc]+defg', 'defg'],
      ['ab|cd', ''],
      ['(a|b)cdef', 'cdef'],
      ['abc+?de', 'abc'],
      ['ab*?cde', 'cde'],
      ['\\1abc', 'abc'],
      ['\\012abc', 'abc'],
      ['(?<n>x)\\k<n>abc', 'abc'],
      ['[]]abc', 'abc'],
    ];
    for (const [source, literal] of cases) assert.equal(requiredLiteral(source), literal, source);
  });

  test('on random subjects, a match always contains the literal (soundness)', () => {
    const rand = prng(3);
    const alphabet = 'ab.-x';
    const pieces = ['a', 'b', 'x', '-', '\\.', '.', 'a?', 'b*', 'x+', '[ab]', '(ab)?', '(?:x|a)', 'a{0,2}', 'b{1,2}', '\\d', '^', '$'];
    for (let n = 0; n < 3000; n++) {
      const source = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pieces[Math.floor(rand() * pieces.length)]).join('');
      let re: RegExp;
      try {
        re = new RegExp(source);
      } catch {
        continue;
      }
      const literal = requiredLiteral(source);
      for (let k = 0; k < 20; k++) {
        const subject = Array.from({ length: Math.floor(rand() * 8) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
        if (re.test(subject)) assert.ok(subject.includes(literal), `${source} matched ${JSON.stringify(subject)} without ${JSON.stringify(literal)}`);
      }
    }
  });
});

describe('PatternIndex', () => {
  const item = (source: string) => ({ pattern: new RegExp(source), source });
  const any = () => true;

  test('finds indexed and unindexed expressions; deleted ones no longer match', () => {
    const index = new PatternIndex<ReturnType<typeof item>>();
    const prefixed = item('^bad-[0-9]+$');
    const inside = item('evil');
    const short = item('^z');
    index.add(prefixed);
    index.add(inside);
    index.add(short);
    assert.equal(index.size, 3);
    assert.equal(index.find('bad-42', any), prefixed);
    assert.equal(index.find('bad-4x', any), undefined);
    assert.equal(index.find('my-evil-device', any), inside);
    assert.equal(index.find('zed', any), short);
    assert.equal(index.find('ok', any), undefined);
    assert.equal(index.find('', any), undefined);
    index.delete(inside);
    assert.equal(index.find('my-evil-device', any), undefined);
    index.delete(short);
    assert.equal(index.find('zed', any), undefined);
    assert.equal(index.size, 1);
  });

  test('an item accept() refuses is skipped for the next candidate', () => {
    const index = new PatternIndex<ReturnType<typeof item>>();
    const first = item('^dev');
    const second = item('device');
    index.add(first);
    index.add(second);
    assert.equal(index.find('device-1', (i) => i !== first), second);
  });

  test('non-ASCII text is indexed too', () => {
    const index = new PatternIndex<ReturnType<typeof item>>();
    const cyrillic = item('^устройство-\\d+');
    index.add(cyrillic);
    assert.equal(index.find('устройство-7', any), cyrillic);
    assert.equal(index.find('устройство-x', any), undefined);
  });

  test('same answers as running every expression, on 2 000 expressions and random ids', () => {
    const rand = prng(5);
    const index = new PatternIndex<ReturnType<typeof item>>();
    const all: Array<ReturnType<typeof item>> = [];
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(rand() * 3000);
      const source = [`^dev-${n}-`, `sensor${n}x+`, `[0-9]{2}-${n}$`, `^(a|b)${n}`, `${n}`][i % 5]!;
      const it = item(source);
      all.push(it);
      index.add(it);
    }
    for (let k = 0; k < 5000; k++) {
      const n = Math.floor(rand() * 3000);
      const subject = [`dev-${n}-a`, `my-sensor${n}xx`, `77-${n}`, `a${n}`, `plain-${n}`][k % 5]!;
      const expected = all.some((i) => i.pattern.test(subject));
      assert.equal(index.find(subject, any) !== undefined, expected, subject);
    }
  });
});
