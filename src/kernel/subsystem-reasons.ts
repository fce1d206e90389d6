/**
 * Subsystem drop reasons: since 6.4 the high 16 bits of a reason name a subsystem (enum
 * skb_drop_reason_subsys), and each subsystem has its own enum (ovs_drop_reason, mac80211_drop_reason,
 * qdisc_drop_reason), read from vmlinux BTF and the subsystem's module BTF.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../log.js';
import { isKdropError } from '../errors.js';
import { parseBtfEnums, type BtfBase } from './btf-enums.js';
import { readBtfBase, readBtfEnums } from './btf-file.js';

const log = logger('btf');

/** Since 6.4 a reason's high 16 bits name its subsystem (SKB_DROP_REASON_SUBSYS_SHIFT). */
export const SUBSYS_SHIFT = 16;
const SUBSYS_PREFIX = 'SKB_DROP_REASON_SUBSYS_';

/** The subsystem id of a reason code (0 = core). */
export function subsystemOf(code: number): number {
  return Math.floor(code / 2 ** SUBSYS_SHIFT);
}

/**
 * Subsystem ids -> names from `enum skb_drop_reason_subsys` (MAC80211_UNUSABLE, OPENVSWITCH, QDISC, ...):
 * prefix stripped; CORE (0), the NUM count and MASK left out.
 */
export function subsystemNames(subsysEnum: ReadonlyMap<number, string>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [value, name] of subsysEnum) {
    if (!name.startsWith(SUBSYS_PREFIX)) continue;
    const short = name.slice(SUBSYS_PREFIX.length);
    if (value <= 0 || value >= 2 ** SUBSYS_SHIFT || short === 'NUM' || short === 'MASK' || short === 'CORE') continue;
    out.set(value, short);
  }
  return out;
}

/**
 * The kernel module that by convention holds a subsystem's enum: the subsystem name's first word in lower
 * case (MAC80211_UNUSABLE -> mac80211, OPENVSWITCH -> openvswitch, QDISC -> qdisc).
 */
export function subsystemModule(subsystem: string): string {
  return (subsystem.split('_')[0] ?? subsystem).toLowerCase();
}

/** Subsystem enums are named `<something>_drop_reason` (ovs_drop_reason, mac80211_drop_reason, qdisc_drop_reason). */
export function isSubsystemEnumName(enumName: string): boolean {
  return enumName.endsWith('_drop_reason') && enumName !== 'skb_drop_reason';
}

export interface SubsystemReasons {
  /** Subsystem id -> name (OPENVSWITCH); empty on kernels before 6.4. */
  readonly subsystems: ReadonlyMap<number, string>;
  /** Full reason code (subsystem << 16 | n) -> the enumerator's name as the kernel spells it (OVS_DROP_LAST_ACTION). */
  readonly reasons: ReadonlyMap<number, string>;
  /** Subsystem id -> the enum its names came from (ovs_drop_reason). */
  readonly enums: ReadonlyMap<number, string>;
}

/**
 * Assigns the enumerators of subsystem enums to subsystems by value: each enumerator's high 16 bits are
 * its subsystem id on the kernel that was built with it, so renumbered subsystems (Open vSwitch went
 * from 3 to 2 around 6.15) decode correctly. Markers (`__OVS_DROP_REASON`, `*_MAX`, `*_NUM`) and values
 * of subsystem 0 (mac80211's RX_CONTINUE, RX_QUEUED) are not reasons and are left out.
 */
export function decodeSubsystemReasons(
  subsysEnum: ReadonlyMap<number, string>,
  enums: ReadonlyMap<string, ReadonlyMap<number, string>>,
): SubsystemReasons {
  const subsystems = subsystemNames(subsysEnum);
  const reasons = new Map<number, string>();
  const from = new Map<number, string>();
  for (const [enumName, values] of enums) {
    if (!isSubsystemEnumName(enumName)) continue;
    for (const [value, name] of values) {
      const id = subsystemOf(value);
      if (value < 0 || !subsystems.has(id) || name.startsWith('__') || /_(MAX|NUM)$/.test(name)) continue;
      if (!reasons.has(value)) reasons.set(value, name);
      if (!from.has(id)) from.set(id, enumName);
    }
  }
  return { subsystems, reasons, enums: from };
}

/**
 * The name kdrop gives a code the running kernel does not name: `UNKNOWN_<code>` for a core code,
 * `UNKNOWN_<SUBSYSTEM>_<n>` for a subsystem it knows with an unnamed reason n, `UNKNOWN_SUBSYS<id>_<n>`
 * for a subsystem it does not know. The raw code is always kept beside the name.
 */
export function unknownReasonName(code: number, subsystems: ReadonlyMap<number, string> = new Map()): string {
  const id = subsystemOf(code);
  if (id === 0 || code < 0) return `UNKNOWN_${code}`;
  const n = code % 2 ** SUBSYS_SHIFT;
  const name = subsystems.get(id);
  return name === undefined ? `UNKNOWN_SUBSYS${id}_${n}` : `UNKNOWN_${name}_${n}`;
}

/**
 * Reads the subsystem reasons of the running kernel from BTF: `enum skb_drop_reason_subsys` and the
 * `*_drop_reason` enums of vmlinux, plus, for each subsystem, the module named by convention
 * (`${btfDir}/openvswitch`, split BTF on top of vmlinux) when it is loaded. Empty when the kernel has
 * no subsystems (before 6.4) or no BTF; a module that cannot be read is skipped (logged at debug).
 */
export async function readSubsystemReasons(btfDir = '/sys/kernel/btf'): Promise<SubsystemReasons> {
  const empty: SubsystemReasons = { subsystems: new Map(), reasons: new Map(), enums: new Map() };
  const vmlinux = join(btfDir, 'vmlinux');
  const wanted = (n: string) => n === 'skb_drop_reason_subsys' || isSubsystemEnumName(n);
  let enums: Map<string, Map<number, string>>;
  try {
    // Walked in place (btf-file.ts): the 5.5 MB file is never held whole.
    enums = await readBtfEnums(vmlinux, wanted);
  } catch (err) {
    if (isKdropError(err)) throw err;
    log.debug({ err, btfDir }, 'no vmlinux BTF: no subsystem drop reasons');
    return empty;
  }
  const subsysEnum = enums.get('skb_drop_reason_subsys');
  if (subsysEnum === undefined) return empty;
  let base: BtfBase | null = null;
  const modules = new Set([...subsystemNames(subsysEnum).values()].map(subsystemModule));
  for (const mod of modules) {
    let data: Uint8Array;
    try {
      data = await readFile(join(btfDir, mod));
    } catch {
      continue; // not a module, or not loaded
    }
    try {
      base ??= await readBtfBase(vmlinux);
      for (const [name, values] of parseBtfEnums(data, isSubsystemEnumName, base)) if (!enums.has(name)) enums.set(name, values);
    } catch (err) {
      log.debug({ err, module: mod }, 'module BTF unreadable: its drop reasons stay unnamed');
    }
  }
  const decoded = decodeSubsystemReasons(subsysEnum, enums);
  log.debug({ subsystems: [...decoded.subsystems.values()], reasons: decoded.reasons.size }, 'subsystem drop reasons from BTF');
  return decoded;
}
