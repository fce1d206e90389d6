import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { visitSymbolLines } from '../../../src/symbolize/kallsyms.js';
import { SymbolLineScanner } from '../../../src/symbolize/symbol-line-scanner.js';
import { SymbolTable } from '../../../src/symbolize/symbol-table.js';
import { parseKallsyms, parseSystemMap } from '../../../src/symbolize/kallsyms.js';

type Line = [address: string, type: string, name: string, module: string | null];

/** Scans `text` fed in pieces of `step` bytes; the lines as visitSymbolLines reports them. */
function scan(text: string, allowModules = true, step = Infinity): Line[] {
  const out: Line[] = [];
  const dec = new TextDecoder();
  const s = new SymbolLineScanner('src', allowModules, (buf, hi, lo, type, ns, ne, ms, me) => {
    const address = ((BigInt(hi) << 32n) | BigInt(lo)).toString(16);
    out.push([address, String.fromCharCode(type), dec.decode(buf.subarray(ns, ne)), ms < 0 ? null : dec.decode(buf.subarray(ms, me))]);
  });
  const bytes = new TextEncoder().encode(text);
  // A reused buffer, like the file reader's: the scanner must copy what it keeps.
  const chunk = new Uint8Array(Math.min(bytes.length, step === Infinity ? bytes.length : step));
  for (let i = 0; i < bytes.length; i += chunk.length) {
    const piece = bytes.subarray(i, i + chunk.length);
    chunk.set(piece);
    chunk.fill(0x7a, piece.length);
    s.push(chunk, piece.length);
  }
  assert.equal(s.end(), out.length);
  return out;
}

/** The regex reference, addresses normalized like scan(). */
function reference(text: string, allowModules = true): Line[] {
  const out: Line[] = [];
  visitSymbolLines(text, 'src', allowModules, (addr, type, name, module) => out.push([BigInt(`0x${addr}`).toString(16), type, name, module]));
  return out;
}

/** The error of `f` as [code, message], or null. */
function errorOf(f: () => unknown): [string, string] | null {
  try {
    f();
    return null;
  } catch (err) {
    assert.ok(isKdropError(err), String(err));
    return [err.code, err.message];
  }
}

const sample =
  'ffffffff81000000 T _stext\nffffffff82046a90 T __udp4_lib_rcv\n\n  ffffffffc0a01000 t foo\t[mod]  \r\n' +
  'ffffffffc0a02000 t bpf_prog_6deef7357e7b4530_sd_fw_egress\t[bpf]\nffffffff83000000 d some.data.1\n0 A zero\nabc W w?x';

test('scanner: same lines as the regex parser, in every chunking, with a last line without newline', () => {
  const want = reference(sample);
  assert.equal(want.length, 7);
  assert.deepEqual(want[2], ['ffffffffc0a01000', 't', 'foo', 'mod']);
  for (let step = 1; step <= sample.length; step++) assert.deepEqual(scan(sample, true, step), want, `step ${step}`);
});

test('scanner: malformed lines -> KALLSYMS_PARSE with the line number, like visitSymbolLines', () => {
  for (const [text, line] of [
    ['ffffffff81000000 T _stext\nnot a symbol line\n', 2],
    ['ffffffff81000000 T\n', 1],
    ['\n\nzzzzffff81000000 T x\n', 3],
    ['ffffffff81000000 TT x\n', 1],
    ['ffffffff81000000 T x [mod] extra\n', 1],
    ['ffffffff81000000 T x [mod\n', 1],
    ['ffffffff81000000 T x []\n', 1],
    ['ffffffff81000000 T x [a]b]\n', 1],
    ['ffffffff81000000 1 x\n', 1],
    ['1ffffffff81000000 T x\n', 1],
    ['ffffffff81000000T x\n', 1],
    ['ffffffff81000000 T x y\n', 1],
  ] as const) {
    for (const step of [1, 3, 1000]) {
      const got = errorOf(() => scan(text, true, step));
      assert.ok(got !== null, `${JSON.stringify(text)} should fail`);
      assert.equal(got[0], ErrorCodes.KALLSYMS_PARSE);
      assert.match(got[1], new RegExp(`^src, line ${line}: cannot parse symbol line; .*found "`));
      assert.deepEqual(got, errorOf(() => reference(text)), JSON.stringify(text));
    }
  }
  // Modules are malformed in System.map.
  assert.match(errorOf(() => scan('ffffffff8024c920 t foo\t[mod]\n', false))?.[1] ?? '', /line 1: cannot parse/);
});

test('property: scanner and regex parser agree on arbitrary lines, split anywhere', () => {
  const token = fc.stringMatching(/^[0-9a-fA-Fgxz_.[\]?]{0,18}$/);
  const sep = fc.constantFrom(' ', '\t', '  ', '', ' \t');
  const line = fc.tuple(sep, token, sep, fc.constantFrom('t', 'T', 'w', 'd', '?', '1', 'tt', ''), sep, token, sep, fc.constantFrom('', '[mod]', '[m x]', '[]', '[bpf]', 'x')).map((p) => p.join(''));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 8 }), fc.boolean(), fc.integer({ min: 1, max: 40 }), (lines, allowModules, step) => {
      const text = lines.join('\n');
      let want: Line[] | [string, string] | null;
      try {
        want = reference(text, allowModules);
      } catch {
        want = errorOf(() => reference(text, allowModules));
      }
      let got: Line[] | [string, string] | null;
      try {
        got = scan(text, allowModules, step);
      } catch {
        got = errorOf(() => scan(text, allowModules, step));
      }
      assert.deepEqual(got, want);
    }),
    { numRuns: 2000 },
  );
});

