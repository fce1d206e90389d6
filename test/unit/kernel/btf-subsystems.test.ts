/**
 * Subsystem drop reasons (since 6.4: high 16 bits = enum skb_drop_reason_subsys) decoded from BTF
 * fixtures of kernels without subsystems, with Open vSwitch at id 3 (6.6 .. 6.14) and at id 2 (6.15+),
 * with the Open vSwitch enum in a module's split BTF, and live on this kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { btfBase, parseBtfEnum, parseBtfEnums } from '../../../src/kernel/btf-enums.js';
import { readKernelReasons } from '../../../src/kernel/btf-reasons.js';
import {
  decodeSubsystemReasons, readSubsystemReasons, subsystemModule, subsystemNames, unknownReasonName,
} from '../../../src/kernel/subsystem-reasons.js';
import { parseFormat } from '../../../src/kernel/format.js';
import { describeReason } from '../../../src/enrich/describe.js';
import { reasonClass } from '../../../src/enrich/reason-catalog.js';
import { buildBtf, type EnumSpec } from '../../helpers/btf.js';

const S = 1 << 16;
const core: EnumSpec = { name: 'skb_drop_reason', values: [['SKB_NOT_DROPPED_YET', 0], ['SKB_CONSUMED', 1], ['SKB_DROP_REASON_NOT_SPECIFIED', 2], ['SKB_DROP_REASON_NO_SOCKET', 3], ['SKB_DROP_REASON_MAX', 4], ['SKB_DROP_REASON_SUBSYS_MASK', 0xffff0000]] };
/** 6.6 .. 6.14: MAC80211_MONITOR at 2, OPENVSWITCH at 3. */
const subsys66: EnumSpec = { name: 'skb_drop_reason_subsys', values: [['SKB_DROP_REASON_SUBSYS_CORE', 0], ['SKB_DROP_REASON_SUBSYS_MAC80211_UNUSABLE', 1], ['SKB_DROP_REASON_SUBSYS_MAC80211_MONITOR', 2], ['SKB_DROP_REASON_SUBSYS_OPENVSWITCH', 3], ['SKB_DROP_REASON_SUBSYS_NUM', 4]] };
/** 6.15+: MAC80211_MONITOR gone, OPENVSWITCH at 2 (and net-next's QDISC after it). */
const subsys615: EnumSpec = { name: 'skb_drop_reason_subsys', values: [['SKB_DROP_REASON_SUBSYS_CORE', 0], ['SKB_DROP_REASON_SUBSYS_MAC80211_UNUSABLE', 1], ['SKB_DROP_REASON_SUBSYS_OPENVSWITCH', 2], ['SKB_DROP_REASON_SUBSYS_QDISC', 3], ['SKB_DROP_REASON_SUBSYS_NUM', 4]] };
const mac80211 = (unusable: number, monitor?: number): EnumSpec => ({
  name: 'mac80211_drop_reason',
  values: [['RX_CONTINUE', 1], ['RX_QUEUED', 0], ...(monitor === undefined ? [] : [['RX_DROP_MONITOR', monitor * S], ['RX_DROP_M_UNEXPECTED_4ADDR_FRAME', monitor * S + 1]] as const), ['RX_DROP_UNUSABLE', unusable * S], ['RX_DROP_U_MIC_FAIL', unusable * S + 1], ['___RX_DROP_UNUSABLE', unusable * S + 2]],
});
const ovs = (id: number): EnumSpec => ({ name: 'ovs_drop_reason', values: [['__OVS_DROP_REASON', id * S], ['OVS_DROP_LAST_ACTION', id * S + 1], ['OVS_DROP_ACTION_ERROR', id * S + 2], ['OVS_DROP_METER', id * S + 3], ['OVS_DROP_MAX', id * S + 4]] });
const qdisc: EnumSpec = { name: 'qdisc_drop_reason', values: [['QDISC_DROP_GENERIC', 3 * S + 1], ['QDISC_DROP_OVERLIMIT', 3 * S + 2]] };

async function btfDir(files: Record<string, Uint8Array>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-btfsub-'));
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  return dir;
}

