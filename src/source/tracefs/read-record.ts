/**
 * One binary record of the tracefs instance, read with the qdisc join (qdisc-drop.ts) wired in: the
 * kfree_skb record of a qdisc drop takes the reason of the qdisc:qdisc_drop record that came just before
 * it on the same CPU for the same skb.
 */
import { KdropError } from '../../errors.js';
import type { TracepointFormat } from '../../kernel/types.js';
import { logger } from '../../log.js';
import { parseRawRecord, readUnsigned, type ParsedDrop } from './parse.js';
import { QdiscReasonJoin, parseQdiscDropRecord, qdiscDropCode, qdiscDropLayout, type QdiscDropLayout } from './qdisc-drop.js';
import type { RecordLayout } from './record-layout.js';

const log = logger('source.tracefs');

/** How qdisc_drop records are recognised and joined; null when they are not recorded. */
export type QdiscJoin = { readonly layout: QdiscDropLayout; readonly join: QdiscReasonJoin } | null;

/**
 * The qdisc join for a kernel with qdisc:qdisc_drop (its format given), or null when it has no such event,
 * or when kfree_skb lacks skbaddr/reason or the QDISC_DROP reason, or the event's format is unexpected.
 */
export function qdiscJoinFor(format: TracepointFormat, qdiscDropFormat: TracepointFormat | undefined, layout: RecordLayout): QdiscJoin {
  if (qdiscDropFormat === undefined) return null;
  const code = qdiscDropCode(format.reasons);
  if (layout.skbaddr === null || layout.reason === null || code === null) {
    log.info('qdisc:qdisc_drop exists but skb:kfree_skb has no skbaddr/reason or no QDISC_DROP reason: qdisc reasons not joined');
    return null;
  }
  try {
    return { layout: qdiscDropLayout(qdiscDropFormat), join: new QdiscReasonJoin(code) };
  } catch (err) {
    log.info({ err }, 'qdisc:qdisc_drop has an unexpected format: qdisc reasons not joined');
    return null;
  }
}

/**
 * One binary record read on `cpu`: a kfree_skb drop (with its qdisc reason when a qdisc_drop record of
 * the same skb came just before it on this CPU), or null for a qdisc_drop record (remembered for the join).
 */
export function readRecord(record: Uint8Array, cpu: number, layout: RecordLayout, qdisc: QdiscJoin, littleEndian: boolean): ParsedDrop | null | KdropError {
  if (qdisc !== null && record.byteLength >= 2) {
    const type = new DataView(record.buffer, record.byteOffset, record.byteLength).getUint16(0, littleEndian);
    if (type === qdisc.layout.eventId) {
      const q = parseQdiscDropRecord(record, qdisc.layout, littleEndian);
      if (q instanceof KdropError) return q;
      qdisc.join.noteQdiscDrop(cpu, q);
      return null;
    }
  }
  const parsed = parseRawRecord(record, layout, littleEndian);
  if (parsed instanceof KdropError || qdisc === null || layout.skbaddr === null) return parsed;
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const skbaddr = record.byteLength >= layout.skbaddr.offset + layout.skbaddr.size ? readUnsigned(view, layout.skbaddr, littleEndian) : null;
  const reasonCode = qdisc.join.reasonFor(cpu, skbaddr, parsed.reasonCode);
  return reasonCode === parsed.reasonCode ? parsed : { ...parsed, reasonCode };
}
