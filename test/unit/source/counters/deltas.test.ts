import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CounterDeltas, counterGrowth, type CounterValue } from '../../../../src/source/counters/index.js';

const v = (counter: CounterValue['counter'], value: bigint, bits: 32 | 64 = 64, iface: string | null = null): CounterValue => ({
  file: bits === 32 ? 'conntrack' : iface === null ? 'netstat' : 'dev',
  counter,
  iface,
  value,
  bits,
});

test('first read is the baseline; later reads give growth; zero growth is left out', () => {
  const d = new CounterDeltas();
  assert.deepEqual(d.next(new Map([[10, [v('ListenOverflows', 100n)]]])), []);
  assert.deepEqual(d.next(new Map([[10, [v('ListenOverflows', 112n)]]])), [{ netns: 10, file: 'netstat', counter: 'ListenOverflows', iface: null, delta: 12 }]);
  assert.deepEqual(d.next(new Map([[10, [v('ListenOverflows', 112n)]]])), []);
});

test('a namespace made after start counts from zero; one gone for 3 reads is forgotten and counts from zero when back', () => {
  const d = new CounterDeltas();
  d.next(new Map([[10, [v('ListenOverflows', 5n)]]]));
  assert.deepEqual(d.next(new Map([[10, [v('ListenOverflows', 5n)]], [11, [v('ListenOverflows', 3n)]]])).map((x) => [x.netns, x.delta]), [[11, 3]]);
  for (let i = 0; i < 3; i++) d.next(new Map([[11, [v('ListenOverflows', 3n)]]]));
  assert.deepEqual(d.next(new Map([[10, [v('ListenOverflows', 2n)]], [11, [v('ListenOverflows', 3n)]]])).map((x) => [x.netns, x.delta]), [[10, 2]]);
});

test('a namespace missing for one read (no live process found once) keeps its values: only its growth counts', () => {
  const d = new CounterDeltas();
  d.next(new Map([[10, [v('ListenOverflows', 500n)]]]));
  assert.deepEqual(d.next(new Map()), []);
  assert.deepEqual(d.next(new Map([[10, [v('ListenOverflows', 507n)]]])).map((x) => [x.netns, x.delta]), [[10, 7]]);
});

test('the node NICs (netns null) are baselined when first read, never counted from zero', () => {
  const d = new CounterDeltas();
  d.next(new Map([[10, []]]));
  assert.deepEqual(d.next(new Map([[null, [v('rx_missed_errors', 1000n, 64, 'eth0')]]])), []);
  assert.deepEqual(d.next(new Map([[null, [v('rx_missed_errors', 1001n, 64, 'eth0')]]])).map((x) => x.delta), [1]);
});

test('a 32-bit counter wraps; a 64-bit counter that goes down was reset', () => {
  assert.equal(counterGrowth(0xfffffff0n, 0x10n, 32), 0x20n);
  assert.equal(counterGrowth(500n, 7n, 64), 7n);
  const d = new CounterDeltas();
  d.next(new Map([[1, [v('drop', 0xfffffffen, 32), v('rx_dropped', 9n, 64, 'eth0')]]]));
  assert.deepEqual(d.next(new Map([[1, [v('drop', 3n, 32), v('rx_dropped', 2n, 64, 'eth0')]]])).map((x) => [x.counter, x.delta]), [['drop', 5], ['rx_dropped', 2]]);
});

test('property: the deltas of any 32-bit walk of increments below 2^32 sum to the increments', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 0xffffffffn }), fc.array(fc.bigInt({ min: 0n, max: 0xffffffffn }), { maxLength: 20 }), (start, steps) => {
      const d = new CounterDeltas();
      let cur = start;
      d.next(new Map([[1, [v('insert_failed', cur, 32)]]]));
      let sum = 0;
      for (const s of steps) {
        cur = (cur + s) & 0xffffffffn;
        sum += d.next(new Map([[1, [v('insert_failed', cur, 32)]]])).reduce((a, x) => a + x.delta, 0);
      }
      assert.equal(sum, Number(steps.reduce((a, s) => a + s, 0n)));
    }),
  );
});