test('SymbolTable.fromText: same table as from(parseKallsyms); all-zero -> KALLSYMS_RESTRICTED', () => {
  const text = 'ffffffff81000000 T _stext\nffffffff81000100 W weak\nffffffff81000100 T __strong\nffffffff81000100 T strong\nffffffff81000200 t end\nffffffffc0001000 t m1\t[modа]\nffffffffc0001100 t m2\t[modа]\n';
  const a = SymbolTable.fromText(text);
  const b = SymbolTable.from(parseKallsyms(text));
  assert.equal(a.size, 5);
  for (const addr of [0xffffffff81000000n, 0xffffffff81000150n, 0xffffffff81000200n, 0xffffffffc0001010n, 0xffffffffc0001100n, 0x10n]) {
    assert.deepEqual(a.resolve(addr), b.resolve(addr));
  }
  assert.deepEqual(a.resolve(0xffffffff81000150n), { function: 'strong', offset: 0x50, size: 0x100, module: null });
  assert.deepEqual(a.resolve(0xffffffffc0001010n), { function: 'm1', offset: 0x10, size: 0x100, module: 'modа' });
  const zeros = '0000000000000000 T _stext\n0 T __udp4_lib_rcv\n';
  assert.throws(() => SymbolTable.fromText(zeros, { kptrRestrict: 2 }), (err: unknown) => {
    assert.ok(isKdropError(err, ErrorCodes.KALLSYMS_RESTRICTED));
    assert.match(err.message, /kptr_restrict=2/);
    return true;
  });
  // System.map: no restriction check, modules are malformed.
  assert.equal(SymbolTable.fromText(zeros, { allowModules: false }).size, 1);
  assert.equal(SymbolTable.fromText('').size, 0);
  const map = 'ffffffff8024c920 t unix_stream_recvmsg\nffffffff8024cea1 t udp_v4_lookup_longway\n';
  assert.deepEqual(SymbolTable.fromText(map, { allowModules: false }).resolve(0xffffffff8024cd0fn), SymbolTable.from(parseSystemMap(map)).resolve(0xffffffff8024cd0fn));
});

test('SymbolTable.fromFile: lines across the 64 KB read boundary, errors with line numbers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-scan-'));
  try {
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) lines.push(`ffffffff${(0x81000000 + i * 0x10).toString(16)} ${i % 7 === 0 ? 'D' : 't'} fn_${i}_${'x'.repeat(i % 23)}${i >= 5000 ? '\t[mod]' : ''}`);
    const text = `${lines.join('\n')}\n`;
    assert.ok(text.length > 3 * 64 * 1024);
    const file = join(dir, 'kallsyms');
    await writeFile(file, text);
    const want = SymbolTable.from(parseKallsyms(text));
    const tables = [await SymbolTable.fromFile(file)];
    for (const t of tables) {
      assert.equal(t.size, want.size);
      for (let i = 0; i < 6000; i += 7) {
        const addr = 0xffffffff81000000n + BigInt(i * 0x10 + 3);
        assert.deepEqual(t.resolve(addr), want.resolve(addr), `symbol ${i}`);
      }
    }
    assert.deepEqual(tables[0]?.resolve(0xffffffff81000013n), { function: 'fn_1_x', offset: 3, size: 0x10, module: null });
    await writeFile(file, `${text}ffffffff9 t\n`);
    const bad = (err: unknown): boolean => isKdropError(err, ErrorCodes.KALLSYMS_PARSE) && err.message.startsWith(`${file}, line 6001: `);
    await assert.rejects(SymbolTable.fromFile(file), bad);
    await writeFile(file, '0000000000000000 T a\n'.repeat(5000));
    await assert.rejects(SymbolTable.fromFile(file, { kptrRestrict: 1 }), (err: unknown) => isKdropError(err, ErrorCodes.KALLSYMS_RESTRICTED) && /5000 symbols/.test(err.message));
    await assert.rejects(SymbolTable.fromFile(join(dir, 'missing')), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SymbolTable: names longer than a name block, many names, an empty name', () => {
  const long = `f${'x'.repeat(600 * 1024)}`;
  const lines = ['ffffffff81000000 t a', `ffffffff81000010 t ${long}`, 'ffffffff81000020 t b'];
  // Enough names to fill several 256 KB blocks around the long one.
  for (let i = 0; i < 30000; i++) lines.push(`ffffffff8${(0x1000100 + i * 16).toString(16)} T name_number_${i}`);
  lines.push(`ffffffff90000000 t ${long}y`, 'ffffffff90000010 t c');
  const t = SymbolTable.fromText(lines.join('\n'));
  assert.equal(t.size, 30005);
  assert.equal(t.resolve(0xffffffff81000001n)?.function, 'a');
  assert.equal(t.resolve(0xffffffff81000011n)?.function, long);
  assert.equal(t.resolve(0xffffffff81000021n)?.function, 'b');
  for (const i of [0, 1, 9999, 16000, 29999]) assert.equal(t.resolve(0xffffffff81000100n + BigInt(i * 16))?.function, `name_number_${i}`);
  assert.equal(t.resolve(0xffffffff90000001n)?.function, `${long}y`);
  assert.equal(t.resolve(0xffffffff90000010n)?.function, 'c');
  const e = SymbolTable.from([
    { address: 0x1000n, name: '', type: 't', module: null },
    { address: 0x1100n, name: 'next', type: 't', module: null },
  ]);
  assert.deepEqual(e.resolve(0x1001n), { function: '', offset: 1, size: 0x100, module: null });
  assert.equal(e.resolve(0x1100n)?.function, 'next');
});
