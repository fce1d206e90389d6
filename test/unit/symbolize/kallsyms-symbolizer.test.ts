import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { KallsymsSymbolizer } from '../../../src/symbolize/kallsyms-symbolizer.js';
import { parseKallsyms } from '../../../src/symbolize/kallsyms.js';
import { SymbolTable } from '../../../src/symbolize/symbol-table.js';

const core = 'ffffffff81000000 T _stext\nffffffff81000100 T foo\nffffffff81000200 T _etext\n';
const withModule = `${core}ffffffffc0001000 t mod_rcv\t[newmod]\nffffffffc0001100 t mod_end\t[newmod]\n`;

test('prepare() reloads when an address is outside known text, at most once per interval; resolve() never reloads', async () => {
  let now = 0;
  let text = core;
  let loads = 0;
  const reload = async () => {
    loads++;
    return SymbolTable.from(parseKallsyms(text));
  };
  const s = new KallsymsSymbolizer(await reload(), { reload, now: () => now, minReloadIntervalMs: 10_000 });
  loads = 0;
  assert.equal(s.resolve(0xffffffff81000110n)?.function, 'foo');
  // Module loads after start; too early to reload: null, no reload.
  text = withModule;
  now = 5_000;
  await s.prepare([0xffffffffc0001010n]);
  assert.equal(s.resolve(0xffffffffc0001010n), null);
  assert.equal(s.reloads(), 0);
  assert.equal(loads, 0);
  // resolve() alone never reloads, however late.
  now = 10_000;
  assert.equal(s.resolve(0xffffffffc0001010n), null);
  assert.equal(loads, 0);
  // prepare() with known addresses only: nothing to learn, no reload.
  await s.prepare([0xffffffff81000110n]);
  assert.equal(loads, 0);
  // After the interval, prepare() with the unknown address reloads once and resolve() finds it.
  await s.prepare([0xffffffff81000110n, 0xffffffffc0001010n, 0x1234n]);
  assert.deepEqual(s.resolve(0xffffffffc0001010n), { function: 'mod_rcv', offset: 0x10, size: 0x100, module: 'newmod' });
  assert.equal(s.reloads(), 1);
  // Another miss right after: no second reload.
  now = 12_000;
  await s.prepare([0x1234n]);
  assert.equal(s.resolve(0x1234n), null);
  assert.equal(loads, 1);
  // Cached hits do not reload either.
  now = 50_000;
  await s.prepare([0xffffffff81000110n]);
  assert.equal(s.resolve(0xffffffff81000110n)?.offset, 0x10);
  assert.equal(loads, 1);
});

test('a failed reload keeps the previous table', async () => {
  let now = 0;
  let fail = false;
  const reload = async () => {
    if (fail) throw new Error('boom');
    return SymbolTable.from(parseKallsyms(core));
  };
  const s = new KallsymsSymbolizer(await reload(), { reload, now: () => now });
  fail = true;
  now = 20_000;
  await s.prepare([0x10n]);
  assert.equal(s.resolve(0x10n), null);
  assert.equal(s.reloads(), 0);
  assert.equal(s.resolve(0xffffffff81000100n)?.function, 'foo');
});

test('load() reads proc/kallsyms; zero addresses -> KALLSYMS_RESTRICTED with the kptr_restrict value', async () => {
  const proc = await mkdtemp(join(tmpdir(), 'kdrop-ksyms-'));
  try {
    await mkdir(join(proc, 'sys', 'kernel'), { recursive: true });
    await writeFile(join(proc, 'sys', 'kernel', 'kptr_restrict'), '2\n');
    await writeFile(join(proc, 'kallsyms'), withModule);
    const s = await KallsymsSymbolizer.load({ proc, sys: '/sys', tracefs: null });
    assert.equal(s.size, 5);
    assert.equal(s.resolve(0xffffffff81000101n)?.function, 'foo');
    await writeFile(join(proc, 'kallsyms'), '0000000000000000 T _stext\n0000000000000000 T foo\n');
    await assert.rejects(KallsymsSymbolizer.load({ proc, sys: '/sys', tracefs: null }), (err: unknown) => {
      assert.ok(isKdropError(err, ErrorCodes.KALLSYMS_RESTRICTED));
      assert.match(err.message, /kptr_restrict=2/);
      return true;
    });
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
});
