import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SymbolTable, isTextSymbol, preferSymbol } from '../../../src/symbolize/symbol-table.js';
import type { KernelSymbol, Resolved } from '../../../src/symbolize/types.js';

const sym = (address: bigint, name: string, type = 't', module: string | null = null): KernelSymbol => ({ address, name, type, module });

test('seed example: unix_stream_recvmsg and arp_rcv, unsorted input', () => {
  const t = SymbolTable.from([
    sym(0xffffffff8044b360n, 'arp_rcv'),
    sym(0xffffffff8024c920n, 'unix_stream_recvmsg'),
    sym(0xffffffff8044b487n, 'parp_redo'),
    sym(0xffffffff8024cea1n, 'udp_v4_lookup_longway'),
  ]);
  assert.equal(t.size, 4);
  assert.deepEqual(t.resolve(0xffffffff8024cd0fn), { function: 'unix_stream_recvmsg', offset: 0x3ef, size: 0x581, module: null });
  assert.deepEqual(t.resolve(0xffffffff8044b472n), { function: 'arp_rcv', offset: 0x112, size: 0x127, module: null });
  assert.equal(t.resolve(0xffffffff8024c91fn), null, 'before the first symbol');
  assert.deepEqual(t.resolve(0xffffffff8044b487n), { function: 'parp_redo', offset: 0, size: null, module: null });
  assert.equal(t.resolve(0xffffffff8044b488n), null, 'past the last symbol: no wild offset');
});

test('only text symbols; aliases resolve to the non-weak, least-underscored one', () => {
  const t = SymbolTable.from([
    sym(0x1000n, 'start', 'T'),
    sym(0x1100n, 'data_thing', 'd'),
    sym(0x1200n, '__alias', 'T'),
    sym(0x1200n, 'weak_alias', 'W'),
    sym(0x1200n, 'real_name', 'T'),
    sym(0x1300n, 'end', 'T'),
  ]);
  assert.equal(t.size, 3);
  assert.deepEqual(t.resolve(0x1150n), { function: 'start', offset: 0x150, size: 0x200, module: null });
  assert.equal(t.resolve(0x1210n)?.function, 'real_name');
});

test('module ranges: the last symbol of a module does not swallow the next region', () => {
  const t = SymbolTable.from([
    sym(0xffffffff81000000n, '_stext', 'T'),
    sym(0xffffffff81001000n, '_etext', 'T'),
    sym(0xffffffffc0001000n, 'a_init', 't', 'moda'),
    sym(0xffffffffc0001100n, 'a_rcv', 't', 'moda'),
    sym(0xffffffffc0005000n, 'b_rcv', 't', 'modb'),
    sym(0xffffffffc0005200n, 'b_xmit', 't', 'modb'),
  ]);
  assert.deepEqual(t.resolve(0xffffffffc0001010n), { function: 'a_init', offset: 0x10, size: 0x100, module: 'moda' });
  assert.equal(t.resolve(0xffffffffc0001110n), null, 'past the last symbol of moda');
  assert.equal(t.resolve(0xffffffff90000000n), null, 'between the core kernel and modules');
  assert.deepEqual(t.resolve(0xffffffffc0005004n), { function: 'b_rcv', offset: 4, size: 0x200, module: 'modb' });
  assert.equal(SymbolTable.from([]).resolve(0x1000n), null);
});

/** Brute force: the same rules by linear scan over the raw input. */
function bruteForce(symbols: readonly KernelSymbol[], address: bigint): Resolved | null {
  const text = symbols.map((s, i) => ({ s, i })).filter(({ s }) => isTextSymbol(s));
  let best: { s: KernelSymbol; i: number } | undefined;
  for (const c of text) {
    if (c.s.address > address) continue;
    if (best === undefined || c.s.address > best.s.address || (c.s.address === best.s.address && preferSymbol(c.s, c.i, best.s, best.i) < 0)) best = c;
  }
  if (best === undefined) return null;
  // The next symbol: lowest address above best; among aliases there, the preferred one names it.
  let nextC: { s: KernelSymbol; i: number } | undefined;
  for (const c of text) {
    if (c.s.address <= best.s.address) continue;
    if (nextC === undefined || c.s.address < nextC.s.address || (c.s.address === nextC.s.address && preferSymbol(c.s, c.i, nextC.s, nextC.i) < 0)) nextC = c;
  }
  const next = nextC?.s;
  const offset = address - best.s.address;
  if (next === undefined || next.module !== best.s.module) {
    return offset === 0n ? { function: best.s.name, offset: 0, size: null, module: best.s.module } : null;
  }
  return { function: best.s.name, offset: Number(offset), size: Number(next.address - best.s.address), module: best.s.module };
}

test('property: resolve agrees with a brute-force linear scan', () => {
  const base = 0xffffffff81000000n;
  const symbolArb = fc.record({
    address: fc.bigInt({ min: 0n, max: 0x3000n }).map((o) => base + o),
    name: fc.stringMatching(/^_{0,2}[a-z]{1,4}$/),
    type: fc.constantFrom('t', 'T', 'w', 'W', 'd', 'D', 'r'),
    module: fc.constantFrom(null, null, 'mod1', 'mod2'),
  });
  fc.assert(
    fc.property(fc.array(symbolArb, { maxLength: 40 }), fc.array(fc.bigInt({ min: base - 0x10n, max: base + 0x3010n }), { minLength: 1, maxLength: 20 }), (symbols, addresses) => {
      const t = SymbolTable.from(symbols);
      const extra = symbols.map((s) => s.address);
      for (const a of [...addresses, ...extra]) assert.deepEqual(t.resolve(a), bruteForce(symbols, a));
    }),
    { numRuns: 1000 },
  );
});
