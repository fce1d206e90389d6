import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstDeadline, nextDeadline, sleepUntil } from '../../src/schedule.js';

test('sleepUntil: false at the deadline, true when aborted first or already aborted', async () => {
  assert.equal(await sleepUntil(Date.now() + 20, new AbortController().signal), false);
  const ac = new AbortController();
  const p = sleepUntil(Date.now() + 60_000, ac.signal);
  ac.abort();
  assert.equal(await p, true);
  assert.equal(await sleepUntil(Date.now() + 60_000, AbortSignal.abort()), true);
});

test('nextDeadline: one interval on, or a full interval from now when reading overran', () => {
  const now = Date.now();
  assert.equal(nextDeadline(now + 1000, 5000), now + 6000);
  assert.ok(nextDeadline(now - 20_000, 5000) >= now + 5000);
});

test('firstDeadline: the first interval ends half an interval after attach', () => {
  assert.equal(firstDeadline(10_000, 1000), 10_500);
  assert.equal(firstDeadline(10_000, 5000), 12_500);
  assert.equal(firstDeadline(10_000, 1), 10_001);
});
