/**
 * Fuzz: the kernel counter parsers (src/source/counters/). Any input gives values or a COUNTERS_PARSE
 * error, never another exception; values are never negative; large input is parsed in linear time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../../src/errors.js';
import { conntrackCounters, netDevCounters, netstatCounters, parseStatisticsValue } from '../../../src/source/counters/index.js';
import type { CounterValue } from '../../../src/source/counters/index.js';
import { fixtureText } from './fixtures.js';
import { finishesQuickly, mutated, onlyKdropError, RUNS, tokenLines } from './fuzz-helpers.js';

const CODES = [ErrorCodes.COUNTERS_PARSE];
const files = {
  netstat: { parse: netstatCounters, text: fixtureText('counters/netstat-6.18.txt'), tokens: ['TcpExt:', 'IpExt:', 'ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop', ' ', '\n', '0', '18446744073709551615'] },
  dev: { parse: netDevCounters, text: fixtureText('counters/dev-6.18.txt'), tokens: ['Inter-|', ' face |', 'drop', 'bytes', '|', 'eth0:', ' ', '\n', '0', '12'] },
  conntrack: { parse: conntrackCounters, text: fixtureText('counters/nf_conntrack-4.19.txt'), tokens: ['entries', 'drop', 'insert_failed', 'early_drop', 'ffffffff', '00000001', ' ', '\n'] },
} as const;

function checkValues(r: CounterValue[] | Error): void {
  if (r instanceof Error) return;
  for (const v of r) {
    assert.ok(v.value >= 0n, `negative ${v.counter}`);
    if (v.bits === 32) assert.ok(v.value < 1n << 32n);
  }
}

for (const [name, f] of Object.entries(files)) {
  test(`${name}: the recorded file parses (control)`, () => {
    assert.ok(!(onlyKdropError(() => f.parse(f.text)) instanceof Error));
  });
  test(`${name}: mutated recorded files and token soup give values or COUNTERS_PARSE`, () => {
    fc.assert(fc.property(mutated(f.text), (s) => checkValues(onlyKdropError(() => f.parse(s), CODES))), { numRuns: RUNS });
    fc.assert(fc.property(fc.array(tokenLines(f.tokens), { maxLength: 8 }).map((l) => l.join('\n')), (s) => checkValues(onlyKdropError(() => f.parse(s), CODES))), { numRuns: RUNS });
  });
  test(`${name}: large adversarial input in bounded time`, () => {
    finishesQuickly(name, () => onlyKdropError(() => f.parse(`${f.text}${' 0'.repeat(50_000)}`), CODES));
    finishesQuickly(name, () => onlyKdropError(() => f.parse(`${'a:'.repeat(50_000)}\n`), CODES));
  });
}

test('sysfs statistics: any string gives a 64-bit unsigned value or COUNTERS_PARSE', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String)), (s) => {
      const r = onlyKdropError(() => parseStatisticsValue(s, 'rx_dropped'), CODES);
      if (!(r instanceof Error)) assert.ok(r >= 0n && r < 1n << 64n);
    }),
    { numRuns: RUNS },
  );
});
