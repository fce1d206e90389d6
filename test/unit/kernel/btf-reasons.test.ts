import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { parseBtfEnum, readBtfEnum } from '../../../src/kernel/btf-enums.js';
import { dropReasonNames, reasonTableWithBtfFallback } from '../../../src/kernel/btf-reasons.js';
import { parseFormat } from '../../../src/kernel/format.js';

/** A minimal little-endian BTF blob: an int, a struct with one member, the enum, an enum64. */
function buildBtf(opts: { bigEndian?: boolean } = {}): Uint8Array {
  const le = opts.bigEndian !== true;
  const strings: string[] = [''];
  const strOff = (s: string): number => {
    let off = 0;
    for (const x of strings) {
      if (x === s) return off;
      off += Buffer.byteLength(x) + 1;
    }
    strings.push(s);
    return off;
  };
  const words: number[] = [];
  const type = (name: string, kind: number, vlen: number, sizeOrType: number, signed = false) =>
    words.push(name === '' ? 0 : strOff(name), ((signed ? 1 : 0) << 31 | (kind << 24) | vlen) >>> 0, sizeOrType);
  type('int', 1, 0, 4);
  words.push(0x01000020); // int encoding: signed, 32 bits
  type('pair', 4, 1, 8);
  words.push(strOff('a'), 1, 0);
  type('other_enum', 6, 1, 4);
  words.push(strOff('OTHER'), 7);
  type('skb_drop_reason', 6, 4, 4);
  for (const [n, v] of [['SKB_NOT_DROPPED_YET', 0], ['SKB_DROP_REASON_NOT_SPECIFIED', 2], ['SKB_DROP_REASON_NO_SOCKET', 3], ['SKB_DROP_REASON_SUBSYS_MASK', 0xffff0000]] as const) words.push(strOff(n), v);
  type('signed_enum', 6, 1, 4, true);
  words.push(strOff('NEG'), 0xffffffff);
  type('wide', 19, 1, 8);
  words.push(strOff('BIG'), 5, 1); // 0x1_00000005
  const typeBytes = words.length * 4;
  const strBuf = Buffer.concat(strings.map((s) => Buffer.from(`${s}\0`)));
  const buf = Buffer.alloc(24 + typeBytes + strBuf.length);
  const w16 = (v: number, o: number) => (le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  const w32 = (v: number, o: number) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  w16(0xeb9f, 0);
  buf[2] = 1;
  w32(24, 4);
  w32(0, 8);
  w32(typeBytes, 12);
  w32(typeBytes, 16);
  w32(strBuf.length, 20);
  words.forEach((v, i) => w32(v >>> 0, 24 + i * 4));
  strBuf.copy(buf, 24 + typeBytes);
  return new Uint8Array(buf);
}

test('parseBtfEnum finds enum and enum64 enumerators, both byte orders', () => {
  for (const bigEndian of [false, true]) {
    const btf = buildBtf({ bigEndian });
    assert.deepEqual([...parseBtfEnum(btf, 'skb_drop_reason')], [[0, 'SKB_NOT_DROPPED_YET'], [2, 'SKB_DROP_REASON_NOT_SPECIFIED'], [3, 'SKB_DROP_REASON_NO_SOCKET'], [0xffff0000, 'SKB_DROP_REASON_SUBSYS_MASK']]);
    assert.deepEqual([...parseBtfEnum(btf, 'signed_enum')], [[-1, 'NEG']]);
    assert.deepEqual([...parseBtfEnum(btf, 'wide')], [[0x100000005, 'BIG']]);
    assert.equal(parseBtfEnum(btf, 'absent').size, 0);
  }
  assert.deepEqual([...dropReasonNames(parseBtfEnum(buildBtf(), 'skb_drop_reason'))], [[2, 'NOT_SPECIFIED'], [3, 'NO_SOCKET']]);
});

test('parseBtfEnum: malformed blobs give FORMAT_PARSE', () => {
  const good = buildBtf();
  const bad = (mutate: (b: Uint8Array) => Uint8Array, pattern: RegExp) =>
    assert.throws(() => parseBtfEnum(mutate(good.slice()), 'skb_drop_reason'), (err: unknown) => isKdropError(err, ErrorCodes.FORMAT_PARSE) && pattern.test(err.message));
  bad((b) => b.subarray(0, 10), /too short/);
  bad((b) => { b[0] = 0; return b; }, /bad magic/);
  bad((b) => b.subarray(0, b.length - 20), /sections outside the file/);
  bad((b) => { b[24 + 7] = 0x1f; return b; }, /unknown type kind at byte 24/); // first type's kind = 31
});

test('reasonTableWithBtfFallback: format table first, BTF when the print fmt has none, empty before 5.17', async () => {
  const fixtures = fileURLToPath(new URL('../../../../test/fixtures/kernel/', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-btf-'));
  try {
    const btfPath = join(dir, 'vmlinux');
    await writeFile(btfPath, buildBtf());
    assert.equal((await readBtfEnum(btfPath, 'skb_drop_reason')).size, 4);
    const modern = parseFormat(await readFile(join(fixtures, 'kfree_skb-6.18.format'), 'utf8'));
    assert.equal(await reasonTableWithBtfFallback(modern, btfPath), modern.reasons);
    const noTable = parseFormat((await readFile(join(fixtures, 'kfree_skb-6.18.format'), 'utf8')).replace(/, __print_symbolic\(.*\)$/m, ', REC->reason'));
    assert.deepEqual([...(await reasonTableWithBtfFallback(noTable, btfPath))], [[2, 'NOT_SPECIFIED'], [3, 'NO_SOCKET']]);
    assert.equal((await reasonTableWithBtfFallback(noTable, join(dir, 'missing'))).size, 0);
    const old = parseFormat(await readFile(join(fixtures, 'kfree_skb-5.10.format'), 'utf8'));
    assert.equal((await reasonTableWithBtfFallback(old, btfPath)).size, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
