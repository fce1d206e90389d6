import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lostOf, parseCpuStats } from '../../../../src/source/tracefs/cpu-stats.js';

test('per-CPU stats of 6.18: lost = overrun + commit overrun + dropped events', () => {
  const text = `entries: 12
overrun: 7
commit overrun: 1
bytes: 528
oldest event ts:   603.765183
now ts:   700.000001
dropped events: 5
read events: 3
`;
  const s = parseCpuStats(text);
  assert.deepEqual(s, { overrun: 7, commitOverrun: 1, droppedEvents: 5, entries: 12, readEvents: 3 });
  assert.equal(lostOf(s), 13);
});

test('older kernels without dropped/read lines still parse', () => {
  assert.equal(lostOf(parseCpuStats('entries: 0\noverrun: 2\ncommit overrun: 0\nbytes: 0\n')), 2);
});

test('a stats file without overrun is an error', () => {
  assert.throws(() => parseCpuStats('nonsense'), { code: 'KDROP_E_TRACER_OUTPUT' });
});
