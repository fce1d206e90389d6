/**
 * The counter parsers' in-place fast paths (netstat, conntrack) against the reference parsers that split
 * lines and fields: the same values or the same COUNTERS_PARSE failure, on the recorded files, on
 * whitespace the kernel never prints, and on mutated and generated input (the remembered header changes
 * between calls, so the memo's invalidation is exercised too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes, isKdropError } from '../../../../src/errors.js';
import { conntrackCounters, netstatCounters } from '../../../../src/source/counters/index.js';
import { netstatCountersByLines } from '../../../../src/source/counters/parse-netstat.js';
import { conntrackCountersByMap } from '../../../../src/source/counters/parse-conntrack.js';
import type { CounterValue } from '../../../../src/source/counters/index.js';
import { fixtureText } from '../../fuzz/fixtures.js';
import { mutated, RUNS, tokenLines } from '../../fuzz/fuzz-helpers.js';

type Parse = (text: string) => CounterValue[];

function outcome(parse: Parse, text: string): CounterValue[] | string {
  try {
    return parse(text);
  } catch (err) {
    assert.ok(isKdropError(err, ErrorCodes.COUNTERS_PARSE), `not COUNTERS_PARSE: ${String(err)}`);
    return 'COUNTERS_PARSE';
  }
}

const same = (fast: Parse, reference: Parse, text: string): void => assert.deepEqual(outcome(fast, text), outcome(reference, text), JSON.stringify(text));

const netstat = fixtureText('counters/netstat-6.18.txt');
const conntrack = [fixtureText('counters/nf_conntrack-6.18.txt'), fixtureText('counters/nf_conntrack-4.19.txt')];
const spaces = ['\t', '\v', '\f', '\r', '\u00a0', '\u2028', '\ufeff', '\u3000', '  ', '\n', '\n\n'];

/** The text with one whitespace character put in, or one taken out, at each place in turn (bounded). */
function whitespaceEdits(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += Math.max(1, Math.floor(text.length / 150))) {
    for (const sp of spaces) out.push(text.slice(0, i) + sp + text.slice(i));
    if (/\s/.test(text[i] ?? '')) out.push(text.slice(0, i) + text.slice(i + 1));
  }
  return out;
}

test('netstat in place: the recorded file, its whitespace edits and the reference agree', () => {
  assert.deepEqual(netstatCounters(netstat), netstatCountersByLines(netstat));
  assert.equal(netstatCounters(netstat).length, 3);
  for (const t of whitespaceEdits(netstat)) same(netstatCounters, netstatCountersByLines, t);
});

test('netstat in place: a header that changes between calls is read again (values by name)', () => {
  assert.deepEqual(netstatCounters('TcpExt: ListenDrops ListenOverflows\nTcpExt: 1 2\n').map((c) => [c.counter, c.value]), [['ListenOverflows', 2n], ['ListenDrops', 1n]]);
  assert.deepEqual(netstatCounters('TcpExt: ListenOverflows ListenDrops\nTcpExt: 1 2\n').map((c) => [c.counter, c.value]), [['ListenOverflows', 1n], ['ListenDrops', 2n]]);
  assert.deepEqual(netstatCounters('TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\n').map((c) => [c.counter, c.value]), [['ListenOverflows', 3n], ['ListenDrops', 4n]]);
  assert.equal(outcome(netstatCounters, 'TcpExt: ListenOverflows ListenDrops\nTcpExt: 3\n'), 'COUNTERS_PARSE');
  assert.equal(outcome(netstatCounters, 'TcpExt: ListenOverflows\nTcpExt: 123456789012345678901\n'), 'COUNTERS_PARSE');
  assert.deepEqual(netstatCounters('TcpExt: ListenOverflows\nTcpExt: 18446744073709551615\n')[0]?.value, 18446744073709551615n);
});

test('conntrack in place: recorded files (6.18, pre-5.9 header), whitespace edits and the reference agree', () => {
  for (const text of conntrack) {
    assert.deepEqual(conntrackCounters(text), conntrackCountersByMap(text));
    for (const t of whitespaceEdits(text)) same(conntrackCounters, conntrackCountersByMap, t);
  }
});

test('conntrack in place: sums past 13 hex digits and 32-bit wrap as the reference does', () => {
  const head = 'entries drop insert_failed\n';
  for (const rows of ['ffffffff ffffffff 1\n1 1 ffffffff\n', '1 fffffffffffffff 0\n1 1 1\n', '1 ffffffffffffffff 0\n', '1 00000000000001 0\n', '1 2\n', '1 2 3 4\n', '']) {
    same(conntrackCounters, conntrackCountersByMap, head + rows);
  }
  assert.deepEqual(conntrackCounters(`${head}0 ffffffff 1\n0 2 0\n`).map((c) => [c.counter, c.value]), [['drop', 1n], ['insert_failed', 1n]]);
});

const editChars = fc.constantFrom(...spaces, 'x', '0', 'f', 'F', 'g', ':', '-', 'TcpExt:', 'drop', 'ListenDrops');
const edited = (text: string): fc.Arbitrary<string> =>
  fc.array(fc.tuple(fc.nat(), fc.boolean(), editChars), { minLength: 1, maxLength: 5 }).map((edits) => {
    let s = text;
    for (const [at, del, piece] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      s = del ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + piece + s.slice(i);
    }
    return s;
  });

test('netstat and conntrack in place: generated and mutated input agree with the reference', () => {
  const nsTokens = ['TcpExt:', 'IpExt:', 'ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop', ' ', '\t', '\n', '\r', '\u00a0', '0', '18446744073709551615'];
  const ctTokens = ['entries', 'drop', 'insert_failed', 'early_drop', 'ffffffff', '00000001', 'fffffffffffffff', ' ', '\t', '\n', '\u2028'];
  fc.assert(fc.property(fc.oneof(edited(netstat), mutated(netstat), fc.array(tokenLines(nsTokens), { maxLength: 6 }).map((l) => l.join('\n'))), (s) => same(netstatCounters, netstatCountersByLines, s)), { numRuns: RUNS });
  for (const text of conntrack) {
    fc.assert(fc.property(fc.oneof(edited(text), mutated(text), fc.array(tokenLines(ctTokens), { maxLength: 6 }).map((l) => l.join('\n'))), (s) => same(conntrackCounters, conntrackCountersByMap, s)), { numRuns: RUNS });
  }
});
