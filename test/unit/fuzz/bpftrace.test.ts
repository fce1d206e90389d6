/**
 * Fuzz: the bpftrace NDJSON line parser and the map-key conversion that the bpftrace source applies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../../src/errors.js';
import { parseBpftraceLine, parseKeyInteger, parseBpftraceVersion, toDropKey } from '../../../src/source/bpftrace/index.js';
import { finishesQuickly, mutated, onlyKdropError, RUNS } from './fuzz-helpers.js';
import { fixtureText } from './fixtures.js';

const RECORDED = [...fixtureText('bpftrace/v0.17-snapshots.ndjson').split('\n'), ...fixtureText('bpftrace/v0.23-rawtracepoint-snapshots.ndjson').split('\n'), ...fixtureText('bpftrace/v0.17-map-full.ndjson').split('\n')].filter((l) => l.trim() !== '');

test('recorded bpftrace output parses (control)', () => {
  for (const l of RECORDED) assert.notEqual(parseBpftraceLine(l), undefined);
});

test('arbitrary lines, arbitrary JSON and mutated recorded lines: an event, null, or TRACER_OUTPUT', () => {
  const line = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    fc.constantFrom(...RECORDED).chain((l) => mutated(l)),
    fc.record({ type: fc.constantFrom('map', 'printf', 'lost_events', 'helper_error', 'attached_probes', 'error', 'warning', 'time'), data: fc.jsonValue({ maxDepth: 3 }) }).map((o) => JSON.stringify(o)),
  );
  fc.assert(
    fc.property(line, (l) => {
      const ev = onlyKdropError(() => parseBpftraceLine(l), [ErrorCodes.TRACER_OUTPUT]);
      if (ev !== null && !(ev instanceof Error) && ev.kind === 'map') {
        for (const e of ev.entries) {
          assert.ok(Number.isFinite(e.value));
          for (const k of e.key) assert.ok(k >= 0n && k < 1n << 64n);
        }
      }
    }),
    { numRuns: RUNS * 2 },
  );
});

test('map lines with generated keys: keys are unsigned 64-bit, or the line is TRACER_OUTPUT', () => {
  const keyPart = fc.oneof(
    fc.bigInt({ min: -(1n << 66n), max: 1n << 66n }).map(String),
    fc.bigInt({ min: 0n, max: 1n << 68n }).map((n) => `0x${n.toString(16)}`),
    fc.string({ maxLength: 6 }),
  );
  fc.assert(
    fc.property(fc.dictionary(fc.array(keyPart, { minLength: 1, maxLength: 5 }).map((p) => p.join(',')), fc.oneof(fc.nat(), fc.double(), fc.string())), (map) => {
      const l = JSON.stringify({ type: 'map', data: { '@c': map } });
      const ev = onlyKdropError(() => parseBpftraceLine(l), [ErrorCodes.TRACER_OUTPUT]);
      if (ev !== null && !(ev instanceof Error) && ev.kind === 'map') {
        for (const e of ev.entries) {
          for (const k of e.key) assert.ok(k >= 0n && k < 1n << 64n);
          // toDropKey takes any parts and gives a key or null, never throws.
          const key = toDropKey(e.key, ['location', 'reason', 'protocol', 'netns'], true);
          if (key !== null) assert.ok(key.protocol >= 0 && key.protocol <= 0xffff);
        }
      }
    }),
    { numRuns: RUNS },
  );
});

test('parseKeyInteger / parseBpftraceVersion: arbitrary text gives a value or a coded error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), (t) => {
      onlyKdropError(() => parseKeyInteger(t), [ErrorCodes.TRACER_OUTPUT]);
      const v = onlyKdropError(() => parseBpftraceVersion(t), [ErrorCodes.BPFTRACE_MISSING]);
      if (!(v instanceof Error)) assert.ok(Number.isInteger(v.major) && Number.isInteger(v.minor));
    }),
    { numRuns: RUNS },
  );
});

test('a 65536-key map line (the default map limit) parses in bounded time; huge junk lines too', () => {
  const map: Record<string, number> = {};
  for (let i = 0; i < 65_536; i++) map[`0xffffffff8204${(i % 0xffff).toString(16).padStart(4, '0')},3,2048,${4026531840 + i}`] = i + 1;
  const big = JSON.stringify({ type: 'map', data: { '@c': map } });
  finishesQuickly('65536-key map', () => {
    const ev = parseBpftraceLine(big);
    assert.ok(ev !== null && ev.kind === 'map' && ev.entries.length === 65_536);
  });
  finishesQuickly('1 MB of junk', () => onlyKdropError(() => parseBpftraceLine('{'.repeat(1 << 20))));
  finishesQuickly('deep JSON', () => onlyKdropError(() => parseBpftraceLine(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)));
  finishesQuickly('long key', () => onlyKdropError(() => parseBpftraceLine(JSON.stringify({ type: 'map', data: { '@c': { ['1,'.repeat(100_000) + 'x']: 1 } } }))));
});
