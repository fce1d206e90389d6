/**
 * readBtfEnums (btf-file.ts) walks a BTF file in windows: the same enums as parseBtfEnums on the whole
 * blob, for every window size down to the smallest (records and strings cut at every place), both byte
 * orders, enum64, split BTF on a base read with readBtfBase; FORMAT_PARSE where parseBtfEnums fails; and
 * the running kernel's vmlinux, every enum, compared with the whole-file parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { btfBase, parseBtfEnums } from '../../../src/kernel/btf-enums.js';
import { readBtfBase, readBtfEnums } from '../../../src/kernel/btf-file.js';
import { buildBtf } from '../../helpers/btf.js';

const enums = [
  { name: 'other_enum', values: [['OTHER', 7]] as const },
  { name: 'skb_drop_reason', values: [['SKB_NOT_DROPPED_YET', 0], ['SKB_DROP_REASON_NOT_SPECIFIED', 2], ['SKB_DROP_REASON_NO_SOCKET', 3], ['SKB_DROP_REASON_DUP', 3], ['SKB_DROP_REASON_SUBSYS_MASK', 0xffff0000]] as const },
  { name: 'signed_enum', values: [['NEG', -1]] as const, signed: true },
  { name: 'wide', values: [['BIG', 0x1_00000005], ['A_VERY_LONG_ENUMERATOR_NAME_THAT_CROSSES_SMALL_WINDOWS_OF_THE_STRING_SECTION', 9]] as const, wide: true },
  { name: 'skb_drop_reason', values: [['SECOND_ENUM_OF_THE_SAME_NAME_IS_IGNORED', 1]] as const },
];

const everything = (): boolean => true;
const plain = (m: Map<string, Map<number, string>>): Array<[string, Array<[number, string]>]> => [...m].map(([k, v]) => [k, [...v]]);

async function withFiles<T>(files: Record<string, Uint8Array>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-btf-file-'));
  try {
    for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('readBtfEnums equals parseBtfEnums for every window size, both byte orders', async () => {
  for (const bigEndian of [false, true]) {
    const blob = buildBtf({ enums, ...(bigEndian ? { bigEndian } : {}) });
    await withFiles({ vmlinux: blob }, async (dir) => {
      const whole = plain(parseBtfEnums(blob, everything));
      assert.equal(whole.length, 4);
      for (let chunk = 24; chunk <= blob.length + 1; chunk++) {
        assert.deepEqual(plain(await readBtfEnums(join(dir, 'vmlinux'), everything, undefined, chunk)), whole, `window ${chunk}`);
      }
      assert.deepEqual(plain(await readBtfEnums(join(dir, 'vmlinux'), (n) => n === 'skb_drop_reason')), plain(parseBtfEnums(blob, (n) => n === 'skb_drop_reason')));
    });
  }
});

test('split BTF on a base read with readBtfBase, as on btfBase of the whole blob', async () => {
  const vmlinux = buildBtf({ enums: [{ name: 'skb_drop_reason_subsys', values: [['SKB_DROP_REASON_SUBSYS_CORE', 0], ['SKB_DROP_REASON_SUBSYS_OPENVSWITCH', 3]] }] });
  const module = buildBtf({ base: vmlinux, enums: [{ name: 'ovs_drop_reason', values: [['OVS_DROP_LAST_ACTION', 3 * 65536 + 1], ['SKB_DROP_REASON_SUBSYS_CORE', 5]] }] });
  await withFiles({ vmlinux, openvswitch: module }, async (dir) => {
    const base = await readBtfBase(join(dir, 'vmlinux'));
    assert.deepEqual(Buffer.from(base.strings), Buffer.from(btfBase(vmlinux).strings));
    for (const chunk of [24, 31, 4096]) {
      assert.deepEqual(plain(await readBtfEnums(join(dir, 'openvswitch'), everything, base, chunk)), plain(parseBtfEnums(module, everything, btfBase(vmlinux))));
    }
  });
});

test('readBtfEnums: FORMAT_PARSE where parseBtfEnums fails; an unreadable file rejects with its error', async () => {
  const good = buildBtf({ enums });
  const cases: Array<[(b: Uint8Array) => Uint8Array, RegExp]> = [
    [(b) => b.subarray(0, 10), /too short/],
    [(b) => { b[0] = 0; return b; }, /bad magic/],
    [(b) => b.subarray(0, b.length - 20), /sections outside the file/],
    [(b) => { b[24 + 7] = 0x1f; return b; }, /unknown type kind at byte 24/],
    [(b) => { new DataView(b.buffer, b.byteOffset).setUint32(24 + 12 + 4 + 12 + 12, 0xffffff, true); return b; }, /string offset outside/],
  ];
  for (const [mutate, pattern] of cases) {
    const blob = mutate(good.slice());
    assert.throws(() => parseBtfEnums(blob, everything), (e: unknown) => isKdropError(e, ErrorCodes.FORMAT_PARSE) && pattern.test(e.message));
    await withFiles({ bad: blob }, async (dir) => {
      await assert.rejects(readBtfEnums(join(dir, 'bad'), everything, undefined, 24), (e: unknown) => isKdropError(e, ErrorCodes.FORMAT_PARSE) && pattern.test(e.message), String(pattern));
    });
  }
  await assert.rejects(readBtfEnums('/nonexistent/kdrop/btf', everything), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
});

const LIVE = '/sys/kernel/btf/vmlinux';
test('live: every enum of this kernel\'s vmlinux, as the whole-file parse finds them', { skip: existsSync(LIVE) ? false : 'no /sys/kernel/btf/vmlinux on this kernel' }, async () => {
  const whole = plain(parseBtfEnums(await readFile(LIVE), everything));
  assert.ok(whole.length > 100, `${whole.length} enums`);
  assert.deepEqual(plain(await readBtfEnums(LIVE, everything)), whole);
  assert.deepEqual(plain(await readBtfEnums(LIVE, (n) => n.endsWith('drop_reason'), undefined, 4096)), plain(parseBtfEnums(await readFile(LIVE), (n) => n.endsWith('drop_reason'))));
});
