import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationMs } from '../../../src/config/duration.js';

test('durations with units and bare seconds', () => {
  assert.equal(parseDurationMs('5s'), 5000);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('2m'), 120000);
  assert.equal(parseDurationMs('1h'), 3600000);
  assert.equal(parseDurationMs('1.5'), 1500);
  assert.equal(parseDurationMs(' 3 s '), 3000);
});

test('bad durations are null', () => {
  for (const bad of ['', 's', '-1s', '0', '0s', '5d', '1e3', 'five', '5 seconds']) assert.equal(parseDurationMs(bad), null, bad);
});
