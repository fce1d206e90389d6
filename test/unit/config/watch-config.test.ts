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
