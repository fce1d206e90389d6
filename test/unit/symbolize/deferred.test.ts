import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeferredSymbolizer } from '../../../src/symbolize/deferred.js';
import { KdropError, ErrorCodes, isKdropError } from '../../../src/errors.js';
import type { Symbolizer } from '../../../src/symbolize/types.js';

const table: Symbolizer = {
  resolve: (a) => (a >= 0x1000n && a < 0x2000n ? { function: 'f', offset: Number(a - 0x1000n), size: 0x1000, module: null } : null),
};

test('DeferredSymbolizer: null before the load ends, the loaded answers after prepare()', async () => {
  let done!: (s: Symbolizer) => void;
  const d = new DeferredSymbolizer(new Promise<Symbolizer>((r) => (done = r)));
  assert.equal(d.resolve(0x1010n), null);
  const prepared = d.prepare([0x1010n]);
  done(table);
  await prepared;
  assert.deepEqual(d.resolve(0x1010n), { function: 'f', offset: 0x10, size: 0x1000, module: null });
  assert.equal(d.resolve(0x3000n), null);
});

test("DeferredSymbolizer: prepare() and ready() reject with the load's error; no unhandled rejection before", async () => {
  const err = new KdropError(ErrorCodes.KALLSYMS_RESTRICTED, 'zero addresses');
  const d = new DeferredSymbolizer(Promise.reject(err));
  await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would fail the test here
  await assert.rejects(d.prepare([1n]), (e) => isKdropError(e, ErrorCodes.KALLSYMS_RESTRICTED));
  await assert.rejects(d.ready(), (e) => e === err);
});

test("DeferredSymbolizer: prepare() is passed on to the loaded symbolizer's", async () => {
  const seen: bigint[] = [];
  const d = new DeferredSymbolizer(Promise.resolve({ ...table, prepare: async (a: Iterable<bigint>) => void seen.push(...a) }));
  await d.prepare([5n, 6n]);
  assert.deepEqual(seen, [5n, 6n]);
});
