import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader } from '../../listeners/proxy-protocol.js';
import { encodeFrame } from '../../gateways/stomp/frame.js';
import { proxyHeader } from '../../bench/wire/transport.js';
import { StompFramer, headerOf, SendTemplate, type StompServerFrame } from '../../bench/wire/stomp.js';
import { scenarioResult, sideResult } from '../../bench/harness/report.js';
import type { Sample, Scenario, Workload } from '../../bench/harness/scenario.js';

test('proxy headers the load generator sends parse as the listener reads them (v1 and v2)', () => {
  for (const version of [1, 2] as const) {
    const r = parseProxyHeader(proxyHeader(version, { host: '127.0.0.1', port: 4321 }));
    assert.equal(r.complete, true);
    if (!r.complete) return;
    assert.equal(r.header.version, version);
    assert.equal(r.header.command, 'proxy');
    assert.match(r.header.source!.host, /^203\.0\.113\.\d+$/);
    assert.deepEqual(r.header.destination, { host: '127.0.0.1', port: 4321 });
  }
});

test('StompFramer splits frames by content-length across chunk boundaries, skipping heart-beats', () => {
  const message = encodeFrame({ command: 'MESSAGE', headers: [['destination', 'a/b'], ['subscription', '0']], body: Buffer.from('x\0y') }, '1.2');
  const receipt = encodeFrame({ command: 'RECEIPT', headers: [['receipt-id', 'sub-1']], body: Buffer.alloc(0) }, '1.2');
  const stream = Buffer.concat([Buffer.from('\n'), message, Buffer.from('\r\n'), receipt, message]);
  const frames: StompServerFrame[] = [];
  const framer = new StompFramer((f) => frames.push(f));
  for (let i = 0; i < stream.length; i += 5) framer.push(stream.subarray(i, i + 5));
  assert.deepEqual(frames.map((f) => f.command), ['MESSAGE', 'RECEIPT', 'MESSAGE']);
  assert.equal(frames[0]!.body.toString('latin1'), 'x\0y');
  assert.equal(headerOf(frames[1]!, 'receipt-id'), 'sub-1');
  assert.equal(headerOf(frames[0]!, 'destination'), 'a/b');
});

test('SendTemplate batches are whole SEND frames', () => {
  const t = new SendTemplate('t/1', Buffer.from('hello'));
  const batch = t.batch(3);
  assert.equal(batch.length, t.bytes.length * 3);
  assert.equal(batch.subarray(t.bytes.length * 2).toString('latin1'), t.bytes.toString('latin1'));
  assert.match(t.bytes.toString('latin1'), /^SEND\ndestination:t\/1\ncontent-length:5\n\nhello\0$/);
});

const sample = (value: number): Sample => ({ value, loadCpuPercent: 10, brokerCpuPercent: 50, details: {} });
const workload = (better: 'higher' | 'lower'): Workload => ({
  metric: 'm',
  unit: 'ms',
  better,
  describe: () => '',
  run: () => Promise.resolve(sample(0)),
});

test('an absolute target compares the median itself, in the direction the workload prefers', () => {
  const s: Scenario = { name: 's', description: '', setup: { kind: 'aedes', label: 'a' }, workload: workload('lower'), target: { value: 50 } };
  const pass = scenarioResult(s, '', null, sideResult('a', [sample(10), sample(60), sample(40)]));
  assert.equal(pass.ratio, null);
  assert.equal(pass.pass, true);
  assert.deepEqual(pass.target, { kind: 'absolute', value: 50, comparison: '<=' });
  const fail = scenarioResult(s, '', null, sideResult('a', [sample(51)]));
  assert.equal(fail.pass, false);
});

test('a ratio target compares candidate ÷ baseline', () => {
  const s: Scenario = {
    name: 's',
    description: '',
    baseline: { kind: 'aedes', label: 'a' },
    candidate: { kind: 'aedes', label: 'b' },
    workload: workload('higher'),
    target: { ratio: 0.9 },
  };
  const r = scenarioResult(s, '', sideResult('a', [sample(100)]), sideResult('b', [sample(85)]));
  assert.equal(r.ratio, 0.85);
  assert.equal(r.pass, false);
});
