/**
 * Reads an enum's enumerators from raw BTF (/sys/kernel/btf/vmlinux): the fallback for drop-reason names
 * when the kfree_skb print fmt carries no table. Only the type section is walked; no libbpf needed.
 */
import { readFile } from 'node:fs/promises';
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

/**
 * Enumerators of the enum (or enum64) named `enumName` in a raw BTF blob, value -> name. Empty when
 * the blob has no such enum. Throws FORMAT_PARSE for a blob that is not valid BTF.
 */
export function parseBtfEnum(data: Uint8Array, enumName: string): Map<number, string> {
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
  const decoder = new TextDecoder();
  const str = (off: number): string => {
    if (off >= strLen) throw btfError('string offset outside the string section', `< ${strLen}`, String(off));
    let end = strStart + off;
    while (end < strStart + strLen && data[end] !== 0) end++;
    return decoder.decode(data.subarray(strStart + off, end));
  };
  const result = new Map<number, string>();
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
    if ((kind === KIND.ENUM || kind === KIND.ENUM64) && nameOff !== 0 && str(nameOff) === enumName) {
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
      return result;
    }
    p = body + extra;
  }
  return result;
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
