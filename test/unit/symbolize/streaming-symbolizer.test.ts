import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { resolveInOnePass } from '../../../src/symbolize/kallsyms-pass.js';
import { StreamingSymbolizer } from '../../../src/symbolize/streaming-symbolizer.js';
import { loadSymbolizer } from '../../../src/symbolize/load.js';

const core = 'ffffffff81000000 T _stext\nffffffff81000100 T foo\nffffffff81000200 T _etext\n';
const withModule = `${core}ffffffffc0001000 t mod_rcv\t[newmod]\nffffffffc0001100 t mod_end\t[newmod]\n`;

async function withProc<T>(text: string, f: (proc: string, set: (t: string) => Promise<void>) => Promise<T>): Promise<T> {
  const proc = await mkdtemp(join(tmpdir(), 'kdrop-stream-'));
  const set = (t: string): Promise<void> => writeFile(join(proc, 'kallsyms'), t);
  try {
    await set(text);
    return await f(proc, set);
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
}

test('resolve() answers only what prepare() resolved; one pass per prepare() with new addresses, none for cached ones', async () => {
  await withProc(core, async (proc) => {
    let passes = 0;
    const file = join(proc, 'kallsyms');
    const s = new StreamingSymbolizer({ pass: async (a) => (passes++, resolveInOnePass(file, a)), now: () => 0 });
    assert.equal(s.resolve(0xffffffff81000110n), null, 'not prepared: no table to look in');
    await s.prepare([0xffffffff81000110n, 0xffffffff81000010n, 0xffffffff81000110n]);
    assert.equal(passes, 1);
    assert.deepEqual(s.resolve(0xffffffff81000110n), { function: 'foo', offset: 0x10, size: 0x100, module: null });
    assert.deepEqual(s.resolve(0xffffffff81000010n), { function: '_stext', offset: 0x10, size: 0x100, module: null });
    await s.prepare([0xffffffff81000110n]);
    await s.prepare([]);
    assert.equal(passes, 1, 'cached: no pass');
    assert.equal(s.passes(), 1);
  });
});

test('a module loaded after start resolves in its first interval; a miss is retried at most once per interval, with a fresh cache', async () => {
  await withProc(core, async (proc, set) => {
    let now = 0;
    const file = join(proc, 'kallsyms');
    const s = new StreamingSymbolizer({ pass: (a) => resolveInOnePass(file, a), now: () => now, minReloadIntervalMs: 10_000 });
    await s.prepare([0x1234n, 0xffffffff81000110n]);
    assert.equal(s.resolve(0x1234n), null);
    await set(withModule);
    // A new address: resolved at once, no waiting for the reload interval.
    await s.prepare([0xffffffffc0001010n]);
    assert.deepEqual(s.resolve(0xffffffffc0001010n), { function: 'mod_rcv', offset: 0x10, size: 0x100, module: 'newmod' });
    assert.equal(s.passes(), 2);
    // The cached miss is not retried before the interval...
    now = 5_000;
    await s.prepare([0x1234n]);
    assert.equal(s.passes(), 2);
    // ...then once: the cache starts afresh with the interval's addresses.
    now = 10_000;
    await s.prepare([0x1234n, 0xffffffff81000110n]);
    assert.equal(s.reloads(), 1);
    assert.equal(s.passes(), 3);
    assert.equal(s.size, 2);
    assert.equal(s.resolve(0xffffffff81000110n)?.function, 'foo');
  });
});

test('a failed pass keeps the cache; the new addresses answer null and are tried again by the next prepare()', async () => {
  await withProc(core, async (proc, set) => {
    const file = join(proc, 'kallsyms');
    const s = new StreamingSymbolizer({ pass: (a) => resolveInOnePass(file, a), now: () => 0 });
    await s.prepare([0xffffffff81000110n]);
    await set('0000000000000000 T _stext\n0000000000000000 T foo\n');
    await s.prepare([0xffffffff81000010n]);
    assert.equal(s.resolve(0xffffffff81000010n), null);
    assert.equal(s.resolve(0xffffffff81000110n)?.function, 'foo', 'cached before the failure');
    await set(core);
    await s.prepare([0xffffffff81000010n]);
    assert.equal(s.resolve(0xffffffff81000010n)?.function, '_stext');
  });
});

test('the cache is bounded: the oldest addresses go, never the ones of the interval being prepared', async () => {
  await withProc(core, async (proc) => {
    const file = join(proc, 'kallsyms');
    const s = new StreamingSymbolizer({ pass: (a) => resolveInOnePass(file, a), now: () => 0, maxCached: 4 });
    const batch1 = [0xffffffff81000001n, 0xffffffff81000002n, 0xffffffff81000003n];
    await s.prepare(batch1);
    const batch2 = [0xffffffff81000101n, 0xffffffff81000102n, 0xffffffff81000003n];
    await s.prepare(batch2);
    assert.equal(s.size, 4);
    for (const a of batch2) assert.notEqual(s.resolve(a), null, `0x${a.toString(16)} of the prepared interval`);
    assert.equal(s.resolve(0xffffffff81000001n), null, 'the oldest went');
  });
});

test('loadSymbolizer({ streaming }) checks kallsyms at start: KALLSYMS_RESTRICTED as with the table', async () => {
  await withProc('0000000000000000 T _stext\n0000000000000000 t foo\n', async (proc) => {
    const paths = { proc, sys: '/nonexistent', tracefs: null };
    await assert.rejects(loadSymbolizer({ paths, streaming: true }), (e) => isKdropError(e, ErrorCodes.KALLSYMS_RESTRICTED));
    await assert.rejects(loadSymbolizer({ paths }), (e) => isKdropError(e, ErrorCodes.KALLSYMS_RESTRICTED));
  });
  await withProc(core, async (proc) => {
    const s = await loadSymbolizer({ paths: { proc, sys: '/nonexistent', tracefs: null }, streaming: true });
    assert.ok(s instanceof StreamingSymbolizer);
    assert.equal(s.resolve(0xffffffff81000110n), null);
    await s.prepare?.([0xffffffff81000110n]);
    assert.equal(s.resolve(0xffffffff81000110n)?.function, 'foo');
  });
});
