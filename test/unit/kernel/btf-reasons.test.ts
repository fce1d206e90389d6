import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { parseBtfEnum } from '../../../src/kernel/btf-enums.js';
import { readBtfEnum } from '../../../src/kernel/btf-file.js';
import { dropReasonNames, reasonTableWithBtfFallback } from '../../../src/kernel/btf-reasons.js';
import { parseFormat } from '../../../src/kernel/format.js';
import { buildBtf as buildBtfBlob } from '../../helpers/btf.js';

/** A minimal BTF blob: an int, a struct with one member, the enum, a signed enum, an enum64. */
function buildBtf(opts: { bigEndian?: boolean } = {}): Uint8Array {
  return buildBtfBlob({
    ...(opts.bigEndian === true ? { bigEndian: true } : {}),
    enums: [
      { name: 'other_enum', values: [['OTHER', 7]] },
      { name: 'skb_drop_reason', values: [['SKB_NOT_DROPPED_YET', 0], ['SKB_DROP_REASON_NOT_SPECIFIED', 2], ['SKB_DROP_REASON_NO_SOCKET', 3], ['SKB_DROP_REASON_SUBSYS_MASK', 0xffff0000]] },
      { name: 'signed_enum', values: [['NEG', -1]], signed: true },
      { name: 'wide', values: [['BIG', 0x1_00000005]], wide: true },
    ],
  });
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
