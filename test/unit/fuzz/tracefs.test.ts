/**
 * Fuzz: binary records and ring-buffer pages (src/source/tracefs/parse.ts,
 * ring-page.ts) and per-CPU stats. The parsers return a KdropError for a bad line/record (the source
 * counts it) and must never throw anything, loop, or return records outside the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes, KdropError } from '../../../src/errors.js';
import { parseFormat } from '../../../src/kernel/format.js';
import { parseCpuStats, parsePageHeader, parseRawRecord, recordLayout, splitPage } from '../../../src/source/tracefs/index.js';
import { fixtureBytes, fixtureText } from './fixtures.js';
import { finishesQuickly, mutated, onlyKdropError, RUNS } from './fuzz-helpers.js';

const format = parseFormat(fixtureText('tracefs/kfree_skb-format-6.18.txt'));
const layout = recordLayout(format);
const pageLayout = parsePageHeader(fixtureText('tracefs/header_page-6.18.txt'));
const page = fixtureBytes('tracefs/page-6.18-cpu0.bin');

test('binary records: arbitrary bytes give a drop or TRACER_OUTPUT (both byte orders)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, le) => {
      const r = onlyKdropError(() => parseRawRecord(bytes, layout, le));
      if (r instanceof KdropError) assert.equal(r.code, ErrorCodes.TRACER_OUTPUT);
      else if (!(r instanceof Error)) assert.ok(r.protocol >= 0 && r.protocol <= 0xffff);
    }),
    { numRuns: RUNS },
  );
});

function checkPage(bytes: Uint8Array, length: number, le: boolean): void {
  const c = splitPage(bytes, length, pageLayout, le);
  // Bounded output: each record has a 4-byte header at least, and lies inside the valid bytes.
  assert.ok(c.records.length <= Math.max(0, Math.min(length, bytes.byteLength)) / 4);
  for (const r of c.records) {
    assert.ok(r.byteOffset >= bytes.byteOffset + pageLayout.dataOffset && r.byteOffset + r.byteLength <= bytes.byteOffset + Math.min(length, bytes.byteLength));
    onlyKdropError(() => parseRawRecord(r, layout, le));
  }
}

test('ring-buffer pages: the recorded page splits into kfree_skb records (control)', () => {
  const c = splitPage(page, page.byteLength, pageLayout, true);
  assert.ok(c.records.length > 0);
  assert.equal(c.malformed, 0);
  for (const r of c.records) assert.ok(!(parseRawRecord(r, layout, true) instanceof KdropError));
});

test('ring-buffer pages: random pages, corrupted recorded pages and any length: records stay inside the page, no throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), fc.nat(8192), fc.boolean(), (bytes, length, le) => {
      onlyKdropError(() => checkPage(bytes, length, le));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(page.byteLength - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }), fc.nat(page.byteLength), fc.boolean(), (edits, length, le) => {
      const b = new Uint8Array(page);
      for (const [at, v] of edits) b[at] = v;
      onlyKdropError(() => checkPage(b, length, le));
    }),
    { numRuns: RUNS },
  );
});

test('ring-buffer pages: a page of padding / time-extend headers ends (no endless loop)', () => {
  for (const word of [0x1d, 0x1e, 0x1f, 0x3d, 0]) {
    const b = Buffer.alloc(65536);
    b.writeBigUInt64LE(BigInt(b.byteLength - pageLayout.dataOffset), pageLayout.commitOffset);
    for (let off = pageLayout.dataOffset; off + 4 <= b.byteLength; off += 4) b.writeUInt32LE(word, off);
    finishesQuickly(`page of 0x${word.toString(16)}`, () => onlyKdropError(() => checkPage(b, b.byteLength, true)));
  }
});

test('per-CPU stats: arbitrary text gives stats or TRACER_OUTPUT; numbers are non-negative', () => {
  const stats = 'entries: 0\noverrun: 0\ncommit overrun: 0\nbytes: 0\noldest event ts:     0.000000\nnow ts:   414.511098\ndropped events: 0\nread events: 0\n';
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), mutated(stats)), (text) => {
      const r = onlyKdropError(() => parseCpuStats(text), [ErrorCodes.TRACER_OUTPUT]);
      if (!(r instanceof Error)) assert.ok(r.overrun >= 0 && r.droppedEvents >= 0);
    }),
    { numRuns: RUNS },
  );
});
