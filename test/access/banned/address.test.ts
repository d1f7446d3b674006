import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { formatAddress, formatNetwork, parseAddress, parseIPv4, parseIPv6, parseNetwork } from '../../../src/access/banned/address.js';
import { NetworkIndex } from '../../../src/access/banned/network-index.js';
import { prng as mulberry32 } from '../../helpers/prng.js';

describe('addresses as numbers', () => {
  test('IPv4: four decimal parts 0-255, no leading zeros (RFC 791 dotted decimal)', () => {
    assert.equal(parseIPv4('0.0.0.0'), 0);
    assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
    assert.equal(parseIPv4('10.1.2.3'), 0x0a010203);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4 ']) {
      assert.equal(parseIPv4(bad), -1, bad);
    }
  });

  test('IPv6 (RFC 4291 §2.2) written back as RFC 5952 §4 does, the same text node gives peers', () => {
    const cases: Array<[string, string]> = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8::1', '2001:db8::1'],
      ['::1', '::1'],
      ['::', '::'],
      ['1::', '1::'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ];
    for (const [input, canonical] of cases) assert.equal(formatAddress(parseAddress(input)!), canonical, input);
    for (const bad of [':1', '1:', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '%eth0']) {
      assert.equal(parseIPv6(bad, new Uint32Array(4)), false, bad);
    }
  });

  test('IPv4-mapped IPv6 is the IPv4 address (RFC 4291 §2.5.5.2), as listeners show such peers', () => {
    assert.deepEqual(parseAddress('::ffff:10.0.0.1'), parseAddress('10.0.0.1'));
    assert.equal(formatAddress(parseAddress('::FFFF:0a00:0001')!), '10.0.0.1');
    assert.equal(formatNetwork(parseNetwork('::ffff:10.0.0.0/104')!), '10.0.0.0/8');
    assert.equal(parseNetwork('::ffff:10.0.0.0/95'), undefined);
  });

  test('random IPv6 addresses: canonical text agrees with what node prints for them', () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const groups = Array.from({ length: 8 }, () => (rand() < 0.4 ? 0 : Math.floor(rand() * 65536)));
      const text = groups.map((g) => g.toString(16)).join(':');
      if (groups.slice(0, 6).every((g) => g === 0) || (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)) continue;
      const fromNode = new net.SocketAddress({ address: text, family: 'ipv6' }).address;
      assert.equal(formatAddress(parseAddress(text)!), fromNode, text);
    }
  });

  test('networks keep only the prefix bits, as esockd_cidr:parse(_, true)', () => {
    assert.equal(formatNetwork(parseNetwork('10.1.2.3/8')!), '10.0.0.0/8');
    assert.equal(formatNetwork(parseNetwork('192.168.1.77/32')!), '192.168.1.77/32');
    assert.equal(formatNetwork(parseNetwork('10.1.2.3')!), '10.1.2.3/32');
    assert.equal(formatNetwork(parseNetwork('0.0.0.0/0')!), '0.0.0.0/0');
    assert.equal(formatNetwork(parseNetwork('2001:db8:abcd:12::1/48')!), '2001:db8:abcd::/48');
    assert.equal(formatNetwork(parseNetwork('2001:db8::1/127')!), '2001:db8::/127');
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', '::/129', 'host/8', '10.0.0.0/08a']) {
      assert.equal(parseNetwork(bad), undefined, bad);
    }
  });
});

