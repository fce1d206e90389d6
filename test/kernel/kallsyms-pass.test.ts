/**
 * The agent's table-free symbolizer against the real /proc/kallsyms: one streaming pass answers every
 * sampled address (symbol starts, inside symbols, just before them, module symbols) exactly as the
 * SymbolTable built from the same file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { kernelTestSkipReason } from '../helpers/netns.js';
import { resolveInOnePass } from '../../src/symbolize/kallsyms-pass.js';
import { SymbolTable } from '../../src/symbolize/symbol-table.js';

test('real /proc/kallsyms: one pass resolves thousands of addresses exactly as the SymbolTable', { skip: kernelTestSkipReason() ?? false, timeout: 60_000 }, async () => {
  const lines = readFileSync('/proc/kallsyms', 'utf8').split('\n').filter((l) => l !== '');
  const addresses: bigint[] = [];
  const add = (l: string): void => {
    const a = BigInt(`0x${l.split(/\s+/)[0]}`);
    addresses.push(a, a + 1n, a + 0x40n, a > 0n ? a - 1n : a);
  };
  for (let i = 0; i < lines.length; i += 37) add(lines[i]!);
  const moduleLines = lines.filter((l) => l.endsWith(']'));
  for (let i = 0; i < moduleLines.length; i += 3) add(moduleLines[i]!);
  addresses.push(0n, 0xffffffffffffffffn);
  const table = await SymbolTable.fromFile('/proc/kallsyms');
  const got = await resolveInOnePass('/proc/kallsyms', addresses);
  // The file may change between the two reads (a BPF program loaded): compare where both stand still.
  const again = await SymbolTable.fromFile('/proc/kallsyms');
  let compared = 0;
  let resolved = 0;
  for (let i = 0; i < addresses.length; i++) {
    const want = table.resolve(addresses[i]!);
    if (JSON.stringify(want) !== JSON.stringify(again.resolve(addresses[i]!))) continue;
    assert.deepEqual(got[i], want, `0x${addresses[i]!.toString(16)}`);
    compared++;
    if (want !== null) resolved++;
  }
  assert.ok(compared > addresses.length * 0.99, `${compared} of ${addresses.length} compared`);
  assert.ok(resolved > lines.length / 37, `${resolved} resolved`);
});
