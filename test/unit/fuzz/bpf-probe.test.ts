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
});
