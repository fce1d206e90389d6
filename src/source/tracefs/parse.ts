/**
 * The pure parser of one binary skb:kfree_skb record from per_cpu/cpuN/trace_pipe_raw (what
 * TracefsSource reads): the event payload inside a ring-buffer page, fields at the offsets the running
 * kernel's format file gives. (Text output of trace_pipe is not parsed: since 6.2 it prints the location
 * as `%pS`, a symbol without an address, and parsing text cost ~3x more CPU per event.)
 */
import { ErrorCodes, KdropError } from '../../errors.js';
import type { FieldSlot, RecordLayout } from './record-layout.js';

export interface ParsedDrop {
  readonly address: bigint;
  /** Raw skb_drop_reason code; null when the kernel has no reason field. */
  readonly reasonCode: number | null;
  /** Ethertype in host order (2048 = IPv4). */
  readonly protocol: number;
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
  return { address, reasonCode, protocol };
}