test('subsystem names: prefix stripped, CORE/NUM/MASK left out; module by convention', () => {
  assert.deepEqual([...subsystemNames(new Map(subsys66.values.map(([n, v]) => [v, n])))], [[1, 'MAC80211_UNUSABLE'], [2, 'MAC80211_MONITOR'], [3, 'OPENVSWITCH']]);
  assert.equal(subsystemModule('MAC80211_UNUSABLE'), 'mac80211');
  assert.equal(subsystemModule('OPENVSWITCH'), 'openvswitch');
  assert.equal(subsystemModule('QDISC'), 'qdisc');
});

test('a kernel without subsystems (before 6.4): nothing decoded, codes stay UNKNOWN_<code>', async () => {
  const dir = await btfDir({ vmlinux: buildBtf({ enums: [core] }) });
  try {
    const r = await readSubsystemReasons(dir);
    assert.equal(r.subsystems.size, 0);
    assert.equal(r.reasons.size, 0);
    assert.equal(unknownReasonName(3 * S + 1, r.subsystems), 'UNKNOWN_SUBSYS3_1');
    assert.equal(unknownReasonName(999, r.subsystems), 'UNKNOWN_999');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('6.6-style kernel: mac80211 in vmlinux, Open vSwitch (id 3) in its module\'s split BTF', async () => {
  const vmlinux = buildBtf({ enums: [core, subsys66, mac80211(1, 2)] });
  const module = buildBtf({ enums: [ovs(3)], base: vmlinux });
  // The split blob alone cannot be read: its string offsets point past its own section.
  assert.throws(() => parseBtfEnum(module, 'ovs_drop_reason'), /string offset outside/);
  assert.deepEqual([...parseBtfEnum(module, 'ovs_drop_reason', btfBase(vmlinux))].slice(0, 2), [[3 * S, '__OVS_DROP_REASON'], [3 * S + 1, 'OVS_DROP_LAST_ACTION']]);
  const dir = await btfDir({ vmlinux, openvswitch: module });
  try {
    const r = await readSubsystemReasons(dir);
    assert.deepEqual([...r.subsystems.values()], ['MAC80211_UNUSABLE', 'MAC80211_MONITOR', 'OPENVSWITCH']);
    assert.deepEqual([...r.reasons].sort((a, b) => a[0] - b[0]), [
      [1 * S, 'RX_DROP_UNUSABLE'], [1 * S + 1, 'RX_DROP_U_MIC_FAIL'],
      [2 * S, 'RX_DROP_MONITOR'], [2 * S + 1, 'RX_DROP_M_UNEXPECTED_4ADDR_FRAME'],
      [3 * S + 1, 'OVS_DROP_LAST_ACTION'], [3 * S + 2, 'OVS_DROP_ACTION_ERROR'], [3 * S + 3, 'OVS_DROP_METER'],
    ]);
    assert.equal(r.enums.get(3), 'ovs_drop_reason');
    assert.equal(r.enums.get(1), 'mac80211_drop_reason');
    assert.equal(describeReason(r.reasons, 3 * S + 1, r.subsystems), 'OVS_DROP_LAST_ACTION');
    assert.equal(describeReason(r.reasons, 3 * S + 77, r.subsystems), 'UNKNOWN_OPENVSWITCH_77');
    assert.equal(describeReason(r.reasons, 9 * S + 1, r.subsystems), 'UNKNOWN_SUBSYS9_1');
    assert.equal(reasonClass('OVS_DROP_LAST_ACTION'), 'policy');
    assert.equal(reasonClass('OVS_DROP_METER'), 'congestion');
    assert.equal(reasonClass('RX_DROP_U_MIC_FAIL'), 'error');
    assert.equal(reasonClass('UNKNOWN_OPENVSWITCH_77'), 'unknown');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('6.15-style kernel: Open vSwitch moved to id 2 is decoded by value, not by a static table; qdisc enum in vmlinux', async () => {
  const vmlinux = buildBtf({ enums: [core, subsys615, mac80211(1), qdisc] });
  const dir = await btfDir({ vmlinux, openvswitch: buildBtf({ enums: [ovs(2)], base: vmlinux }) });
  try {
    const r = await readSubsystemReasons(dir);
    assert.deepEqual([...r.subsystems], [[1, 'MAC80211_UNUSABLE'], [2, 'OPENVSWITCH'], [3, 'QDISC']]);
    assert.equal(r.reasons.get(2 * S + 1), 'OVS_DROP_LAST_ACTION');
    assert.equal(r.reasons.get(3 * S + 1), 'QDISC_DROP_GENERIC', 'id 3 is QDISC on this kernel, not Open vSwitch');
    assert.equal(r.reasons.get(3 * S + 2), 'QDISC_DROP_OVERLIMIT');
    assert.equal(reasonClass('QDISC_DROP_OVERLIMIT'), 'congestion');
    assert.equal(r.enums.get(3), 'qdisc_drop_reason');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('module not loaded: its subsystem is known, its codes are UNKNOWN_<SUBSYSTEM>_<n>; a corrupt module is skipped', async () => {
  const vmlinux = buildBtf({ enums: [core, subsys615] });
  const dir = await btfDir({ vmlinux, mac80211: new Uint8Array([1, 2, 3]) });
  try {
    const r = await readSubsystemReasons(dir);
    assert.equal(r.reasons.size, 0);
    assert.equal(unknownReasonName(2 * S + 1, r.subsystems), 'UNKNOWN_OPENVSWITCH_1');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('decodeSubsystemReasons ignores enums of other names and values outside known subsystems', () => {
  const sub = new Map(subsys615.values.map(([n, v]) => [v, n]));
  const enums = new Map([['ovs_drop_reason', new Map([[2 * S + 1, 'OVS_DROP_LAST_ACTION'], [7 * S + 1, 'STRAY']])], ['something_else', new Map([[2 * S + 5, 'NOPE']])]]);
  const r = decodeSubsystemReasons(sub, enums);
  assert.deepEqual([...r.reasons], [[2 * S + 1, 'OVS_DROP_LAST_ACTION']]);
});

test('readKernelReasons: core names from the format plus subsystem names from BTF; null without a reason field', async () => {
  const fixtures = fileURLToPath(new URL('../../../../test/fixtures/kernel/', import.meta.url));
  const modern = parseFormat(await readFile(join(fixtures, 'kfree_skb-6.18.format'), 'utf8'));
  const vmlinux = buildBtf({ enums: [core, subsys615] });
  const dir = await btfDir({ vmlinux, openvswitch: buildBtf({ enums: [ovs(2)], base: vmlinux }) });
  try {
    const k = await readKernelReasons(modern, dir);
    assert.ok(k !== null);
    assert.equal(k.names.get(3), 'NO_SOCKET');
    assert.equal(k.names.get(2 * S + 3), 'OVS_DROP_METER');
    assert.equal(k.names.size, modern.reasons.size + 3);
    const old = parseFormat(await readFile(join(fixtures, 'kfree_skb-5.10.format'), 'utf8'));
    assert.equal(await readKernelReasons(old, dir), null);
    const noBtf = await readKernelReasons(modern, join(dir, 'absent'));
    assert.equal(noBtf?.names, modern.reasons, 'without BTF: the format table as it is');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const LIVE = '/sys/kernel/btf/vmlinux';
test('live: this kernel\'s subsystems from /sys/kernel/btf', { skip: existsSync(LIVE) ? false : 'no /sys/kernel/btf/vmlinux on this kernel' }, async () => {
  const all = parseBtfEnums(await readFile(LIVE), (n) => n === 'skb_drop_reason_subsys');
  const raw = all.get('skb_drop_reason_subsys');
  const r = await readSubsystemReasons('/sys/kernel/btf');
  if (raw === undefined) {
    assert.equal(r.subsystems.size, 0, 'a kernel before 6.4 has no subsystems');
    return;
  }
  // Every named subsystem of the kernel's enum, with the id the kernel gives it.
  for (const [id, name] of r.subsystems) assert.equal(raw.get(id), `SKB_DROP_REASON_SUBSYS_${name}`);
  assert.ok(r.subsystems.size >= 1);
  for (const [code, name] of r.reasons) {
    assert.ok(r.subsystems.has(Math.floor(code / S)), `${name}: subsystem of ${code} is one of the kernel's`);
  }
  const ovsId = [...r.subsystems].find(([, n]) => n === 'OPENVSWITCH')?.[0];
  if (ovsId !== undefined && existsSync('/sys/kernel/btf/openvswitch')) {
    assert.equal(r.reasons.get(ovsId * S + 1), 'OVS_DROP_LAST_ACTION', 'openvswitch module loaded: its enum is decoded');
  } else if (ovsId !== undefined) {
    assert.equal(unknownReasonName(ovsId * S + 1, r.subsystems), 'UNKNOWN_OPENVSWITCH_1');
  }
});
