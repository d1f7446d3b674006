import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { TopicRule, TopicRuleError } from '../../src/authz/topic.js';
import type { AuthzClient } from '../../src/authz/types.js';

const alice: AuthzClient = {
  clientid: 'dev-1',
  username: 'alice',
  peerhost: '10.0.0.7',
  listener: 'tcp:default',
  protocol: 'mqtt',
  mountpoint: '',
  isSuperuser: false,
  cert_common_name: 'device-001',
  cert_subject: 'CN=device-001,O=Gatehouse Dev',
  client_attrs: { site: 'north' },
};

function m(rule: string, topic: string, client: AuthzClient = alice): boolean {
  return TopicRule.compile(rule).matches(topic, client);
}

describe('rule topics: MQTT wildcards word by word (§8.5)', () => {
  test('literal, + and # against publish topics', () => {
    assert.equal(m('a/b', 'a/b'), true);
    assert.equal(m('a/b', 'a/b/c'), false);
    assert.equal(m('a/b', 'a'), false);
    assert.equal(m('a/+', 'a/b'), true);
    assert.equal(m('a/+', 'a/b/c'), false);
    assert.equal(m('a/+', 'a'), false);
    assert.equal(m('+/+', 'a/b'), true);
    assert.equal(m('a/#', 'a'), true, 'a trailing # matches zero levels');
    assert.equal(m('a/#', 'a/b/c'), true);
    assert.equal(m('a/#', 'ab'), false);
    assert.equal(m('#', 'anything/at/all'), true);
    assert.equal(m('a/+/c', 'a/x/c'), true);
    assert.equal(m('a/+/c', 'a/x/d'), false);
  });

  test('empty levels are significant', () => {
    assert.equal(m('a//b', 'a//b'), true);
    assert.equal(m('a/+/b', 'a//b'), true);
    assert.equal(m('a/b', 'a//b'), false);
    assert.equal(m('a/', 'a/'), true);
    assert.equal(m('a', 'a/'), false);
    assert.equal(m('/a', '/a'), true);
    assert.equal(m('+/a', '/a'), true);
  });

  test('a requested filter is compared word by word: wildcards only under wildcards', () => {
    assert.equal(m('a/#', 'a/+/b'), true, 'rule a/# allows subscribing a/+/b');
    assert.equal(m('a/#', 'a/#'), true);
    assert.equal(m('a/+', 'a/#'), true, 'rule a/+ matches a request for a/# (EMQX, §14.16)');
    assert.equal(m('a/+', 'a/+'), true);
    assert.equal(m('a/b', 'a/+'), false, 'a requested + does not match a literal rule word');
    assert.equal(m('a/b', 'a/#'), false);
    assert.equal(m('a/+/b', 'a/#'), false);
    assert.equal(m('+', '#'), true);
  });

  test('$-topics are not covered by a leading + or #', () => {
    assert.equal(m('#', '$SYS/broker/uptime'), false);
    assert.equal(m('+/broker/uptime', '$SYS/broker/uptime'), false);
    assert.equal(m('$SYS/#', '$SYS/broker/uptime'), true);
    assert.equal(m('$SYS/+/uptime', '$SYS/broker/uptime'), true);
    assert.equal(m('a/#', 'a/$x'), true, 'only the first level counts');
  });

  test('eq is exact equality, wildcards included; all matches everything', () => {
    assert.equal(m('eq #', '#'), true);
    assert.equal(m('eq #', 'a'), false);
    assert.equal(m('eq +/#', '+/#'), true);
    assert.equal(m('eq +/#', 'a/#'), false);
    assert.equal(m('eq ${username}/x', '${username}/x'), true, 'eq topics are not templates');
    assert.equal(m('eq ${username}/x', 'alice/x'), false);
    assert.equal(TopicRule.eq('t/#').matches('t/#', alice), true);
    assert.equal(TopicRule.all().matches('$SYS/x', alice), true);
    assert.equal(TopicRule.all().matches('#', alice), true);
  });

  test('bad rule topics are refused with the reason', () => {
    for (const bad of ['', 'a/#/b', 'a+/b', 'a/b#', '${username}+', 'x\0y', 'eq ']) {
      assert.throws(() => TopicRule.compile(bad), TopicRuleError, JSON.stringify(bad));
    }
  });
});

