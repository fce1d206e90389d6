/**
 * Fuzz: /proc/kallsyms and System.map parsers, the symbol table built from them, and address parsing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes } from '../../../src/errors.js';
import { parseKallsyms, parseSystemMap } from '../../../src/symbolize/kallsyms.js';
import { SymbolTable } from '../../../src/symbolize/symbol-table.js';
import { parseAddress } from '../../../src/symbolize/address.js';
import type { KernelSymbol } from '../../../src/symbolize/types.js';
import { finishesQuickly, mutated, onlyKdropError, RUNS, tokenLines } from './fuzz-helpers.js';

const SEED_MAP = 'ffffffff8024c920 t unix_stream_recvmsg\nffffffff8024cea1 t udp_v4_lookup_longway\nffffffff8044b360 t arp_rcv\nffffffff8044b487 t parp_redo\n';
const KALLSYMS = `${SEED_MAP}ffffffffc0001000 t mod_fn\t[kdropmod]\nffffffffc0002000 T mod_fn2\t[kdropmod]\n`;
const TOKENS = ['ffffffff8024c920', '0000000000000000', 'ffffffffffffffff', '1', ' ', '\t', 't', 'T', 'W', '?', 'arp_rcv', '[mod]', '[', ']', '[a b]', '\n', '\r'];

test('kallsyms / System.map: arbitrary text gives symbols or a coded error', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.array(tokenLines(TOKENS), { maxLength: 20 }).map((l) => l.join('\n')), mutated(KALLSYMS)), (text) => {
      const k = onlyKdropError(() => parseKallsyms(text), [ErrorCodes.KALLSYMS_PARSE, ErrorCodes.KALLSYMS_RESTRICTED]);
      if (Array.isArray(k)) for (const s of k) assert.ok(s.address >= 0n && s.address < 1n << 64n);
      onlyKdropError(() => parseSystemMap(text), [ErrorCodes.KALLSYMS_PARSE]);
    }),
    { numRuns: RUNS },
  );
});

test('kallsyms: all-zero addresses are KALLSYMS_RESTRICTED whatever the names', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/), { minLength: 1, maxLength: 30 }), fc.constantFrom(0, 1, 2, null), (names, kr) => {
      const text = names.map((n) => `0000000000000000 t ${n}`).join('\n');
      const r = onlyKdropError(() => parseKallsyms(text, { kptrRestrict: kr }));
      assert.ok(r instanceof Error && 'code' in r && r.code === ErrorCodes.KALLSYMS_RESTRICTED);
      if (kr === 2) assert.match(r.message, /kptr_restrict=2/);
    }),
    { numRuns: 200 },
  );
});

// Kernel text lives in the top 2 GiB (x86-64 -2 GiB model; modules just above): offsets stay exact numbers.
// (Over the whole 64-bit range an offset past 2^53 loses precision in Resolved.offset: a number.)
const KTEXT = 0xffffffff80000000n;
const addrArb = fc.bigInt({ min: KTEXT, max: (1n << 64n) - 1n });
const symbolArb: fc.Arbitrary<KernelSymbol> = fc.record({
  address: addrArb,
  name: fc.stringMatching(/^_{0,3}[a-z][a-z0-9_]{0,10}$/),
  type: fc.constantFrom('t', 'T', 'w', 'W', 'd', 'D', 'b', '?'),
  module: fc.option(fc.constantFrom('a', 'b'), { nil: null }),
});

test('symbol table: any symbols, any address: null or a symbol at or below it with offset < size', () => {
  fc.assert(
    fc.property(fc.array(symbolArb, { maxLength: 40 }), fc.array(fc.oneof(addrArb, fc.bigInt({ min: 0n, max: KTEXT })), { maxLength: 20 }), (symbols, addrs) => {
      const table = SymbolTable.from(symbols);
      const text = symbols.filter((s) => 'tTwW'.includes(s.type));
      for (const a of [...addrs, ...text.map((s) => s.address), ...text.map((s) => s.address + 1n)]) {
        const r = table.resolve(a);
        if (r === null) continue;
        const sym = text.find((s) => s.name === r.function && s.address === a - BigInt(r.offset));
        assert.ok(sym !== undefined, `resolved ${a.toString(16)} to ${r.function}+${r.offset}, which is not one of the symbols`);
        assert.ok(r.offset >= 0);
        if (r.size === null) assert.equal(r.offset, 0);
        else assert.ok(r.offset < r.size);
      }
    }),
    { numRuns: RUNS },
  );
});

test('parseAddress: arbitrary text gives a 64-bit address or BAD_ADDRESS', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^(0[xX])?[0-9a-fA-F]{0,20}$/)), (text) => {
      const r = onlyKdropError(() => parseAddress(text), [ErrorCodes.BAD_ADDRESS]);
      if (typeof r === 'bigint') assert.ok(r >= 0n && r < 1n << 64n);
    }),
    { numRuns: RUNS },
  );
});

test('kallsyms: ~100 KB adversarial lines finish in bounded time', () => {
  const n = 100_000;
  for (const [i, text] of [
    `ffffffff81000000 t ${'a'.repeat(n)} ${' ['.repeat(n / 2)}`,
    `ffffffff81000000 t a${' '.repeat(n)}x`,
    `ffffffff81000000 t a${'\t['.repeat(n / 2)}`,
    `${'f'.repeat(n)} t a`,
    `${'ffffffff81000000 t a\n'.repeat(n / 20)}`,
  ].entries()) {
    finishesQuickly(`kallsyms case ${i}`, () => onlyKdropError(() => parseKallsyms(text)));
    finishesQuickly(`System.map case ${i}`, () => onlyKdropError(() => parseSystemMap(text)));
  }
});

test('SymbolTable.fromText (columnar, what the symbolizer loads) agrees with SymbolTable.from(parseKallsyms(...)) on any text', () => {
  const line = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(addrArb, fc.constantFrom('t', 'T', 'w', 'W', 'd', 'A'), fc.stringMatching(/^_{0,3}[a-z][a-z0-9_]{0,8}$/), fc.option(fc.constantFrom('m1', 'm2'), { nil: null }), fc.boolean()).map(
      ([a, t, n, m, pad]) => `${pad ? a.toString(16).padStart(16, '0') : a.toString(16)} ${t} ${n}${m === null ? '' : `\t[${m}]`}`,
    ) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('t', 'T'), fc.stringMatching(/^[a-z]{1,5}$/)).map(([t, n]) => `0000000000000000 ${t} ${n}`) },
    { weight: 1, arbitrary: tokenLines(TOKENS, 6) },
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), fc.array(fc.oneof(addrArb, fc.bigInt({ min: 0n, max: KTEXT })), { maxLength: 10 }), (lines, addrs) => {
      const text = lines.join('\n');
      const a = onlyKdropError(() => SymbolTable.fromText(text, { kptrRestrict: 2 }));
      const b = onlyKdropError(() => SymbolTable.from(parseKallsyms(text, { kptrRestrict: 2 })));
      if (a instanceof Error || b instanceof Error) {
        assert.ok(a instanceof Error && b instanceof Error, `one failed, the other did not: ${String(a)} / ${String(b)}`);
        assert.equal((a as { code?: string }).code, (b as { code?: string }).code);
        return;
      }
      assert.equal(a.size, b.size);
      for (const x of [...addrs, ...lines.flatMap((l) => (/^[0-9a-f]{1,16} /.test(l) ? [BigInt(`0x${l.split(' ')[0]}`), BigInt(`0x${l.split(' ')[0]}`) + 7n] : []))]) {
        assert.deepEqual(a.resolve(x), b.resolve(x), `address 0x${x.toString(16)}`);
      }
    }),
    { numRuns: RUNS },
  );
  finishesQuickly('fromText on 100 KB junk', () => onlyKdropError(() => SymbolTable.fromText(`ffffffff81000000 t a${' '.repeat(100_000)}x`)));
});
