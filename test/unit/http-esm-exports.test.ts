import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { withoutHttpUndiciExports } from '../../src/http-esm-exports.js';

test('withoutHttpUndiciExports hides the lazy undici getters of node:http while loading, then restores them', async () => {
  const http = createRequire(import.meta.url)('node:http') as Record<string, unknown>;
  const keys = ['WebSocket', 'CloseEvent', 'MessageEvent'];
  const before = keys.map((k) => Object.getOwnPropertyDescriptor(http, k));
  const agent = Object.getOwnPropertyDescriptor(http, 'globalAgent');
  const seen = await withoutHttpUndiciExports(async () => keys.map((k) => Object.getOwnPropertyDescriptor(http, k)));
  for (const [i, d] of before.entries()) {
    if (d?.get !== undefined) assert.equal(seen[i], undefined, `${keys[i]} hidden during load`);
  }
  assert.deepEqual(keys.map((k) => Object.getOwnPropertyDescriptor(http, k)), before, 'restored as they were');
  assert.deepEqual(Object.getOwnPropertyDescriptor(http, 'globalAgent'), agent, 'other exports untouched');
  // Restored also when loading fails.
  await assert.rejects(withoutHttpUndiciExports(() => Promise.reject(new Error('load failed'))), /load failed/);
  assert.deepEqual(keys.map((k) => Object.getOwnPropertyDescriptor(http, k)), before);
  assert.equal(typeof http.WebSocket, 'function');
});
