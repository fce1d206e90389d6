/**
 * Reads enums from raw BTF (/sys/kernel/btf/vmlinux and modules' split BTF): the fallback for core
 * drop-reason names when the kfree_skb print fmt carries no table, and the subsystem drop reasons (since
 * 6.4 the high 16 bits of a reason name a subsystem: enum skb_drop_reason_subsys, and each subsystem's
 * own enum such as ovs_drop_reason, mac80211_drop_reason, qdisc_drop_reason). Only the type section is
 * walked; no libbpf needed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, KdropError } from '../errors.js';
import { logger } from '../log.js';
import type { TracepointFormat } from './types.js';

const log = logger('btf');

const BTF_MAGIC = 0xeb9f;

const KIND = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

function btfError(what: string, expected: string, found: string): KdropError {
  return new KdropError(ErrorCodes.FORMAT_PARSE, `BTF: ${what}`, { expected, found });
}

/** Bytes that follow a btf_type of this kind with this vlen. */
function extraBytes(kind: number, vlen: number, at: number): number {
  switch (kind) {
    case KIND.INT: return 4;
    case KIND.ARRAY: return 12;
    case KIND.STRUCT: case KIND.UNION: return 12 * vlen;
    case KIND.ENUM: return 8 * vlen;
    case KIND.FUNC_PROTO: return 8 * vlen;
    case KIND.VAR: return 4;
    case KIND.DATASEC: return 12 * vlen;
    case KIND.DECL_TAG: return 4;
    case KIND.ENUM64: return 12 * vlen;
    case KIND.PTR: case KIND.FWD: case KIND.TYPEDEF: case KIND.VOLATILE: case KIND.CONST: case KIND.RESTRICT:
    case KIND.FUNC: case KIND.FLOAT: case KIND.TYPE_TAG: return 0;
    default:
      throw btfError(`unknown type kind at byte ${at}`, 'a BTF kind from 1 to 19', String(kind));
  }
}

/** The string section of a base BTF (vmlinux), for reading split BTF (modules) on top of it. */
export interface BtfBase {
  readonly strings: Uint8Array;
}

interface BtfLayout {
  readonly view: DataView;
  readonly le: boolean;
  readonly typeStart: number;
  readonly typeEnd: number;
  readonly strStart: number;
  readonly strLen: number;
}

function layout(data: Uint8Array): BtfLayout {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 24) throw btfError('file too short for a header', 'at least 24 bytes', `${data.byteLength} bytes`);
  let le = true;
  const magic = view.getUint16(0, true);
  if (magic !== BTF_MAGIC) {
    if (view.getUint16(0, false) === BTF_MAGIC) le = false;
    else throw btfError('bad magic', '0xeb9f', `0x${magic.toString(16)}`);
  }
  const u32 = (off: number) => view.getUint32(off, le);
  const hdrLen = u32(4);
  const typeOff = u32(8);
  const typeLen = u32(12);
  const strOff = u32(16);
  const strLen = u32(20);
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  const strStart = hdrLen + strOff;
  if (typeEnd > data.byteLength || strStart + strLen > data.byteLength || hdrLen < 24) {
    throw btfError('sections outside the file', `type and string sections within ${data.byteLength} bytes`, `types ${typeStart}..${typeEnd}, strings ${strStart}..${strStart + strLen}`);
  }
  return { view, le, typeStart, typeEnd, strStart, strLen };
}

/** The string section of a BTF blob: what a split BTF's string offsets below its own section refer to. */
export function btfBase(data: Uint8Array): BtfBase {
  const l = layout(data);
  return { strings: data.subarray(l.strStart, l.strStart + l.strLen) };
}

/**
 * Enumerators of every enum (or enum64) whose name `wanted` accepts, by enum name (value -> enumerator
 * name, first name kept for a repeated value). With `base`, the blob is split BTF (a module's
 * /sys/kernel/btf/<module>): its string offsets continue after the base's string section. Throws
 * FORMAT_PARSE for a blob that is not valid BTF.
 */
export function parseBtfEnums(data: Uint8Array, wanted: (enumName: string) => boolean, base?: BtfBase): Map<string, Map<number, string>> {
  const { view, le, typeStart, typeEnd, strStart, strLen } = layout(data);
  const u32 = (off: number) => view.getUint32(off, le);
  const decoder = new TextDecoder();
  const baseLen = base?.strings.byteLength ?? 0;
  const cstr = (bytes: Uint8Array, from: number, limit: number): string => {
    let end = from;
    while (end < limit && bytes[end] !== 0) end++;
    return decoder.decode(bytes.subarray(from, end));
  };
  const str = (off: number): string => {
    if (base !== undefined && off < baseLen) return cstr(base.strings, off, baseLen);
    const local = off - baseLen;
    if (local >= strLen) throw btfError('string offset outside the string section', `< ${baseLen + strLen}`, String(off));
    return cstr(data, strStart + local, strStart + strLen);
  };
  const found = new Map<string, Map<number, string>>();
  let p = typeStart;
  while (p < typeEnd) {
    if (p + 12 > typeEnd) throw btfError(`truncated type at byte ${p}`, '12 bytes of btf_type', `${typeEnd - p} bytes`);
    const nameOff = u32(p);
    const info = u32(p + 4);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const signed = (info >>> 31) === 1;
    const extra = extraBytes(kind, vlen, p);
    const body = p + 12;
    if (body + extra > typeEnd) throw btfError(`truncated type at byte ${p}`, `${extra} bytes of members`, `${typeEnd - body} bytes`);
    if ((kind === KIND.ENUM || kind === KIND.ENUM64) && nameOff !== 0) {
      const enumName = str(nameOff);
      if (!found.has(enumName) && wanted(enumName)) {
        const result = new Map<number, string>();
        const width = kind === KIND.ENUM ? 8 : 12;
        for (let i = 0; i < vlen; i++) {
          const m = body + i * width;
          const name = str(u32(m));
          let value: number;
          if (kind === KIND.ENUM) value = signed ? view.getInt32(m + 4, le) : u32(m + 4);
          else {
            const v = (BigInt(u32(m + 8)) << 32n) | BigInt(u32(m + 4));
            value = Number(signed ? BigInt.asIntN(64, v) : v);
          }
          if (!result.has(value)) result.set(value, name);
        }
        found.set(enumName, result);
      }
    }
    p = body + extra;
  }
  return found;
}

