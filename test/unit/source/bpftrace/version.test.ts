import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseBpftraceVersion, dialectForVersion, detectBpftrace } from '../../../../src/source/bpftrace/index.js';
import { isKdropError, ErrorCodes } from '../../../../src/errors.js';

test('parseBpftraceVersion reads the usual forms', () => {
  assert.deepEqual(parseBpftraceVersion('bpftrace v0.17.0\n'), { major: 0, minor: 17, patch: 0 });
  assert.deepEqual(parseBpftraceVersion('bpftrace v0.23.5'), { major: 0, minor: 23, patch: 5 });
  assert.deepEqual(parseBpftraceVersion('bpftrace v0.21.2-1ubuntu0.1'), { major: 0, minor: 21, patch: 2 });
  assert.deepEqual(parseBpftraceVersion('bpftrace v0.20.1-85-g9d9b7f6\n'), { major: 0, minor: 20, patch: 1 });
  assert.deepEqual(parseBpftraceVersion('bpftrace 0.19'), { major: 0, minor: 19, patch: 0 });
});

test('parseBpftraceVersion rejects text without a version', () => {
  assert.throws(() => parseBpftraceVersion('command not found'), (e) => isKdropError(e, ErrorCodes.BPFTRACE_MISSING));
  assert.throws(() => parseBpftraceVersion(''), (e) => isKdropError(e, ErrorCodes.BPFTRACE_MISSING));
});

test('dialectForVersion: 0.17 arrow + builtin SIGUSR1 + -k; 0.19 dot; 0.22 signal probe; 0.23 rawtracepoint', () => {
  const d17 = dialectForVersion({ major: 0, minor: 17, patch: 0 });
  assert.deepEqual(d17, { attach: 'tracepoint-arrow', sigusr1PrintsMaps: true, maxMapKeysEnv: 'BPFTRACE_MAP_KEYS_MAX', mapErrorFlags: ['-k'] });
  assert.equal(dialectForVersion({ major: 0, minor: 18, patch: 2 }).attach, 'tracepoint-arrow');
  assert.equal(dialectForVersion({ major: 0, minor: 19, patch: 0 }).attach, 'tracepoint-dot');
  assert.equal(dialectForVersion({ major: 0, minor: 20, patch: 0 }).maxMapKeysEnv, 'BPFTRACE_MAX_MAP_KEYS');
  assert.equal(dialectForVersion({ major: 0, minor: 21, patch: 0 }).sigusr1PrintsMaps, true);
  assert.equal(dialectForVersion({ major: 0, minor: 22, patch: 0 }).sigusr1PrintsMaps, false);
  const d23 = dialectForVersion({ major: 0, minor: 23, patch: 2 });
  assert.deepEqual(d23, { attach: 'rawtracepoint', sigusr1PrintsMaps: false, maxMapKeysEnv: 'BPFTRACE_MAX_MAP_KEYS', mapErrorFlags: [] });
  assert.equal(dialectForVersion({ major: 1, minor: 0, patch: 0 }).attach, 'rawtracepoint');
});

const fake = fileURLToPath(new URL('./fake-bpftrace.js', import.meta.url));

test('detectBpftrace runs <command> --version', async () => {
  process.env['FAKE_BPFTRACE_VERSION'] = 'bpftrace v0.23.2';
  try {
    const r = await detectBpftrace([process.execPath, fake]);
    assert.deepEqual(r.version, { major: 0, minor: 23, patch: 2 });
    assert.equal(r.dialect.attach, 'rawtracepoint');
  } finally {
    delete process.env['FAKE_BPFTRACE_VERSION'];
  }
});

test('detectBpftrace: a missing binary is BPFTRACE_MISSING', async () => {
  await assert.rejects(detectBpftrace(['/nonexistent/bpftrace-kdrop-test']), (e) => isKdropError(e, ErrorCodes.BPFTRACE_MISSING));
  await assert.rejects(detectBpftrace([]), (e) => isKdropError(e, ErrorCodes.BPFTRACE_MISSING));
  await assert.rejects(detectBpftrace(['false']), (e) => isKdropError(e, ErrorCodes.BPFTRACE_MISSING));
});
