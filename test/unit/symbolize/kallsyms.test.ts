import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { parseKallsyms, parseSystemMap } from '../../../src/symbolize/kallsyms.js';

test('parseKallsyms: core and module symbols, blank lines skipped', () => {
  const s = parseKallsyms('ffffffff81000000 T _stext\nffffffff82046a90 T __udp4_lib_rcv\n\nffffffffc0a01000 t foo\t[mod]\nffffffffc0a02000 t bpf_prog_6deef7357e7b4530_sd_fw_egress\t[bpf]\nffffffff83000000 d some.data.1\n');
  assert.equal(s.length, 5);
  assert.deepEqual(s[0], { address: 0xffffffff81000000n, name: '_stext', type: 'T', module: null });
  assert.deepEqual(s[2], { address: 0xffffffffc0a01000n, name: 'foo', type: 't', module: 'mod' });
  assert.equal(s[3]?.module, 'bpf');
  assert.equal(s[4]?.name, 'some.data.1');
});

test('parseKallsyms: malformed line -> KALLSYMS_PARSE with line number and excerpt', () => {
  for (const [text, line] of [
    ['ffffffff81000000 T _stext\nnot a symbol line\n', 2],
    ['ffffffff81000000 T\n', 1],
    ['zzzzffff81000000 T x\n', 1],
    ['ffffffff81000000 TT x\n', 1],
    ['ffffffff81000000 T x [mod] extra\n', 1],
    ['1ffffffff81000000 T x\n', 1],
  ] as const) {
    assert.throws(() => parseKallsyms(text), (err: unknown) => {
      assert.ok(isKdropError(err, ErrorCodes.KALLSYMS_PARSE), String(err));
      assert.match(err.message, new RegExp(`line ${line}: cannot parse symbol line`));
      assert.match(err.message, /found "/);
      return true;
    });
  }
});

test('parseKallsyms: all-zero addresses -> KALLSYMS_RESTRICTED naming kptr_restrict and CAP_SYSLOG', () => {
  const zeros = '0000000000000000 T _stext\n0000000000000000 T __udp4_lib_rcv\n';
  assert.throws(() => parseKallsyms(zeros, { kptrRestrict: 1 }), (err: unknown) => {
    assert.ok(isKdropError(err, ErrorCodes.KALLSYMS_RESTRICTED));
    assert.match(err.message, /kernel\.kptr_restrict=1/);
    assert.match(err.message, /CAP_SYSLOG/);
    return true;
  });
  assert.throws(() => parseKallsyms(zeros, { kptrRestrict: 2 }), (err: unknown) => {
    assert.ok(isKdropError(err, ErrorCodes.KALLSYMS_RESTRICTED));
    assert.match(err.message, /kptr_restrict=2 hides addresses even from root/);
    return true;
  });
  assert.throws(() => parseKallsyms(zeros), /kptr_restrict \(value unknown\)/);
  // One zero address among real ones (percpu symbols on old kernels) is fine; so is an empty file.
  assert.equal(parseKallsyms('0000000000000000 A fixed_percpu_data\nffffffff81000000 T _stext\n').length, 2);
  assert.equal(parseKallsyms('').length, 0);
});

test('parseSystemMap: plain lines; a module suffix is malformed there', () => {
  const s = parseSystemMap('ffffffff8024c920 t unix_stream_recvmsg\nffffffff8024cea1 t udp_v4_lookup_longway\n');
  assert.deepEqual(s.map((x) => [x.address, x.name, x.module]), [[0xffffffff8024c920n, 'unix_stream_recvmsg', null], [0xffffffff8024cea1n, 'udp_v4_lookup_longway', null]]);
  assert.throws(() => parseSystemMap('ffffffff8024c920 t foo\t[mod]\n', 'map'), (err: unknown) => isKdropError(err, ErrorCodes.KALLSYMS_PARSE) && /map, line 1/.test(err.message));
});
