import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KdropError, ErrorCodes, excerpt, isKdropError } from '../../src/errors.js';

test('KdropError message carries expected, found and hint; code is stable', () => {
  const e = new KdropError(ErrorCodes.BAD_ADDRESS, 'cannot parse address', { expected: 'a hex address', found: excerpt('zz'), hint: 'try 0xffffffff81000000' });
  assert.equal(e.code, 'KDROP_E_BAD_ADDRESS');
  assert.match(e.message, /cannot parse address; expected a hex address; found "zz"; try 0x/);
  assert.ok(isKdropError(e, ErrorCodes.BAD_ADDRESS));
  assert.ok(!isKdropError(e, ErrorCodes.CONFIG));
  assert.ok(!isKdropError(new Error('x')));
});

test('excerpt truncates long input', () => {
  const s = excerpt('a'.repeat(500), 20);
  assert.equal(s.length, 20);
  assert.ok(s.endsWith('..."'));
});

test('docs/troubleshooting.md lists every error code', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../docs/troubleshooting.md', import.meta.url), 'utf8');
  for (const code of Object.values(ErrorCodes)) assert.ok(doc.includes(`| \`${code}\` |`), `${code} missing from docs/troubleshooting.md`);
});
