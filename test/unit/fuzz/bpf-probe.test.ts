/** Fuzz: the kdrop-probe line parser and the line splitter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../../src/errors.js';
import { LineSplitter, parseProbeLine } from '../../../src/source/bpf/index.js';
import { finishesQuickly, mutated, onlyKdropError, RUNS, tokenLines } from './fuzz-helpers.js';

const VALID = [
  'READY attach=tp_btf pinned=/sys/fs/bpf/kdrop/1-2-0 resumed=0 epoch=0 max_keys=16384',
  'D 7 ffffffff82046f4c 3 2048 4026532177 1000 24000',
  'END 7 lost=0 misses=0 run_ns=104 run_cnt=1',
  'W mounted bpffs at /sys/fs/bpf',
  'CHECK tp_btf ok',
  'CHECK raw_tp fail Operation not permitted',
  'BYE',
];

test('valid lines parse (control)', () => {
  for (const l of VALID) assert.notEqual(parseProbeLine(l), null);
});

test('arbitrary, token-built and mutated lines: an event, null, or TRACER_OUTPUT; numbers always in range', () => {
  const line = fc.oneof(fc.string({ maxLength: 200 }), tokenLines(['D', 'END', 'READY', 'W', 'CHECK', 'BYE', 'lost=', 'attach=', 'tp_btf', 'ffffffff81000000', '3', '2048', ' ']), fc.constantFrom(...VALID).chain((l) => mutated(l)));
  fc.assert(
    fc.property(line, (l) => {
      const ev = onlyKdropError(() => parseProbeLine(l), [ErrorCodes.TRACER_OUTPUT]);
      if (ev !== null && !(ev instanceof Error) && ev.kind === 'delta') {
        assert.ok(ev.address >= 0n && ev.address < 1n << 64n);
        assert.ok(ev.protocol >= 0 && ev.protocol <= 0xffff);
        for (const n of [ev.epoch, ev.count, ev.bytes, ev.netns, ev.reasonCode]) assert.ok(Number.isSafeInteger(n) && n >= 0);
      }
    }),
    { numRuns: RUNS * 2 },
  );
});

const SAMPLE_LINES = [
  'S 3373929185850 ffffffff82046f4c 3 2048 4026532330 17 127.0.0.1 41234 127.0.0.1 9 0 0 0 1 lo 18 -1 4',
  'S 1 ffffffff82107981 3 34525 4026532330 17 ::1 5555 ::1 53 0 0 0 1 lo 9 405 0',
  'S 1 ffffffff820c879a 4 0 4026531833 0 - 0 - 0 0 0 0 0 - 10 -1 0',
  'K 62 ffffffffc000cfe1 ffffffff814b896c ffffffff81eb9271',
];

test('S and K lines, token-built and mutated: an event or TRACER_OUTPUT; every field in range', () => {
  const line = fc.oneof(
    tokenLines(['S', 'K', '-', '127.0.0.1', '::1', 'lo', '17', '6', '-1', '65535', '65536', 'ffffffff81000000', ' ']),
    fc.constantFrom(...SAMPLE_LINES).chain((l) => mutated(l)),
  );
  fc.assert(
    fc.property(line, (l) => {
      const ev = onlyKdropError(() => parseProbeLine(l), [ErrorCodes.TRACER_OUTPUT]);
      if (ev === null || ev instanceof Error) return;
      if (ev.kind === 'sample') {
        const f = ev.flow;
        for (const p of [f.srcPort, f.dstPort]) assert.ok(p === null || (Number.isInteger(p) && p >= 0 && p <= 0xffff));
        for (const n of [f.tcpFlags, f.icmpType, f.icmpCode, f.transport]) assert.ok(n === null || (n >= 0 && n <= 255));
        assert.ok((f.family === null) === (f.srcAddr === null) && (f.srcAddr === null) === (f.dstAddr === null));
        assert.ok(ev.ifname === null || (ev.ifname.length >= 1 && ev.ifname.length <= 15));
        assert.ok(ev.ktimeNs >= 0n && Number.isSafeInteger(ev.stackId));
      } else if (ev.kind === 'stack') {
        assert.ok(ev.addresses.every((a) => a >= 0n && a < 1n << 64n));
      }
    }),
    { numRuns: RUNS * 2 },
  );
});

test('the splitter yields exactly the newline-terminated lines whatever the chunking', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...VALID), { maxLength: 20 }), fc.array(fc.nat({ max: 50 }), { maxLength: 30 }), (lines, cuts) => {
      const text = lines.map((l) => `${l}\n`).join('') + 'D 1 ff';
      const s = new LineSplitter();
      const got: string[] = [];
      let at = 0;
      for (const c of cuts) {
        got.push(...s.push(text.slice(at, at + c)));
        at = Math.min(text.length, at + c);
      }
      got.push(...s.push(text.slice(at)));
      assert.deepEqual(got, lines);
      assert.equal(s.end(), 'D 1 ff');
    }),
    { numRuns: RUNS },
  );
});

test('large input finishes quickly', () => {
  finishesQuickly('parseProbeLine', () => onlyKdropError(() => parseProbeLine(`D ${'1'.repeat(100_000)} ff 3 2048 1 1 1`)));
  finishesQuickly('parseProbeLine', () => onlyKdropError(() => parseProbeLine(`W ${' x'.repeat(50_000)}`)));
  finishesQuickly('parseProbeLine', () => onlyKdropError(() => parseProbeLine(`END 1 ${'a=b '.repeat(25_000)}`)));
  finishesQuickly('parseProbeLine', () => onlyKdropError(() => parseProbeLine(`K 1 ${'ffffffff81000000 '.repeat(10_000)}`)));
  finishesQuickly('parseProbeLine', () => onlyKdropError(() => parseProbeLine(`S ${'1 '.repeat(50_000)}`)));
});
