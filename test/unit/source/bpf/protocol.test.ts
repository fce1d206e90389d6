import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../../src/errors.js';
import { LineSplitter, parseProbeLine } from '../../../../src/source/bpf/index.js';

test('D lines: epoch, location, reason, protocol, netns, count, bytes', () => {
  assert.deepEqual(parseProbeLine('D 7 ffffffff82046f4c 3 2048 4026532177 1000 24000'), {
    kind: 'delta',
    epoch: 7,
    address: 0xffffffff82046f4cn,
    reasonCode: 3,
    protocol: 2048,
    netns: 4026532177,
    count: 1000,
    bytes: 24000,
  });
});

test('END, READY, W, CHECK and BYE lines', () => {
  assert.deepEqual(parseProbeLine('END 3 lost=2 misses=1 run_ns=500 run_cnt=5'), { kind: 'end', epoch: 3, id: null, lost: 2, misses: 1, runNs: 500, runCnt: 5, samples: 0, suppressed: 0, rbFail: 0, stackFail: 0 });
  assert.deepEqual(parseProbeLine('END 3 id=17 lost=2 misses=1 run_ns=500 run_cnt=5 samples=7 suppressed=90 rb_fail=1 stack_fail=2'), {
    kind: 'end',
    epoch: 3,
    id: 17,
    lost: 2,
    misses: 1,
    runNs: 500,
    runCnt: 5,
    samples: 7,
    suppressed: 90,
    rbFail: 1,
    stackFail: 2,
  });
  assert.deepEqual(parseProbeLine('READY attach=tp_btf pinned=/sys/fs/bpf/kdrop/1-2-0 resumed=1 epoch=4 max_keys=16384'), {
    kind: 'ready',
    attach: 'tp_btf',
    pinned: '/sys/fs/bpf/kdrop/1-2-0',
    resumed: true,
    epoch: 4,
    maxKeys: 16384,
    atomics: null,
    qdisc: null,
  });
  const pre512 = parseProbeLine('READY attach=tp_btf pinned=none resumed=0 epoch=0 max_keys=16384 samples=1 stacks=0 atomics=0');
  assert.equal((pre512 as { atomics: unknown }).atomics, false);
  assert.equal((parseProbeLine('READY attach=tp_btf pinned=none resumed=0 epoch=0 max_keys=1 atomics=1') as { atomics: unknown }).atomics, true);
  assert.throws(() => parseProbeLine('READY attach=tp_btf pinned=none resumed=0 epoch=0 max_keys=1 atomics=yes'), /atomics is not 0 or 1/);
  assert.equal((parseProbeLine('READY attach=tp_btf pinned=none resumed=0 epoch=0 max_keys=1 atomics=1 qdisc=1') as { qdisc: unknown }).qdisc, true);
  assert.equal((parseProbeLine('READY attach=tp_btf pinned=none resumed=0 epoch=0 max_keys=1 atomics=1 qdisc=0') as { qdisc: unknown }).qdisc, false);
  assert.throws(() => parseProbeLine('READY attach=tp_btf pinned=none resumed=0 epoch=0 max_keys=1 qdisc=2'), /qdisc is not 0 or 1/);
  assert.equal((parseProbeLine('READY attach=raw_tp pinned=none resumed=0 epoch=0 max_keys=64') as { pinned: unknown }).pinned, null);
  assert.deepEqual(parseProbeLine('W mounted bpffs at /sys/fs/bpf'), { kind: 'warn', text: 'mounted bpffs at /sys/fs/bpf' });
  assert.deepEqual(parseProbeLine('CHECK raw_tp fail Operation not permitted'), { kind: 'check', attach: 'raw_tp', ok: false, message: 'Operation not permitted' });
  assert.deepEqual(parseProbeLine('CHECK tracepoint ok'), { kind: 'check', attach: 'tracepoint', ok: true, message: '' });
  assert.deepEqual(parseProbeLine('BYE'), { kind: 'bye', id: null });
  assert.deepEqual(parseProbeLine('BYE 18'), { kind: 'bye', id: 18 });
  assert.equal(parseProbeLine(''), null);
});

test('malformed lines are TRACER_OUTPUT errors, never wrong numbers', () => {
  for (const line of [
    'D 7 ffffffff82046f4c 3 2048 4026532177 1000', // cut short
    'D 7 ffffffff82046f4c 3 2048 4026532177 1000 24000 9', // one too many
    'D 7 xyz 3 2048 1 1 1',
    'D 7 ffffffff82046f4c -3 2048 1 1 1',
    'D 7 ffffffff82046f4c 3 70000 1 1 1', // protocol over 16 bits
    'D 7 ffffffff82046f4c 3 2048 1 99999999999999999999 1', // count not a safe integer
    'D 7 1ffffffff82046f4c0 3 2048 1 1 1', // location over 64 bits
    'END 3 lost=2 misses=1 run_ns=500',
    'END x lost=2 misses=1 run_ns=500 run_cnt=5',
    'READY attach=fentry pinned=none resumed=0 epoch=0 max_keys=1',
    'READY attach=tp_btf pinned=none resumed=2 epoch=0 max_keys=1',
    'CHECK tp_btf maybe',
    'BYE now',
    'HELLO',
  ]) {
    assert.throws(() => parseProbeLine(line), (err: unknown) => isKdropError(err, ErrorCodes.TRACER_OUTPUT), line);
  }
});

test('LineSplitter returns complete lines only; an unterminated last line is held back', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('D 1 ff 3 2048 1 5 '), []);
  assert.deepEqual(s.push('80\nEND 1 lost=0'), ['D 1 ff 3 2048 1 5 80']);
  assert.deepEqual(s.push(' misses=0 run_ns=0 run_cnt=0\nD 2 ff 3 2048 1 1'), ['END 1 lost=0 misses=0 run_ns=0 run_cnt=0']);
  assert.equal(s.end(), 'D 2 ff 3 2048 1 1');
});