/**
 * Enumerators of the enum (or enum64) named `enumName` in a raw BTF blob, value -> name. Empty when
 * the blob has no such enum. Throws FORMAT_PARSE for a blob that is not valid BTF.
 */
export function parseBtfEnum(data: Uint8Array, enumName: string, base?: BtfBase): Map<number, string> {
  return parseBtfEnums(data, (n) => n === enumName, base).get(enumName) ?? new Map();
}

/** Reads a raw BTF file and returns the enumerators of `enumName` (value -> name), empty when absent. */
export async function readBtfEnum(path: string, enumName: string): Promise<Map<number, string>> {
  return parseBtfEnum(await readFile(path), enumName);
}

/**
 * Drop-reason names as the tracepoint prints them, from enum skb_drop_reason enumerators: only
 * SKB_DROP_REASON_* (not SKB_NOT_DROPPED_YET, SKB_CONSUMED or the SUBSYS masks), prefix stripped.
 */
export function dropReasonNames(enumerators: ReadonlyMap<number, string>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [value, name] of enumerators) {
    if (!name.startsWith('SKB_DROP_REASON_') || name.startsWith('SKB_DROP_REASON_SUBSYS_')) continue;
    out.set(value, name.slice('SKB_DROP_REASON_'.length));
  }
  return out;
}

/**
 * The reason table to use for a format: its own print-fmt table when it has one; else, when the event has
 * a reason field, the names from BTF enum skb_drop_reason at btfPath (empty when BTF is unreadable).
 */
export async function reasonTableWithBtfFallback(
  format: TracepointFormat,
  btfPath = '/sys/kernel/btf/vmlinux',
): Promise<ReadonlyMap<number, string>> {
  if (format.reasons.size > 0 || !format.fields.some((f) => f.name === 'reason')) return format.reasons;
  try {
    const names = dropReasonNames(await readBtfEnum(btfPath, 'skb_drop_reason'));
    log.debug({ names: names.size, btfPath }, 'drop reason names from BTF');
    return names;
  } catch (err) {
    log.debug({ err, btfPath }, 'no drop reason names from BTF');
    return new Map();
  }
}

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
  let vmlinux: Uint8Array;
  try {
    vmlinux = await readFile(join(btfDir, 'vmlinux'));
  } catch (err) {
    log.debug({ err, btfDir }, 'no vmlinux BTF: no subsystem drop reasons');
    return empty;
  }
  const wanted = (n: string) => n === 'skb_drop_reason_subsys' || isSubsystemEnumName(n);
  const enums = parseBtfEnums(vmlinux, wanted);
  const subsysEnum = enums.get('skb_drop_reason_subsys');
  if (subsysEnum === undefined) return empty;
  const base = btfBase(vmlinux);
  const modules = new Set([...subsystemNames(subsysEnum).values()].map(subsystemModule));
  for (const mod of modules) {
    let data: Uint8Array;
    try {
      data = await readFile(join(btfDir, mod));
    } catch {
      continue; // not a module, or not loaded
    }
    try {
      for (const [name, values] of parseBtfEnums(data, isSubsystemEnumName, base)) if (!enums.has(name)) enums.set(name, values);
    } catch (err) {
      log.debug({ err, module: mod }, 'module BTF unreadable: its drop reasons stay unnamed');
    }
  }
  const decoded = decodeSubsystemReasons(subsysEnum, enums);
  log.debug({ subsystems: [...decoded.subsystems.values()], reasons: decoded.reasons.size }, 'subsystem drop reasons from BTF');
  return decoded;
}

/** The running kernel's reason names: core names by code plus subsystem names by full code. */
export interface KernelReasons {
  /** Every named code: core (from the format or BTF) and subsystem reasons. */
  readonly names: ReadonlyMap<number, string>;
  /** Subsystem id -> name, for naming unknown codes (unknownReasonName). */
  readonly subsystems: ReadonlyMap<number, string>;
}

/**
 * Everything the running kernel says about reason codes: the core table (format, or BTF fallback) and
 * the subsystem reasons from BTF. Null when the tracepoint has no reason field.
 */
export async function readKernelReasons(format: TracepointFormat, btfDir = '/sys/kernel/btf'): Promise<KernelReasons | null> {
  if (!format.fields.some((f) => f.name === 'reason')) return null;
  const core = await reasonTableWithBtfFallback(format, join(btfDir, 'vmlinux'));
  const sub = await readSubsystemReasons(btfDir);
  if (sub.reasons.size === 0) return { names: core, subsystems: sub.subsystems };
  const names = new Map(core);
  for (const [code, name] of sub.reasons) if (!names.has(code)) names.set(code, name);
  return { names, subsystems: sub.subsystems };
}
