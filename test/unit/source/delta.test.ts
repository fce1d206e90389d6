import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeltaTracker } from '../../../src/source/delta.js';
import { sample } from '../../helpers/fake-source.js';

test('deltas are the growth per key; keys that did not grow are left out', () => {
  const d = new DeltaTracker();
  assert.deepEqual(d.next([sample(0x10n, 3, 1, 5, 500)]), [sample(0x10n, 3, 1, 5, 500)]);
  const second = d.next([sample(0x10n, 3, 1, 5, 500), sample(0x20n, 12, 1, 2, 80)]);
  assert.deepEqual(second, [sample(0x20n, 12, 1, 2, 80)]);
  assert.deepEqual(d.next([sample(0x10n, 3, 1, 9, 900), sample(0x20n, 12, 1, 2, 80)]), [sample(0x10n, 3, 1, 4, 400)]);
});

test('keys differing only in reason, netns or protocol are separate series', () => {
  const d = new DeltaTracker();
  const out = d.next([sample(0x10n, 3, 1, 1), sample(0x10n, 2, 1, 1), sample(0x10n, 3, 2, 1), sample(0x10n, 3, 1, 1, 100, 0x86dd), sample(0x10n, null, null, 1)]);
  assert.equal(out.length, 5);
});

test('a total that goes backwards is taken as the new base, never a negative delta', () => {
  const d = new DeltaTracker();
  d.next([sample(0x10n, 3, 1, 10)]);
  const out = d.next([sample(0x10n, 3, 1, 4)]);
  assert.deepEqual(out.map((s) => s.count), [4]);
});

test('null bytes stay null', () => {
  const d = new DeltaTracker();
  assert.equal(d.next([sample(0x10n, 3, 1, 3, null)])[0]?.bytes, null);
});

test('a key the source omits is forgotten; when it comes back its total counts from zero', () => {
  const d = new DeltaTracker();
  d.next([sample(0x10n, 3, 1, 10, 100), sample(0x20n, 3, 1, 1, 10)]);
  // 0x10 omitted (the source dropped it as idle): forgotten
  assert.deepEqual(d.next([sample(0x20n, 3, 1, 2, 20)]), [sample(0x20n, 3, 1, 1, 10)]);
  // back with a fresh total of 4: all of it is new
  assert.deepEqual(d.next([sample(0x10n, 3, 1, 4, 40), sample(0x20n, 3, 1, 2, 20)]), [sample(0x10n, 3, 1, 4, 40)]);
});