describe('NetworkIndex', () => {
  const always = () => true;
  test('finds the longest network holding an address, by family, and forgets deleted ones', () => {
    const index = new NetworkIndex<string>();
    for (const cidr of ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3/32', '2001:db8::/32', '2001:db8:1::/48']) index.set(parseNetwork(cidr)!, cidr);
    const v4 = (a: string) => index.findV4(parseIPv4(a), always);
    const v6 = (a: string) => {
      const words = new Uint32Array(4);
      assert.ok(parseIPv6(a, words));
      return index.findV6(words, always);
    };
    assert.equal(v4('10.1.2.3'), '10.1.2.3/32');
    assert.equal(v4('10.1.9.9'), '10.1.0.0/16');
    assert.equal(v4('10.200.0.1'), '10.0.0.0/8');
    assert.equal(v4('11.0.0.1'), undefined);
    assert.equal(v6('2001:db8:1::5'), '2001:db8:1::/48');
    assert.equal(v6('2001:db8:2::5'), '2001:db8::/32');
    assert.equal(v6('2001:db9::1'), undefined);
    assert.equal(index.size, 5);
    index.delete(parseNetwork('10.1.0.0/16')!);
    assert.equal(v4('10.1.9.9'), '10.0.0.0/8');
    index.delete(parseNetwork('10.0.0.0/8')!);
    assert.equal(v4('10.1.9.9'), undefined);
    assert.equal(index.size, 3);
  });

  test('an item accept() refuses (an expired entry) lets a shorter network answer', () => {
    const index = new NetworkIndex<string>();
    index.set(parseNetwork('10.0.0.0/8')!, 'wide');
    index.set(parseNetwork('10.1.0.0/16')!, 'expired');
    assert.equal(index.findV4(parseIPv4('10.1.0.1'), (i) => i !== 'expired'), 'wide');
  });

  test('an address whose first octet no network covers is answered at once; prefixes under 8 cover their range', () => {
    const index = new NetworkIndex<string>();
    const v4 = (a: string) => index.findV4(parseIPv4(a), always);
    index.set(parseNetwork('64.0.0.0/3')!, 'wide'); // 64.0.0.0 – 95.255.255.255
    index.set(parseNetwork('10.1.0.0/16')!, 'ten');
    assert.equal(v4('64.0.0.1'), 'wide');
    assert.equal(v4('95.255.255.255'), 'wide');
    assert.equal(v4('96.0.0.0'), undefined);
    assert.equal(v4('63.255.255.255'), undefined);
    assert.equal(v4('10.1.2.3'), 'ten');
    assert.equal(v4('10.2.0.1'), undefined, 'a covered first octet still needs the network to match');
    index.delete(parseNetwork('64.0.0.0/3')!);
    assert.equal(v4('70.0.0.1'), undefined);
    index.set(parseNetwork('0.0.0.0/0')!, 'all');
    assert.equal(v4('200.1.1.1'), 'all');
    index.clear();
    assert.equal(v4('200.1.1.1'), undefined);
    assert.equal(v4('10.1.2.3'), undefined);
  });

  test('agrees with node:net BlockList after random adds and deletes, prefixes 6 to 32', () => {
    const rand = mulberry32(29);
    const index = new NetworkIndex<string>();
    const list = new net.BlockList();
    const kept: Array<[string, number]> = [];
    for (let i = 0; i < 400; i++) {
      const prefix = 6 + Math.floor(rand() * 27);
      const addr = Math.floor(rand() * 2 ** 32) >>> 0;
      const text = formatAddress({ family: 4, words: Uint32Array.of(addr) });
      const network = parseNetwork(`${text}/${prefix}`)!;
      index.set(network, text);
      // Every third network is deleted again: only the others go into the BlockList.
      if (i % 3 === 0) index.delete(network);
      else kept.push([text, prefix]);
    }
    // Short prefixes cover much of the space: keep the comparison meaningful with a few only.
    for (const [text, prefix] of kept) list.addSubnet(text, prefix, 'ipv4');
    let hits = 0;
    for (let i = 0; i < 20000; i++) {
      const addr = Math.floor(rand() * 2 ** 32) >>> 0;
      const text = formatAddress({ family: 4, words: Uint32Array.of(addr) });
      const found = index.findV4(addr, always) !== undefined;
      assert.equal(found, list.check(text, 'ipv4'), text);
      if (found) hits++;
    }
    assert.ok(hits > 0 && hits < 20000, `both answers occur (${hits} hits)`);
  });

  test('agrees with node:net BlockList on 20 000 random addresses against 300 random networks', () => {
    const rand = mulberry32(11);
    const index = new NetworkIndex<string>();
    const list = new net.BlockList();
    for (let i = 0; i < 300; i++) {
      const prefix = 8 + Math.floor(rand() * 25);
      const addr = Math.floor(rand() * 2 ** 32) >>> 0;
      const text = formatAddress({ family: 4, words: Uint32Array.of(addr) });
      index.set(parseNetwork(`${text}/${prefix}`)!, text);
      list.addSubnet(text, prefix, 'ipv4');
    }
    for (let i = 0; i < 20000; i++) {
      const addr = Math.floor(rand() * 2 ** 32) >>> 0;
      const text = formatAddress({ family: 4, words: Uint32Array.of(addr) });
      assert.equal(index.findV4(addr, always) !== undefined, list.check(text, 'ipv4'), text);
    }
  });
});
