import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { watchConfig } from '../../../src/config/watch-config.js';

test('--class: repeatable and comma-separated, any case; a bad class is a CONFIG error naming --class', () => {
  assert.deepEqual(watchConfig({ class: ['error,Congestion', 'policy'] }, {}).classes, ['error', 'congestion', 'policy']);
  assert.deepEqual(watchConfig({}, {}).classes, []);
  assert.throws(() => watchConfig({ class: ['errors'] }, {}), (err: unknown) =>
    isKdropError(err, ErrorCodes.CONFIG) && /--class/.test(err.message) && /policy, congestion, error, benign, unknown/.test(err.message));
});

test('--no-counters and KDROP_COUNTERS turn the counter reader off for watch and top; on by default', async () => {
  const { topConfig } = await import('../../../src/config/top-config.js');
  assert.equal(watchConfig({}, {}).counters, true);
  assert.equal(watchConfig({ counters: true }, {}).counters, true, 'commander: true when --no-counters is not given');
  assert.equal(watchConfig({ counters: false }, {}).counters, false);
  assert.equal(watchConfig({ counters: true }, { KDROP_COUNTERS: 'false' }).counters, false);
  assert.equal(topConfig({ counters: false }, {}).counters, false);
  assert.equal(topConfig({}, {}).counters, true);
  assert.throws(() => watchConfig({}, { KDROP_COUNTERS: 'no' }), (err: unknown) => isKdropError(err, ErrorCodes.CONFIG) && /KDROP_COUNTERS: expected true or false/.test(err.message));
});
