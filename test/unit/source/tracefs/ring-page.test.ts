import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkEventHeader, parsePageHeader, splitPage, type PageLayout } from '../../../../src/source/tracefs/ring-page.js';
import { parseRawRecord, type ParsedDrop } from '../../../../src/source/tracefs/parse.js';
import { recordLayout } from '../../../../src/source/tracefs/record-layout.js';
import { KdropError } from '../../../../src/errors.js';
import { fixtureFormat, fixturePath, fixtureText } from './local-format.js';

const LAYOUT: PageLayout = { commitOffset: 8, commitSize: 8, dataOffset: 16 };

test('header_page of 6.18: commit at 8 (8 bytes), data at 16', () => {
  assert.deepEqual(parsePageHeader(fixtureText('header_page-6.18.txt')), LAYOUT);
});

test('header_page without commit/data is a FORMAT_PARSE error', () => {
  assert.throws(() => parsePageHeader('field: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n'), { code: 'KDROP_E_FORMAT_PARSE' });
});

test('header_event of 6.18 is the known layout; another is refused', () => {
  checkEventHeader(fixtureText('header_event-6.18.txt'));
  assert.throws(() => checkEventHeader('# compressed entry header\n\ttype_len    :    6 bits\n'), { code: 'KDROP_E_FORMAT_PARSE' });
});

test('a real 6.18 page read from trace_pipe_raw: 3 IPv4 and 2 IPv6 NO_SOCKET drops', () => {
  const page = readFileSync(fixturePath('page-6.18-cpu0.bin'));
  const contents = splitPage(page, page.byteLength, LAYOUT, true);
  assert.equal(contents.malformed, 0);
  assert.equal(contents.missedEvents, false);
  const layout = recordLayout(fixtureFormat('6.18'));
  const drops = contents.records.map((r) => parseRawRecord(r, layout, true));
  assert.equal(drops.length, 5);
  const keys = drops.map((d) => {
    assert.ok(!(d instanceof KdropError));
    return `${(d as ParsedDrop).address.toString(16)} ${(d as ParsedDrop).protocol} ${(d as ParsedDrop).reasonCode}`;
  });
  assert.deepEqual(keys, [
    'ffffffff82046f4c 2048 3',
    'ffffffff82046f4c 2048 3',
    'ffffffff82046f4c 2048 3',
    'ffffffff82107981 34525 3',
    'ffffffff82107981 34525 3',
  ]);
});

/** Builds a page from event chunks (each already with its 4-byte header). */
function page(chunks: Buffer[], opts: { flags?: bigint; missed?: bigint; size?: number } = {}): Buffer {
  const data = Buffer.concat(chunks);
  const buf = Buffer.alloc(opts.size ?? 4096);
  buf.writeBigUInt64LE(123456789n, 0);
  buf.writeBigUInt64LE(BigInt(data.length) | (opts.flags ?? 0n), 8);
  data.copy(buf, 16);
  if (opts.missed !== undefined) buf.writeBigUInt64LE(opts.missed, 16 + data.length);
  return buf;
}

function header(typeLen: number, timeDelta: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(((timeDelta << 5) | typeLen) >>> 0, 0);
  return b;
}

function smallEvent(payload: Buffer): Buffer {
  assert.equal(payload.length % 4, 0);
  return Buffer.concat([header(payload.length / 4, 7), payload]);
}

function bigEvent(payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(payload.length + 4, 0);
  const padded = Buffer.alloc((payload.length + 3) & ~3);
  payload.copy(padded);
  return Buffer.concat([header(0, 7), len, padded]);
}

function payload(n: number, fill: number): Buffer {
  return Buffer.alloc(n, fill);
}

test('synthetic page: small and length-prefixed events, time extend and time stamp skipped', () => {
  const p = page([
    smallEvent(payload(8, 1)),
    Buffer.concat([header(30, 5), Buffer.alloc(4)]),
    bigEvent(payload(130, 2)),
    Buffer.concat([header(31, 5), Buffer.alloc(4)]),
    smallEvent(payload(112, 3)), // 28 * 4, the largest small event
  ]);
  const c = splitPage(p, p.length, LAYOUT, true);
  assert.equal(c.malformed, 0);
  assert.deepEqual(
    c.records.map((r) => [r.byteLength, r[0]]),
    [
      [8, 1],
      [130, 2],
      [112, 3],
    ],
  );
});

test('padding with a length is skipped; null padding ends the page', () => {
  const pad = Buffer.concat([header(29, 1), Buffer.from([8, 0, 0, 0]), Buffer.alloc(4)]);
  const p = page([smallEvent(payload(4, 1)), pad, smallEvent(payload(4, 2)), header(29, 0), smallEvent(payload(4, 9))]);
  const c = splitPage(p, p.length, LAYOUT, true);
  assert.deepEqual(
    c.records.map((r) => r[0]),
    [1, 2],
  );
});

test('missed-events flags and the stored count are reported', () => {
  const p = page([smallEvent(payload(4, 1))], { flags: (1n << 31n) | (1n << 30n), missed: 42n });
  const c = splitPage(p, p.length, LAYOUT, true);
  assert.equal(c.missedEvents, true);
  assert.equal(c.missedCount, 42);
  assert.equal(c.records.length, 1);
  const flagOnly = splitPage(page([], { flags: 1n << 31n }), 4096, LAYOUT, true);
  assert.equal(flagOnly.missedEvents, true);
  assert.equal(flagOnly.missedCount, null);
});

test('malformed pages: an event running past commit, a zero-length event, a short read', () => {
  const past = page([smallEvent(payload(8, 1))]);
  past.writeBigUInt64LE(6n, 8); // commit says 6 bytes, the event needs 12
  assert.deepEqual(splitPage(past, past.length, LAYOUT, true).malformed, 1);
  const zero = page([Buffer.concat([header(0, 0), Buffer.from([4, 0, 0, 0])])]);
  assert.equal(splitPage(zero, zero.length, LAYOUT, true).malformed, 1);
  assert.equal(splitPage(Buffer.alloc(8), 8, LAYOUT, true).malformed, 1);
  assert.equal(splitPage(Buffer.alloc(0), 0, LAYOUT, true).malformed, 0);
  // commit larger than what was read: parse only what is there
  const cut = page([smallEvent(payload(8, 1)), smallEvent(payload(8, 2))]);
  assert.equal(splitPage(cut, 16 + 12, LAYOUT, true).records.length, 1);
});

test('big-endian event headers (type_len in the high bits)', () => {
  const buf = Buffer.alloc(64);
  buf.writeBigUInt64BE(12n, 8);
  buf.writeUInt32BE(((2 << 27) | 9) >>> 0, 16);
  buf.fill(5, 20, 28);
  const c = splitPage(buf, buf.length, LAYOUT, false);
  assert.deepEqual(
    c.records.map((r) => [r.byteLength, r[0]]),
    [[8, 5]],
  );
});
