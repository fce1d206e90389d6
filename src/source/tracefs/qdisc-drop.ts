/**
 * qdisc:qdisc_drop: the tracepoint that carries a qdisc's own drop reason (enum qdisc_drop_reason, the
 * QDISC subsystem of skb drop reasons). It is not in Linux 6.18; in net-next, __tcf_kfree_skb_list()
 * fires trace_qdisc_drop(q, txq, dev, skb, reason) for a drop whose reason has the qdisc subsystem bits
 * and then, on the same CPU, kfree_skb_reason(skb, SKB_DROP_REASON_QDISC_DROP). skb:kfree_skb alone
 * therefore only says QDISC_DROP. When the running kernel has the event, the tracefs source records it
 * in the same instance and gives the kfree_skb record that follows it on that CPU, for the same skb with
 * reason QDISC_DROP, the qdisc's reason instead (a full subsystem code such as 0x30002, named from BTF:
 * QDISC_DROP_OVERLIMIT). Only the fields `skbaddr` and `reason` are read, located by name in the running
 * kernel's format file; a kernel whose event lacks either is not joined (and says so at start).
 */
import { ErrorCodes, KdropError } from '../../errors.js';
import type { TracepointFormat } from '../../kernel/types.js';
import type { FieldSlot } from './record-layout.js';
import { readUnsigned } from './parse.js';

export interface QdiscDropLayout {
  readonly eventId: number;
  readonly skbaddr: FieldSlot;
  readonly reason: FieldSlot;
  readonly minSize: number;
}

function field(format: TracepointFormat, name: string): FieldSlot {
  const f = format.fields.find((x) => x.name === name);
  if (f === undefined || ![1, 2, 4, 8].includes(f.size) || f.offset < 0) {
    throw new KdropError(ErrorCodes.FORMAT_PARSE, `the ${format.name} format has no usable field "${name}"`, {
      expected: 'fields skbaddr and reason (qdisc:qdisc_drop)',
      found: format.fields.map((x) => `${x.name}(${x.size})`).join(', ') || 'no fields',
    });
  }
  return { offset: f.offset, size: f.size };
}

/** Where skbaddr and reason lie in a qdisc:qdisc_drop record. Throws FORMAT_PARSE when either is missing. */
export function qdiscDropLayout(format: TracepointFormat): QdiscDropLayout {
  const skbaddr = field(format, 'skbaddr');
  const reason = field(format, 'reason');
  return { eventId: format.id, skbaddr, reason, minSize: Math.max(skbaddr.offset + skbaddr.size, reason.offset + reason.size) };
}

export interface QdiscDropRecord {
  readonly skbaddr: bigint;
  readonly reason: number;
}

/** Parses one binary qdisc:qdisc_drop record (payload starting with common_type). */
export function parseQdiscDropRecord(record: Uint8Array, layout: QdiscDropLayout, littleEndian: boolean): QdiscDropRecord | KdropError {
  if (record.byteLength < layout.minSize) {
    return new KdropError(ErrorCodes.TRACER_OUTPUT, 'a qdisc_drop trace record is too short', {
      expected: `at least ${layout.minSize} bytes`,
      found: `${record.byteLength} bytes`,
    });
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  return { skbaddr: readUnsigned(view, layout.skbaddr, littleEndian), reason: Number(readUnsigned(view, layout.reason, littleEndian)) };
}

/**
 * Joins qdisc_drop records with the kfree_skb record that follows on the same CPU: remembers the last
 * qdisc drop per CPU and hands its reason to the next kfree_skb of the same skb whose reason is the core
 * QDISC_DROP. Anything else passes through unchanged, and a pending qdisc drop is used at most once.
 */
export class QdiscReasonJoin {
  readonly #pending = new Map<number, QdiscDropRecord>();
  #joined = 0;

  /** qdiscDropCode: the running kernel's code of the core reason QDISC_DROP. */
  constructor(private readonly qdiscDropCode: number) {}

  noteQdiscDrop(cpu: number, rec: QdiscDropRecord): void {
    this.#pending.set(cpu, rec);
  }

  /** The reason code to count for a kfree_skb record read on `cpu`. */
  reasonFor(cpu: number, skbaddr: bigint | null, reasonCode: number | null): number | null {
    const pending = this.#pending.get(cpu);
    if (pending === undefined || skbaddr === null || reasonCode !== this.qdiscDropCode) return reasonCode;
    this.#pending.delete(cpu);
    if (pending.skbaddr !== skbaddr) return reasonCode;
    this.#joined++;
    return pending.reason;
  }

  /** kfree_skb records that got their qdisc reason so far. */
  get joined(): number {
    return this.#joined;
  }
}

/** The code of the core reason QDISC_DROP in a reason table, or null. */
export function qdiscDropCode(reasons: ReadonlyMap<number, string>): number | null {
  for (const [code, name] of reasons) if (name === 'QDISC_DROP') return code;
  return null;
}
