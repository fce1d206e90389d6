import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DropCounter } from '../../../../src/source/tracefs/drop-counter.js';

test('counts per (address, reason, protocol); netns and bytes are null', () => {
  const c = new DropCounter();
  c.add({ address: 0xffffffff82046f4cn, reasonCode: 3, protocol: 2048 });
  c.add({ address: 0xffffffff82046f4cn, reasonCode: 3, protocol: 2048 });
  c.add({ address: 0xffffffff82046f4cn, reasonCode: 12, protocol: 2048 });
  c.add({ address: 0xffffffff82107981n, reasonCode: 3, protocol: 0x86dd }, 5);
  c.add({ address: 0xffffffff82107981n, reasonCode: null, protocol: 0x86dd });
  assert.equal(c.total, 9);
  const byKey = new Map(c.samples().map((s) => [`${s.address.toString(16)}/${s.reasonCode}/${s.protocol}`, s]));
  assert.equal(byKey.size, 4);
  assert.deepEqual(byKey.get('ffffffff82046f4c/3/2048'), { address: 0xffffffff82046f4cn, reasonCode: 3, protocol: 2048, netns: null, count: 2, bytes: null });
  assert.equal(byKey.get('ffffffff82046f4c/12/2048')?.count, 1);
  assert.equal(byKey.get('ffffffff82107981/3/34525')?.count, 5);
  assert.equal(byKey.get('ffffffff82107981/null/34525')?.count, 1);
});

test('samples are cumulative and detached copies', () => {
  const c = new DropCounter();
  c.add({ address: 1n, reasonCode: 2, protocol: 3 });
  const first = c.samples();
  c.add({ address: 1n, reasonCode: 2, protocol: 3 });
  assert.equal(first[0]?.count, 1);
  assert.equal(c.samples()[0]?.count, 2);
});

test('property: per-key counts sum to the number of events and never decrease', () => {
  const drop = fc.record({
    address: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((a) => a % 5n),
    reasonCode: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
    protocol: fc.constantFrom(2048, 0x86dd),
  });
  fc.assert(
    fc.property(fc.array(fc.array(drop), { maxLength: 5 }), (batches) => {
      const c = new DropCounter();
      let prev = new Map<string, number>();
      let n = 0;
      for (const batch of batches) {
        for (const d of batch) c.add(d);
        n += batch.length;
        const now = new Map(c.samples().map((s) => [`${s.address}/${s.reasonCode}/${s.protocol}`, s.count]));
        for (const [k, v] of prev) assert.ok((now.get(k) ?? 0) >= v);
        assert.equal([...now.values()].reduce((a, b) => a + b, 0), n);
        prev = now;
      }
    }),
  );
});
