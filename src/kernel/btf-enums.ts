/**
 * Reads enums from raw BTF (/sys/kernel/btf/vmlinux and modules' split BTF). Only the type section is
 * walked; no libbpf needed.
 */
import { ErrorCodes, KdropError } from '../errors.js';

export const BTF_MAGIC = 0xeb9f;

export const KIND = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export function btfError(what: string, expected: string, found: string): KdropError {
  return new KdropError(ErrorCodes.FORMAT_PARSE, `BTF: ${what}`, { expected, found });
}

/** Bytes that follow a btf_type of this kind with this vlen. */
export function extraBytes(kind: number, vlen: number, at: number): number {
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
