import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { resolveInOnePass } from '../../../src/symbolize/kallsyms-pass.js';
import { SymbolTable } from '../../../src/symbolize/symbol-table.js';

async function withFile<T>(text: string, f: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-pass-'));
  try {
    const file = join(dir, 'kallsyms');
    await writeFile(file, text);
    return await f(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const hex = (a: bigint): string => a.toString(16).padStart(16, '0');

test('one pass gives what the table gives: aliases, weak symbols, modules, the last symbol of a region, unsorted lines', async () => {
  const text = [
    `${hex(0xffffffffc0001000n)} t mod_rcv\t[newmod]`,
    `${hex(0xffffffff81000000n)} T _stext`,
    `${hex(0xffffffff81000100n)} W weak_alias`,
    `${hex(0xffffffff81000100n)} T __alias`,
    `${hex(0xffffffff81000100n)} T real_name`,
    `${hex(0xffffffff81000180n)} d some_data`,
    `${hex(0xffffffff81000200n)} T _etext`,
    `${hex(0xffffffffc0001100n)} t mod_end\t[newmod]`,
    `${hex(0xffffffffc0002000n)} t other_fn\t[othermod]`,
    '',
  ].join('\n');
  const table = SymbolTable.fromText(text);
  const addresses = [0xffffffff80ffffffn, 0xffffffff81000000n, 0xffffffff81000101n, 0xffffffff81000190n, 0xffffffff81000200n, 0xffffffff81000201n, 0xffffffffc0001010n, 0xffffffffc0001100n, 0xffffffffc0001101n, 0xffffffffc0002000n, 0xffffffffc0001010n];
  const got = await withFile(text, (file) => resolveInOnePass(file, addresses));
  assert.deepEqual(got, addresses.map((a) => table.resolve(a)));
  assert.deepEqual(got[2], { function: 'real_name', offset: 1, size: 0x100, module: null });
  assert.deepEqual(got[6], { function: 'mod_rcv', offset: 0x10, size: 0x100, module: 'newmod' });
  assert.equal(got[8], null, 'past the last symbol of newmod (othermod follows): no wild offset');
  assert.deepEqual(got[9], { function: 'other_fn', offset: 0, size: null, module: 'othermod' });
  assert.deepEqual(got[10], got[6], 'duplicates answered in place');
});

test('property: for random symbol files and addresses, one pass answers exactly as SymbolTable', async () => {
  const line = fc.record({
    addr: fc.bigInt({ min: 0xffffffff81000000n, max: 0xffffffff81000040n }),
    type: fc.constantFrom('t', 'T', 'w', 'W', 'd', 'b'),
    name: fc.constantFrom('f', '_f', '__f', 'g', '_g', 'h'),
    module: fc.constantFrom(null, null, 'ma', 'mb'),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 25 }), fc.array(fc.bigInt({ min: 0xffffffff80fffff0n, max: 0xffffffff81000050n }), { maxLength: 30 }), async (lines, addresses) => {
      const text = lines.map((l, i) => `${hex(l.addr)} ${l.type} ${l.name}${i}${l.module === null ? '' : `\t[${l.module}]`}`).join('\n');
      const table = SymbolTable.fromText(text);
      const got = await withFile(text, (file) => resolveInOnePass(file, addresses));
      assert.deepEqual(got, addresses.map((a) => table.resolve(a)));
    }),
    { numRuns: 150 },
  );
});

test('an all-zero kallsyms fails the pass with KALLSYMS_RESTRICTED, even with no address to resolve; a bad line with KALLSYMS_PARSE', async () => {
  const zeros = '0000000000000000 T _stext\n0000000000000000 t foo\t[mod]\n';
  await withFile(zeros, async (file) => {
    await assert.rejects(resolveInOnePass(file, [], { kptrRestrict: 2, source: '/proc/kallsyms' }), (e) => isKdropError(e, ErrorCodes.KALLSYMS_RESTRICTED) && /kptr_restrict=2/.test(e.message));
  });
  await withFile('ffffffff81000000 T _stext\nnot a symbol line\n', async (file) => {
    await assert.rejects(resolveInOnePass(file, [0xffffffff81000000n]), (e) => isKdropError(e, ErrorCodes.KALLSYMS_PARSE) && /line 2/.test(e.message));
  });
});
