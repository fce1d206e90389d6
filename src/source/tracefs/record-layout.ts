/**
 * Where the skb:kfree_skb fields lie inside one binary trace record, taken from the running kernel's
 * format file (offsets drift between kernels: rx_sk appeared in 6.11 and moved protocol and reason).
 */
import { ErrorCodes, KdropError } from '../../errors.js';
import type { TracepointField, TracepointFormat } from '../../kernel/types.js';

export interface FieldSlot {
  readonly offset: number;
  readonly size: number;
}

export interface RecordLayout {
  /** The event id (common_type) of skb:kfree_skb in this kernel. */
  readonly eventId: number;
  readonly location: FieldSlot;
  readonly protocol: FieldSlot;
  /** Null on kernels before 5.17, which have no reason field. */
  readonly reason: FieldSlot | null;
  /** The skb's address: only read to join a qdisc:qdisc_drop record with its kfree_skb (qdisc-drop.ts). */
  readonly skbaddr: FieldSlot | null;
  /** The smallest record that holds every field read. */
  readonly minSize: number;
}

const UNSIGNED_SIZES = new Set([1, 2, 4, 8]);

function slot(format: TracepointFormat, name: string, required: true): FieldSlot;
function slot(format: TracepointFormat, name: string, required: false): FieldSlot | null;
function slot(format: TracepointFormat, name: string, required: boolean): FieldSlot | null {
  const field: TracepointField | undefined = format.fields.find((f) => f.name === name);
  if (field === undefined) {
    if (!required) return null;
    throw new KdropError(ErrorCodes.FORMAT_PARSE, `the ${format.name} format has no field "${name}"`, {
      expected: 'fields location and protocol (skb:kfree_skb)',
      found: format.fields.map((f) => f.name).join(', ') || 'no fields',
    });
  }
  if (!UNSIGNED_SIZES.has(field.size) || field.offset < 0) {
    throw new KdropError(ErrorCodes.FORMAT_PARSE, `field "${name}" of ${format.name} has an unusable size or offset`, {
      expected: 'size 1, 2, 4 or 8 at a non-negative offset',
      found: `offset ${field.offset}, size ${field.size}`,
    });
  }
  return { offset: field.offset, size: field.size };
}

export function recordLayout(format: TracepointFormat): RecordLayout {
  const location = slot(format, 'location', true);
  const protocol = slot(format, 'protocol', true);
  const reason = slot(format, 'reason', false);
  const skbaddr = slot(format, 'skbaddr', false);
  const ends = [location, protocol, reason].filter((s): s is FieldSlot => s !== null).map((s) => s.offset + s.size);
  return { eventId: format.id, location, protocol, reason, skbaddr, minSize: Math.max(2, ...ends) };
}
