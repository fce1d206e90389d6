/**
 * Pure parsers for skb:kfree_skb output: one binary record from per_cpu/cpuN/trace_pipe_raw (what
 * TracefsSource reads), and one text line of trace_pipe (kept for other kernels' text output, for
 * diagnostics and as tested knowledge of what each kernel generation prints).
 *
 * Text output by kernel generation (print fmt of skb:kfree_skb):
 * - before 5.17:  `skbaddr=%p protocol=%u location=%p`
 * - 5.17 .. 6.1:  `skbaddr=%p protocol=%u location=%p reason: %s`; %p is hashed (`00000000` + 32-bit
 *   id) unless the instance option hash-ptr is 0 (exists since 5.12), then it is the raw address.
 * - 6.2 and later: `... location=%pS reason: %s` (`__udp4_lib_rcv+0x4bc/0xd00`), 6.11 adds rx_sk. A
 *   symbol+offset carries no address; the `fields` option (6.x) prints every field as
 *   `name=<value> (<decimal>)`, which does.
 * Lines of other events, comments and blank lines are `other`; `CPU:N [LOST M EVENTS]` is `lost`.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import type { TracepointFormat } from '../../kernel/types.js';
import type { FieldSlot, RecordLayout } from './record-layout.js';

export interface ParsedDrop {
  readonly kind: 'drop';
  readonly address: bigint;
  /** Raw skb_drop_reason code; null when the kernel has no reason or printed a name we cannot map. */
  readonly reasonCode: number | null;
  /** A printed reason name that is not in the format's reasons table (kept, never invented). */
  readonly reasonName: string | null;
  /** Ethertype in host order (2048 = IPv4). */
  readonly protocol: number;
}

export interface ParsedLost {
  readonly kind: 'lost';
  readonly cpu: number;
  readonly count: number;
}

export interface ParsedOther {
  readonly kind: 'other';
}

export type TraceLine = ParsedDrop | ParsedLost | ParsedOther;

export interface TextContext {
  /** The event name as printed before the fields (`kfree_skb`). */
  readonly eventName: string;
  /** Reason name -> code, from the format's __print_symbolic table. */
  readonly reasonCodes: ReadonlyMap<string, number>;
  /** Pointer size in bytes (size of the location field), to read signed decimals as addresses. */
  readonly pointerSize: number;
  /** The format has a reason field, so every line must print one. */
  readonly hasReason: boolean;
}

export function textContext(format: TracepointFormat): TextContext {
  return {
    eventName: format.name,
    reasonCodes: reasonCodesByName(format.reasons),
    pointerSize: format.fields.find((f) => f.name === 'location')?.size ?? 8,
    hasReason: format.fields.some((f) => f.name === 'reason'),
  };
}

/** Inverts the format's code -> name table (names without the SKB_DROP_REASON_ prefix). */
export function reasonCodesByName(reasons: ReadonlyMap<number, string>): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [code, name] of reasons) if (!byName.has(name)) byName.set(name, code);
  return byName;
}

/** Maps a printed reason (`NO_SOCKET`, `SKB_DROP_REASON_NO_SOCKET`, `0x3`, `3`) to its code. */
export function reasonFromText(text: string, reasonCodes: ReadonlyMap<string, number>): { code: number | null; name: string | null } {
  if (/^0x[0-9a-f]+$/i.test(text)) return { code: Number.parseInt(text.slice(2), 16), name: null };
  if (/^\d+$/.test(text)) return { code: Number(text), name: null };
  const name = text.startsWith('SKB_DROP_REASON_') ? text.slice('SKB_DROP_REASON_'.length) : text;
  const code = reasonCodes.get(name);
  return code === undefined ? { code: null, name } : { code, name: null };
}

const LOST_RE = /^CPU:(\d+) \[LOST (\d+) EVENTS\]$/;
const HEX_PTR_RE = /^(?:0x)?([0-9a-f]+)$/i;

function bad(message: string, found: string, hint?: string): KdropError {
  return new KdropError(ErrorCodes.TRACER_OUTPUT, message, {
    expected: 'a skb:kfree_skb trace line with a numeric location and protocol',
    found: excerpt(found),
    ...(hint === undefined ? {} : { hint }),
  });
}

/** Splits `a=1 b=x (2) reason: NAME` into named values; a `(decimal)` after a value is kept apart. */
function splitFields(body: string): Map<string, { text: string; decimal: string | null }> {
  const out = new Map<string, { text: string; decimal: string | null }>();
  // (?<!\w): a name starts at a word start; without it a long word is retried from every letter (quadratic).
  const re = /(?<!\w)(\w+)(?:=|: )(\S*)(?: \((-?\d+)\))?/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    const name = m[1];
    if (name !== undefined && !out.has(name)) out.set(name, { text: m[2] ?? '', decimal: m[3] ?? null });
  }
  return out;
}

