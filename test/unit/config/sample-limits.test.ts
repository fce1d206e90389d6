/**
 * The sample settings kdrop accepts are exactly what kdrop-probe accepts (probe/kdrop.h): a value below
 * the loader's minimum used to pass here and fail there, and `auto` fell back to another source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { traceConfig } from '../../../src/config/trace-config.js';
import { watchConfig } from '../../../src/config/watch-config.js';
import { PROBE_LIMITS } from '../../../src/source/bpf/index.js';
import { isKdropError, ErrorCodes } from '../../../src/errors.js';

const header = readFileSync(fileURLToPath(new URL('../../../../probe/kdrop.h', import.meta.url)), 'utf8');
function define(name: string): number {
  const m = new RegExp(`^#define ${name} ([0-9.]+)$`, 'm').exec(header);
  assert.ok(m?.[1], `${name} in probe/kdrop.h`);
  return Number(m[1]);
}

test('PROBE_LIMITS are the loader limits of probe/kdrop.h', () => {
  assert.deepEqual(PROBE_LIMITS, {
    maxKeys: { min: 1, max: define('KDROP_MAX_KEYS_LIMIT') },
    sampleRate: { min: define('KDROP_SAMPLE_RATE_MIN'), max: define('KDROP_SAMPLE_RATE_MAX') },
    sampleBurst: { min: 1, max: define('KDROP_SAMPLE_BURST_MAX') },
    sampleMaxPerS: { min: 1, max: define('KDROP_SAMPLE_MAX_PER_S_MAX') },
  });
});

const configError = (f: () => unknown, name: string): void =>
  assert.throws(f, (e: unknown) => {
    assert.ok(isKdropError(e, ErrorCodes.CONFIG), String(e));
    assert.ok(e.message.includes(name), e.message);
    return true;
  });

test('--sample-rate below the minimum, or burst and max above the maximum: CONFIG errors, bounds taken', () => {
  configError(() => traceConfig({ sampleRate: '0.0005' }, {}), '--sample-rate');
  configError(() => watchConfig({ flows: true, sampleRate: '0.0009' }, {}), '--sample-rate');
  configError(() => traceConfig({ sampleBurst: String(PROBE_LIMITS.sampleBurst.max + 1) }, {}), '--sample-burst');
  configError(() => traceConfig({ sampleMaxPerS: String(PROBE_LIMITS.sampleMaxPerS.max + 1) }, {}), '--sample-max-per-s');
  configError(() => traceConfig({}, { KDROP_SAMPLE_BURST: '-1' }), 'KDROP_SAMPLE_BURST');
  const lo = traceConfig({ sampleRate: String(PROBE_LIMITS.sampleRate.min), sampleBurst: '1', sampleMaxPerS: '1' }, {}).samples;
  assert.deepEqual([lo.rate, lo.burst, lo.maxPerS], [0.001, 1, 1]);
  const hi = traceConfig({ sampleRate: String(PROBE_LIMITS.sampleRate.max), sampleBurst: String(PROBE_LIMITS.sampleBurst.max) }, {}).samples;
  assert.deepEqual([hi.rate, hi.burst], [PROBE_LIMITS.sampleRate.max, PROBE_LIMITS.sampleBurst.max]);
});