describe('rule topics: placeholders (§8.5, gatehouse-choices 3 and 4)', () => {
  test('each placeholder fills its level from the client', () => {
    assert.equal(m('${username}/#', 'alice/x'), true);
    assert.equal(m('${username}/#', 'bob/x'), false);
    assert.equal(m('devices/${clientid}/up', 'devices/dev-1/up'), true);
    assert.equal(m('devices/${clientid}/up', 'devices/dev-2/up'), false);
    assert.equal(m('ip/${peerhost}', 'ip/10.0.0.7'), true);
    assert.equal(m('cn/${cert_common_name}', 'cn/device-001'), true);
    assert.equal(m('dn/${cert_subject}', 'dn/CN=device-001,O=Gatehouse Dev'), true);
    assert.equal(m('site/${client_attrs.site}/#', 'site/north/t'), true);
    assert.equal(m('site/${client_attrs.site}/#', 'site/south/t'), false);
    assert.equal(m('zone/${zone}', 'zone/default'), true);
    assert.equal(m('pre-${username}-post/x', 'pre-alice-post/x'), true);
    assert.equal(m('pre-${username}-post/x', 'pre-alice-pos/x'), false);
    assert.equal(m('${username}${clientid}', 'alicedev-1'), true);
    assert.equal(m('${username}/+', 'alice/+'), true, 'a requested + still needs a rule +');
    assert.equal(m('${username}', 'alice/x'), false);
  });

  test('an absent or empty value never matches (choice 3), never "undefined"', () => {
    const { username: _u, cert_common_name: _c, ...rest } = alice;
    const anonymous: AuthzClient = rest;
    assert.equal(m('${username}/#', 'undefined/x', anonymous), false);
    assert.equal(m('${username}/#', '/x', anonymous), false);
    assert.equal(m('cn/${cert_common_name}', 'cn/undefined', anonymous), false);
    assert.equal(m('site/${client_attrs.missing}', 'site/', alice), false);
    assert.equal(m('site/${client_attrs.missing}', 'site/undefined', alice), false);
    assert.equal(m('${username}/#', '/x', { ...alice, username: '' }), false);
  });

  test('wildcard injection: +, #, / or NUL in a value never widens a rule (choice 4)', () => {
    const as = (username: string): AuthzClient => ({ ...alice, username });
    assert.equal(m('${username}/#', 'x/y', as('+')), false);
    assert.equal(m('${username}/#', '+/y', as('+')), false, 'not even the literal text');
    assert.equal(m('${username}/#', 'anything', as('#')), false);
    assert.equal(m('${username}/#', '#', as('#')), false);
    assert.equal(m('${username}/#', 'a/b/c', as('a/b')), false);
    assert.equal(m('users/${username}', 'users/a/b', as('a/b')), false);
    assert.equal(m('${username}/#', 'a\0b/x', as('a\0b')), false);
    assert.equal(m('users/${username}/x', 'users/a+b/x', as('a+b')), false);
    // ${ in a value is plain text: it is never rendered again.
    assert.equal(m('u/${username}/x', 'u/${clientid}/x', as('${clientid}')), true);
    assert.equal(m('u/${username}/x', 'u/dev-1/x', as('${clientid}')), false);
    // A value at the start of the filter cannot reach $-topics.
    assert.equal(m('${username}/#', '$SYS/brokers', as('$SYS')), false);
    assert.equal(m('u/${username}', 'u/$x', as('$x')), true, 'inside the filter a $ is plain text');
    // A very long value only matches itself.
    const long = 'x'.repeat(100_000);
    assert.equal(m('${username}/t', `${long}/t`, as(long)), true);
    assert.equal(m('${username}/t', `${long}y/t`, as(long)), false);
    assert.equal(m('${username}/t', `${long.slice(1)}/t`, as(long)), false);
  });

  test('injection through client ids, certificate names and attributes is refused the same way', () => {
    assert.equal(m('${clientid}/#', 'x', { ...alice, clientid: '#' }), false);
    assert.equal(m('${cert_common_name}/#', 'a/b/x', { ...alice, cert_common_name: 'a/b' }), false);
    assert.equal(m('s/${client_attrs.site}', 's/+', { ...alice, client_attrs: { site: '+' } }), false);
  });

  test('placeholders not allowed in rule topics stay literal text (§5.1)', () => {
    const rule = TopicRule.compile('${password}/x');
    assert.deepEqual(rule.rejectedPlaceholders, ['password']);
    assert.equal(rule.matches('${password}/x', alice), true);
    assert.equal(rule.isLiteral, true);
    assert.equal(TopicRule.compile('${username}/x').isLiteral, false);
  });
});