function parseAddress(value: { text: string; decimal: string | null }, pointerSize: number, line: string): bigint | KdropError {
  const bits = pointerSize * 8;
  if (value.decimal !== null) return BigInt.asUintN(bits, BigInt(value.decimal));
  const hex = HEX_PTR_RE.exec(value.text)?.[1];
  if (hex === undefined) {
    return bad('the location is printed as a symbol, not as an address', line,
      'read per_cpu/cpuN/trace_pipe_raw, or set the instance option "fields" to 1 where it exists');
  }
  if (hex.length > pointerSize * 2) return bad('the location does not fit a pointer', line);
  const address = BigInt(`0x${hex}`);
  // A hashed %p on 64-bit kernels is a 32-bit id printed with 8 leading zeros; kernel text never is.
  if (pointerSize === 8 && hex.length === 16 && address >> 32n === 0n) {
    return bad('the location is a hashed pointer', line, 'set the instance option hash-ptr to 0, or read trace_pipe_raw');
  }
  return address;
}

function parseNumber(value: { text: string; decimal: string | null }): number | null {
  if (value.decimal !== null) return Number(value.decimal);
  if (/^\d+$/.test(value.text)) return Number(value.text);
  if (/^0x[0-9a-f]+$/i.test(value.text)) return Number.parseInt(value.text.slice(2), 16);
  return null;
}

/** Parses one line of trace_pipe text. */
export function parseTraceLine(rawLine: string, ctx: TextContext): TraceLine | KdropError {
  const line = rawLine.trimEnd();
  if (line.trim() === '' || line.trimStart().startsWith('#')) return { kind: 'other' };
  const lost = LOST_RE.exec(line.trim());
  if (lost !== null) return { kind: 'lost', cpu: Number(lost[1]), count: Number(lost[2]) };
  // `comm-pid [cpu] flags timestamp: event: fields`; comm may hold spaces, so anchor on the event name.
  const marker = `: ${ctx.eventName}: `;
  const at = line.indexOf(marker);
  if (at < 0) {
    // trimStart() instead of a leading \s*: `^\s*.+` backtracks quadratically over leading blanks.
    return /^.+-\d+\s+(?:\(\s*[\d-]+\)\s+)?\[\d+\]/.test(line.trimStart()) ? { kind: 'other' } : bad('unrecognised trace line', line);
  }
  const fields = splitFields(line.slice(at + marker.length));
  const location = fields.get('location');
  const protocolValue = fields.get('protocol');
  if (location === undefined || protocolValue === undefined) return bad('the line lacks location or protocol', line);
  const address = parseAddress(location, ctx.pointerSize, line);
  if (address instanceof KdropError) return address;
  const protocol = parseNumber(protocolValue);
  if (protocol === null || protocol > 0xffff) return bad('the protocol is not a 16-bit number', line);
  const reasonValue = fields.get('reason');
  if (reasonValue === undefined && ctx.hasReason) return bad('the line lacks the reason', line);
  if (reasonValue === undefined) return { kind: 'drop', address, reasonCode: null, reasonName: null, protocol };
  if (reasonValue.decimal !== null) return { kind: 'drop', address, reasonCode: Number(reasonValue.decimal), reasonName: null, protocol };
  if (reasonValue.text === '') return bad('the reason is empty', line);
  const reason = reasonFromText(reasonValue.text, ctx.reasonCodes);
  return { kind: 'drop', address, reasonCode: reason.code, reasonName: reason.name, protocol };
}

export function readUnsigned(view: DataView, at: FieldSlot, littleEndian: boolean): bigint {
  switch (at.size) {
    case 1:
      return BigInt(view.getUint8(at.offset));
    case 2:
      return BigInt(view.getUint16(at.offset, littleEndian));
    case 4:
      return BigInt(view.getUint32(at.offset, littleEndian));
    default:
      return view.getBigUint64(at.offset, littleEndian);
  }
}

/**
 * Parses one binary record (the event payload inside a ring-buffer page: common_type first, then the
 * fields at the offsets of the format file).
 */
export function parseRawRecord(record: Uint8Array, layout: RecordLayout, littleEndian: boolean): ParsedDrop | KdropError {
  const hexStart = Buffer.from(record.subarray(0, 16)).toString('hex');
  if (record.byteLength < layout.minSize) {
    return new KdropError(ErrorCodes.TRACER_OUTPUT, 'a binary trace record is too short', {
      expected: `at least ${layout.minSize} bytes`,
      found: `${record.byteLength} bytes (${hexStart})`,
    });
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const type = view.getUint16(0, littleEndian);
  if (type !== layout.eventId) {
    return new KdropError(ErrorCodes.TRACER_OUTPUT, 'a binary trace record of another event', {
      expected: `event id ${layout.eventId} (skb:kfree_skb)`,
      found: `event id ${type} (${hexStart})`,
    });
  }
  const address = readUnsigned(view, layout.location, littleEndian);
  const protocol = Number(readUnsigned(view, layout.protocol, littleEndian));
  const reasonCode = layout.reason === null ? null : Number(readUnsigned(view, layout.reason, littleEndian));
  return { kind: 'drop', address, reasonCode, reasonName: null, protocol };
}
