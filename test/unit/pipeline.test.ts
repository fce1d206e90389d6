import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline } from '../../src/pipeline.js';
import { ReplaySource, mapResolver, sample, tableSymbolizer } from '../helpers/fake-source.js';

const sym = tableSymbolizer([[0x1000n, 'f', 0x100, null]]);

test('pipeline: interval deltas, described and sorted by count; final interval after stop', async () => {
  const source = new ReplaySource([[sample(0x1010n, 3, 7, 2)], [sample(0x1010n, 3, 7, 5), sample(0x1020n, 12, 1, 9)]], [sample(0x1010n, 3, 7, 6), sample(0x1020n, 12, 1, 9)]);
  const p = new Pipeline({ source, symbolizer: sym, reasons: new Map([[3, 'NO_SOCKET']]), resolver: mapResolver(1) });
  const r1 = await p.tick();
  assert.deepEqual(r1.entries.map((e) => [e.location, e.reason, e.count]), [['f+0x10', 'NO_SOCKET', 2]]);
  const r2 = await p.tick();
  assert.deepEqual(r2.entries.map((e) => [e.location, e.reason, e.count, e.owner.scope]), [['f+0x20', 'UNKNOWN_12', 9, 'host'], ['f+0x10', 'NO_SOCKET', 3, 'netns']]);
  assert.equal(r2.final, false);
  const r3 = await p.finish();
  assert.equal(source.stopped, true);
  assert.equal(r3.final, true);
  assert.deepEqual(r3.entries.map((e) => e.count), [1]);
});

test('pipeline: unattributed counts drops (packets), not entries', async () => {
  const source = new ReplaySource([[sample(0x1010n, 3, 7, 40), sample(0x1010n, 3, 8, 2)]]);
  const p = new Pipeline({ source, symbolizer: sym, reasons: null, resolver: mapResolver(1) });
  const r = await p.tick();
  assert.equal(r.unattributed, 42);
  assert.equal(r.entries[0]?.reason, null, 'no reason field: reason null');
});

test('pipeline: ties on count in code-unit order of the location (no locale: ICU stays out of the agent), then netns', async () => {
  const three = tableSymbolizer([[0x1000n, 'tcp_v4_rcv', 0x100, null], [0x2000n, '__udp4_lib_rcv', 0x100, null], [0x3000n, 'Zfunc', 0x100, null]]);
  const source = new ReplaySource([[sample(0x1010n, 3, 7, 4), sample(0x2010n, 3, 9, 4), sample(0x2010n, 3, 8, 4), sample(0x3010n, 3, 7, 4), sample(0x1010n, 3, 8, 5)]]);
  const p = new Pipeline({ source, symbolizer: three, reasons: null, resolver: mapResolver(1) });
  const r = await p.tick();
  // localeCompare would put Zfunc last (ICU: punctuation, then letters without case): __udp4, tcp, Zfunc.
  assert.deepEqual(
    r.entries.map((e) => [e.location, e.netns, e.count]),
    [['tcp_v4_rcv+0x10', 8, 5], ['Zfunc+0x10', 7, 4], ['__udp4_lib_rcv+0x10', 8, 4], ['__udp4_lib_rcv+0x10', 9, 4], ['tcp_v4_rcv+0x10', 7, 4]],
  );
});
