import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { hasField, parseFormat, parseReasonTable, readTracepointFormat, reasonName } from '../../../src/kernel/format.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/kernel/', import.meta.url));
const fixture = (name: string) => readFile(join(fixtures, name), 'utf8');

function assertFormatError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isKdropError(err, ErrorCodes.FORMAT_PARSE), `expected FORMAT_PARSE, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('before 5.17: skbaddr, location, protocol; no reason table', async () => {
  const f = parseFormat(await fixture('kfree_skb-5.10.format'));
  assert.equal(f.name, 'kfree_skb');
  assert.equal(f.id, 1441);
  assert.deepEqual(f.fields.map((x) => x.name), ['skbaddr', 'location', 'protocol']);
  assert.deepEqual(f.fields[2], { name: 'protocol', type: 'unsigned short', offset: 24, size: 2, signed: false });
  assert.equal(f.printFmt, '"skbaddr=%p protocol=%u location=%p", REC->skbaddr, REC->protocol, REC->location');
  assert.equal(f.reasons.size, 0);
  assert.ok(!hasField(f, 'reason'));
  assert.equal(reasonName(f, 3), 'UNKNOWN_3');
});

test('5.17: reason field, no rx_sk, table numbered from NOT_SPECIFIED = 0', async () => {
  const f = parseFormat(await fixture('kfree_skb-5.17.format'));
  assert.deepEqual(f.fields.map((x) => x.name), ['skbaddr', 'location', 'protocol', 'reason']);
  assert.deepEqual(f.fields[3], { name: 'reason', type: 'enum skb_drop_reason', offset: 28, size: 4, signed: false });
  assert.equal(f.reasons.size, 13);
  assert.equal(reasonName(f, 0), 'NOT_SPECIFIED');
  assert.equal(reasonName(f, 1), 'NO_SOCKET');
  assert.equal(reasonName(f, 6), 'NETFILTER_DROP');
  assert.equal(reasonName(f, 99), 'UNKNOWN_99');
  assert.ok(f.printFmt.includes('location=%p reason'));
});

test('6.18 (this machine): rx_sk, %pS, NO_SOCKET = 3, common fields excluded', async () => {
  const f = parseFormat(await fixture('kfree_skb-6.18.format'));
  assert.equal(f.id, 2310);
  assert.deepEqual(f.fields.map((x) => x.name), ['skbaddr', 'location', 'rx_sk', 'protocol', 'reason']);
  assert.deepEqual(f.fields[0], { name: 'skbaddr', type: 'void *', offset: 8, size: 8, signed: false });
  assert.equal(f.fields.find((x) => x.name === 'reason')?.offset, 36);
  assert.equal(reasonName(f, 2), 'NOT_SPECIFIED');
  assert.equal(reasonName(f, 3), 'NO_SOCKET');
  assert.equal(reasonName(f, 12), 'NETFILTER_DROP');
  assert.equal(reasonName(f, 128), 'MAX');
  assert.equal(f.reasons.size, 127);
  assert.ok(f.printFmt.includes('location=%pS'));
});

test('reason table: SKB_DROP_REASON_ prefix stripped, hex codes, unnumbered enum entries skipped', () => {
  const t = parseReasonTable('"r=%s", __print_symbolic(REC->reason, { 0x2, "SKB_DROP_REASON_NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { SKB_DROP_REASON_FOO, "FOO" })');
  assert.deepEqual([...t], [[2, 'NOT_SPECIFIED'], [3, 'NO_SOCKET']]);
  // A __print_symbolic on another field is not the reason table.
  assert.equal(parseReasonTable('"x=%s", __print_symbolic(REC->other, { 1, "A" })').size, 0);
  // Names with parentheses inside strings do not end the table early.
  assert.deepEqual([...parseReasonTable('"%s", __print_symbolic(REC->reason, { 1, "A(B)" }, { 2, "C" })')], [[1, 'A(B)'], [2, 'C']]);
});

test('field declarations: arrays and __data_loc', () => {
  const f = parseFormat(['name: x', 'ID: 1', 'format:', '\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;', '\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;', '\tfield:int v;\toffset:28;\tsize:4;\tsigned:1;', '', 'print fmt: "%s", REC->comm', ''].join('\n'));
  assert.deepEqual(f.fields.map((x) => [x.name, x.type, x.signed]), [['comm', 'char[16]', false], ['name', '__data_loc char[]', false], ['v', 'int', true]]);
});

test('malformed formats give FORMAT_PARSE with the line and what was expected', async () => {
  const good = await fixture('kfree_skb-6.18.format');
  assertFormatError(() => parseFormat(''), /no event name/);
  assertFormatError(() => parseFormat(good.replace('ID: 2310', 'ID: abc')), /line 2: bad event ID.*expected a decimal number/);
  assertFormatError(() => parseFormat(good.replace('ID: 2310\n', '')), /no event ID/);
  assertFormatError(() => parseFormat(good.replace(/^print fmt.*$/m, '')), /no print fmt/);
  assertFormatError(() => parseFormat(good.replace('offset:8;\tsize:8;', 'offset:eight;\tsize:8;')), /line 9: bad field line/);
  assertFormatError(() => parseFormat(good.replace('format:\n', '')), /field before "format:"/);
  assertFormatError(() => parseFormat(good.replace('name: kfree_skb', 'hello world')), /line 1: unexpected line.*found "hello world"/);
  assertFormatError(() => parseFormat(good.replace(/, \{ 128, "MAX" \}\)$/m, ', { 128, "MAX" }')), /unterminated __print_symbolic/);
  assertFormatError(() => parseFormat(good.replace('{ 3, "NO_SOCKET" }', '{ 3 "NO_SOCKET" }')), /bad entry in __print_symbolic/);
  assertFormatError(() => parseFormat(`${good}\ntrailing junk\n`), /text after print fmt/);
  assertFormatError(() => parseFormat(good.replace('print fmt: "', 'print fmt: ')), /bad print fmt/);
});

test('readTracepointFormat reads from a tracefs tree; a missing event is TRACEPOINT_MISSING', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-fmt-'));
  try {
    await mkdir(join(dir, 'events', 'skb', 'kfree_skb'), { recursive: true });
    await writeFile(join(dir, 'events', 'skb', 'kfree_skb', 'format'), await fixture('kfree_skb-5.17.format'));
    const f = await readTracepointFormat(dir);
    assert.equal(f.reasons.get(1), 'NO_SOCKET');
    await assert.rejects(readTracepointFormat(dir, 'skb', 'nope'), (err: unknown) => {
      assert.ok(isKdropError(err, ErrorCodes.TRACEPOINT_MISSING));
      assert.match(err.message, /skb:nope not found/);
      return true;
    });
    await assert.rejects(readTracepointFormat(join(dir, 'missing')), (err: unknown) => isKdropError(err, ErrorCodes.TRACEPOINT_MISSING));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
