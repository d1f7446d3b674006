import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileAclFile, AclFileError } from '../../src/authz/sources/file/acl-conf.js';
import { parseTerms } from '../../src/authz/sources/file/terms.js';
import { firstMatch, RuleList } from '../../src/authz/rule.js';
import type { AuthzClient, AuthzRequest } from '../../src/authz/types.js';
import { authzClient as client, pub, sub } from './requests.js';
import { prng } from '../helpers/prng.js';

const DEFAULT_ACL = new URL('../fixtures/authz/acl.conf', import.meta.url);

/** The permission of the first matching rule, or 'nomatch'. */
function decide(text: string, c: AuthzClient, r: AuthzRequest): string {
  return firstMatch(compileAclFile(text).rules, c, r)?.permission ?? 'nomatch';
}

function errorAt(text: string): { line: number; column: number; reason: string } {
  try {
    compileAclFile(text);
  } catch (err) {
    assert.ok(err instanceof AclFileError, String(err));
    return { line: err.at.line, column: err.at.column, reason: err.reason };
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

describe('Erlang terms of acl.conf', () => {
  test('tuples, lists, atoms, quoted atoms, strings, binaries, integers, comments', () => {
    const [t] = parseTerms(`% comment\n{a, 'and', "s\\"q", <<"bin">>, [1, -2], {}, []}. % trailing`);
    assert.ok(t && t.kind === 'tuple');
    assert.deepEqual(
      t.items.map((i) => (i.kind === 'tuple' || i.kind === 'list' ? `${i.kind}:${i.items.length}` : `${i.kind}:${String(i.value)}`)),
      ['atom:a', 'atom:and', 'string:s"q', 'string:bin', 'list:2', 'tuple:0', 'list:0'],
    );
  });

  test("string escapes and adjacent strings follow Erlang's rules", () => {
    const [t] = parseTerms(String.raw`{"a\nb\tc\\d\101\x41\x{263A}\^A\q" "-tail"}.`);
    assert.ok(t && t.kind === 'tuple' && t.items[0]!.kind === 'string');
    assert.equal(t.items[0].value, 'a\nb\tc\\dAA\u263a\x01q-tail');
  });

  test('syntax errors name the line and column', () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['{allow, all}', 1, 13, /expected '\.'/],
      ['{allow, all}.\n{deny, all,\n', 3, 1, /expected a term/],
      ['{allow all}.', 1, 8, /expected ',' or '}'/],
      ['\n  {allow, "open}.', 2, 11, /string not closed/],
      ['{allow, Who}.', 1, 9, /Erlang variable/],
      ['{allow, 1.5}.', 1, 9, /floats/],
      ['{allow, all}.x', 1, 14, /after the '\.'/],
      ['{allow, #{}}.', 1, 9, /maps/],
      ['[a | b].', 1, 4, /improper lists/],
      ['{allow, <<1>>}.', 1, 11, /inside <<\.\.\.>>/],
      ['{allow, ~}.', 1, 9, /unexpected character/],
    ];
    for (const [text, line, column, reason] of cases) {
      try {
        parseTerms(text);
        assert.fail(`no error for ${JSON.stringify(text)}`);
      } catch (err) {
        assert.ok(err instanceof AclFileError, String(err));
        assert.deepEqual([err.at.line, err.at.column], [line, column], `${JSON.stringify(text)}: ${err.message}`);
        assert.match(err.reason, reason);
      }
    }
  });
});

describe('acl.conf rules (§8.6)', () => {
  test("EMQX's default acl.conf parses and behaves as §8.6 says", () => {
    const text = readFileSync(DEFAULT_ACL, 'utf8');
    const { rules, warnings } = compileAclFile(text);
    assert.equal(rules.length, 4);
    assert.deepEqual(warnings, []);
    const dashboard = client({ username: 'dashboard' });
    const local = client({ peerhost: '127.0.0.1' });
    const other = client();
    // 1. the dashboard user may subscribe to $SYS/#
    assert.equal(decide(text, dashboard, sub('$SYS/#')), 'allow');
    assert.equal(decide(text, dashboard, sub('$SYS/brokers')), 'allow');
    assert.equal(decide(text, client({ username: 'dashboard2' }), sub('$SYS/#')), 'deny', 'the regex is anchored ^dashboard$');
    // 2. 127.0.0.1 may do everything, $SYS included
    assert.equal(decide(text, local, sub('#')), 'allow');
    assert.equal(decide(text, local, sub('$SYS/#')), 'allow');
    assert.equal(decide(text, local, pub('$SYS/x')), 'allow');
    assert.equal(decide(text, client({ peerhost: '::ffff:127.0.0.1' }), sub('#')), 'allow', 'IPv4-mapped IPv6 is the IPv4 address');
    // 3. nobody else subscribes to $SYS/#, exactly # or exactly +/#
    assert.equal(decide(text, other, sub('$SYS/#')), 'deny');
    assert.equal(decide(text, other, sub('$SYS/brokers/+/uptime')), 'deny');
    assert.equal(decide(text, other, sub('#')), 'deny');
    assert.equal(decide(text, other, sub('+/#')), 'deny');
    assert.equal(decide(text, dashboard, sub('#')), 'deny');
    // 4. everything else is allowed
    assert.equal(decide(text, other, sub('a/#')), 'allow');
    assert.equal(decide(text, other, sub('+/+')), 'allow');
    assert.equal(decide(text, other, pub('a/b', 2, true)), 'allow');
    assert.equal(decide(text, other, pub('$SYS/x')), 'allow', '{allow, all} covers $-topics');
    assert.equal(decide(text, client({ username: undefined }), sub('#')), 'deny');
  });

  test('every who form', () => {
    const rules = `
      {allow, {user, "u1"}, publish, ["who/user"]}.
      {allow, {username, {re, "^dev-[0-9]+$"}}, publish, ["who/username-re"]}.
      {allow, {client, "c9"}, publish, ["who/client"]}.
      {allow, {clientid, {re, "^sensor"}}, publish, ["who/clientid-re"]}.
      {allow, {client_attr, "site", "north"}, publish, ["who/attr"]}.
      {allow, {client_attr, "site", {re, "^so"}}, publish, ["who/attr-re"]}.
      {allow, {ipaddr, "10.1.0.0/16"}, publish, ["who/ipaddr"]}.
      {allow, {ipaddrs, ["192.168.1.1", "fd00::/8"]}, publish, ["who/ipaddrs"]}.
      {allow, {'and', [{username, "u1"}, {clientid, "c1"}]}, publish, ["who/and"]}.
      {allow, {'or', [{username, "nobody"}, {'and', [{clientid, "c1"}, {ipaddr, "10.0.0.0/8"}]}]}, publish, ["who/or"]}.
      {deny, all, all, all}.
    `;
    const yes = (c: AuthzClient, t: string) => assert.equal(decide(rules, c, pub(t)), 'allow', t);
    const no = (c: AuthzClient, t: string) => assert.equal(decide(rules, c, pub(t)), 'deny', t);
    yes(client(), 'who/user');
    no(client({ username: 'u2' }), 'who/user');
    no(client({ username: undefined }), 'who/user');
    yes(client({ username: 'dev-42' }), 'who/username-re');
    no(client({ username: 'dev-x' }), 'who/username-re');
    no(client({ username: undefined }), 'who/username-re');
    yes(client({ clientid: 'c9' }), 'who/client');
    yes(client({ clientid: 'sensor-7' }), 'who/clientid-re');
    no(client({ clientid: 'my-sensor' }), 'who/clientid-re');
    yes(client({ client_attrs: { site: 'north' } }), 'who/attr');
    no(client({ client_attrs: {} }), 'who/attr');
    yes(client({ client_attrs: { site: 'south' } }), 'who/attr-re');
    yes(client({ peerhost: '10.1.200.3' }), 'who/ipaddr');
    no(client({ peerhost: '10.2.0.1' }), 'who/ipaddr');
    yes(client({ peerhost: '192.168.1.1' }), 'who/ipaddrs');
    yes(client({ peerhost: 'fd12::1' }), 'who/ipaddrs');
    no(client({ peerhost: '192.168.1.2' }), 'who/ipaddrs');
    yes(client(), 'who/and');
    no(client({ clientid: 'c2' }), 'who/and');
    yes(client(), 'who/or');
    no(client({ peerhost: '127.0.0.1' }), 'who/or');
  });

  test('actions with qos and retain options, topics with eq and placeholders', () => {
    const rules = `
      {allow, all, {publish, [{qos, 1}]}, ["q/one"]}.
      {allow, all, {publish, [{qos, [0, 2]}, {retain, false}]}, ["q/zero-two"]}.
      {allow, all, {publish, [{qos, 0}, {qos, 1}]}, ["q/repeated"]}.
      {allow, all, {publish, [{retain, true}]}, ["r/only"]}.
      {allow, all, {subscribe, [{qos, [0, 1]}]}, ["s/#"]}.
      {allow, all, {all, [{retain, all}]}, ["both/#"]}.
      {allow, all, subscribe, [{eq, "exact/#"}, "eq also/+"]}.
      {allow, all, all, ["\${username}/#", "devices/\${clientid}/+"]}.
      {deny, all}.
    `;
    const c = client();
    assert.equal(decide(rules, c, pub('q/one', 1)), 'allow');
    assert.equal(decide(rules, c, pub('q/one', 0)), 'deny');
    assert.equal(decide(rules, c, pub('q/zero-two', 2)), 'allow');
    assert.equal(decide(rules, c, pub('q/zero-two', 2, true)), 'deny');
    assert.equal(decide(rules, c, pub('q/zero-two', 1)), 'deny');
    assert.equal(decide(rules, c, pub('q/repeated', 1)), 'allow');
    assert.equal(decide(rules, c, pub('q/repeated', 2)), 'deny');
    assert.equal(decide(rules, c, pub('r/only', 0, true)), 'allow');
    assert.equal(decide(rules, c, pub('r/only', 0, false)), 'deny');
    assert.equal(decide(rules, c, sub('s/x', 1)), 'allow');
    assert.equal(decide(rules, c, sub('s/x', 2)), 'deny');
    assert.equal(decide(rules, c, pub('s/x')), 'deny', 'a subscribe rule does not cover publish');
    assert.equal(decide(rules, c, pub('both/x', 2, true)), 'allow');
    assert.equal(decide(rules, c, sub('both/x', 2)), 'allow');
    assert.equal(decide(rules, c, sub('exact/#')), 'allow');
    assert.equal(decide(rules, c, sub('exact/a')), 'deny');
    assert.equal(decide(rules, c, sub('also/+')), 'allow');
    assert.equal(decide(rules, c, sub('also/x')), 'deny');
    assert.equal(decide(rules, c, pub('u1/anything')), 'allow');
    assert.equal(decide(rules, c, pub('u2/anything')), 'deny');
    assert.equal(decide(rules, c, pub('devices/c1/up')), 'allow');
    assert.equal(decide(rules, client({ username: undefined }), pub('undefined/x')), 'deny');
  });

  test("a RuleList (each client's rules worked out once) answers exactly as the rules in order", () => {
    const text = `
      {allow, {username, "u1"}, publish, ["a/#"]}.
      {deny, all, publish, ["a/secret"]}.
      {allow, all, subscribe, ["s/#"]}.
      {deny, {clientid, {re, "^c"}}, all, ["a/#", "s/x"]}.
      {allow, {ipaddr, "10.0.0.0/8"}, all, ["\${clientid}/#"]}.
      {allow, {'or', [{username, "u2"}, {client_attr, "role", "admin"}]}, all, all}.
      {deny, all}.
    `;
    const { rules } = compileAclFile(text);
    const list = new RuleList(rules);
    const clients = [
      client(),
      client({ username: 'u2', clientid: 'x1' }),
      client({ username: undefined, clientid: 'c7', peerhost: '10.9.9.9' }),
      client({ clientid: 'd1', peerhost: '192.168.0.1', client_attrs: { role: 'admin' } }),
    ];
    const requests = [pub('a/b'), pub('a/secret'), sub('s/x'), sub('s/y', 2), pub('c1/t'), pub('c7/t', 1, true), sub('#'), pub('$SYS/x')];
    let compared = 0;
    for (const c of clients) {
      for (let round = 0; round < 2; round++) {
        for (const r of requests) {
          assert.equal(list.firstMatch(c, r), firstMatch(rules, c, r), `${c.clientid} ${r.action} ${r.topic}`);
          compared++;
        }
      }
    }
    assert.equal(compared, 64);
  });

  test('a long run for everyone, indexed by first level, answers exactly as the rules in order (random rule sets)', () => {
    const random = prng(16_011);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const firsts = ['a', 'b', 'c', '', '$SYS', 'x'];
    const levels = ['a', 'b', '+', 'c', 'x', ''];
    const ruleTopic = (): string => {
      const roll = random();
      if (roll < 0.1) return '#';
      if (roll < 0.2) return '+/a';
      if (roll < 0.3) return '${clientid}/#';
      if (roll < 0.4) return `eq ${pick(firsts)}/${pick(levels)}`.replace(/^eq \/$/, 'eq /x');
      if (roll < 0.45) return 'all';
      return [pick(firsts), ...Array.from({ length: Math.floor(random() * 3) }, () => pick(levels)), ...(random() < 0.3 ? ['#'] : [])].join('/') || 'a';
    };
    const term = (t: string) => (t === 'all' ? 'all' : t.startsWith('eq ') ? `[{eq, "${t.slice(3)}"}]` : `["${t}"]`);
    for (let set = 0; set < 20; set++) {
      const lines: string[] = [];
      const count = 16 + Math.floor(random() * 60);
      for (let i = 0; i < count; i++) {
        const topics = Array.from({ length: 1 + Math.floor(random() * 2) }, ruleTopic);
        const written = topics.includes('all') ? 'all' : `[${topics.map((t) => term(t).slice(1, -1)).join(', ')}]`;
        lines.push(`{${pick(['allow', 'deny'])}, all, ${pick(['publish', 'subscribe', 'all'])}, ${written}}.`);
      }
      const { rules } = compileAclFile(lines.join('\n'));
      const list = new RuleList(rules);
      const c = client({ clientid: 'a' });
      for (let r = 0; r < 300; r++) {
        const topic = [pick(firsts), ...Array.from({ length: Math.floor(random() * 3) }, () => pick(levels))].join('/') || 'a';
        for (const request of [pub(topic.replace(/[+#]/g, 'p')), sub(topic)]) {
          assert.equal(list.firstMatch(c, request), firstMatch(rules, c, request), `set ${set}: ${request.action} ${request.topic}\n${lines.join('\n')}`);
        }
      }
    }
  });

  test('rules keep where they came from, for the denial log and explain', () => {
    const { rules } = compileAclFile('%% x\n\n{deny,   all,\n subscribe, ["#"]}.\n', 'etc/acl.conf');
    assert.equal(rules[0]!.rule, 'etc/acl.conf:3 {deny, all, subscribe, ["#"]}');
  });

  test('an empty file (or only comments) has no rules', () => {
    assert.equal(compileAclFile('').rules.length, 0);
    assert.equal(compileAclFile('%% nothing\n').rules.length, 0);
  });

  test('mistakes in rules name the line and column of the term at fault', () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['{allow, all, publish}.', 1, 1, /\{Permission, Who, Action, Topics\}/],
      ['{permit, all}.', 1, 2, /allow or deny/],
      ['{allow, everyone}.', 1, 9, /takes only all/],
      ['{allow, all, publish, "t/#"}.', 1, 23, /put it in \[\.\.\.\]/],
      ['{allow, all, publish, [1]}.', 1, 24, /topic "filter" or \{eq/],
      ['{allow, all, publish, ["a/#/b"]}.', 1, 24, /last level/],
      ['{allow, all, publish, ["a+"]}.', 1, 24, /whole level/],
      ['{allow, all, pub, ["t"]}.', 1, 14, /action publish, subscribe, all/],
      ['{allow, all, {publish, [{qos, 3}]}, ["t"]}.', 1, 31, /QoS level/],
      ['{allow, all, {publish, [{qos, []}]}, ["t"]}.', 1, 31, /at least one/],
      ['{allow, all, {publish, [{retain, maybe}]}, ["t"]}.', 1, 34, /retain true, false or all/],
      ['{allow, all, {subscribe, [{retain, true}]}, ["t"]}.', 1, 27, /publish only/],
      ['{allow, all, {publish, {qos, 1}}, ["t"]}.', 1, 24, /list of options/],
      ['{allow, {username, {re, "("}}, publish, ["t"]}.', 1, 25, /bad regular expression/],
      ['{allow, {ipaddr, "10.0.0.0/33"}, publish, ["t"]}.', 1, 18, /not an IPv4 or IPv6/],
      ['{allow, {ipaddr, "localhost"}, publish, ["t"]}.', 1, 18, /not an IPv4 or IPv6/],
      ['{allow, {ipaddrs, "10.0.0.1"}, publish, ["t"]}.', 1, 19, /list of addresses/],
      ['{allow, {group, "x"}, publish, ["t"]}.', 1, 10, /unknown who condition group/],
      ['{allow, {username, u1}, publish, ["t"]}.', 1, 20, /"string"/],
      ["{allow, {'and', []}, publish, [\"t\"]}.", 1, 17, /non-empty list/],
      ['{allow, {username, "a", "b"}, publish, ["t"]}.', 1, 9, /takes 1 element/],
      ['{allow, all}.\n\n  {deny, {clientid, 7}, all, all}.', 3, 21, /"string"/],
    ];
    for (const [text, line, column, reason] of cases) {
      const e = errorAt(text);
      assert.deepEqual([e.line, e.column], [line, column], `${text}: ${e.reason}`);
      assert.match(e.reason, reason, text);
    }
  });

  test('placeholders that rule topics do not have are kept literally, with a warning', () => {
    const { rules, warnings } = compileAclFile('{allow, all, all, ["${password}/x"]}.', 'acl.conf');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /acl\.conf:1:20: \$\{password\} is not a placeholder of rule topics/);
    assert.equal(firstMatch(rules, client(), pub('${password}/x'))?.permission, 'allow');
  });
});
