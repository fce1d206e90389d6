/**
 * Cumulative kernel counters -> per-interval growth, per namespace.
 * - The first read after start is the baseline: nothing before kdrop started is reported.
 * - A namespace first seen after that is new (its counters started at zero when it was made): its whole
 *   value is growth. A namespace (inode) absent from ABSENT_READS reads in a row is forgotten; one
 *   recreated later starts from zero. (Absent for fewer reads, e.g. no live process found for it once,
 *   it keeps its values: seen again, only its growth counts, never its whole history.)
 * - A 32-bit counter that went down wrapped: growth is value + 2^32 - previous. A 64-bit counter that went
 *   down was reset (an interface recreated under its name, a pid reused in another namespace with the same
 *   inode): its value is growth since the reset.
 */
import type { CounterDelta, CounterValue } from './types.js';

const WRAP32 = 1n << 32n;

export function counterGrowth(prev: bigint, cur: bigint, bits: 32 | 64): bigint {
  if (cur >= prev) return cur - prev;
  return bits === 32 ? cur + WRAP32 - prev : cur;
}

/** `netns` null: the node's NICs (sysfs). */
export type CounterRead = ReadonlyMap<number | null, readonly CounterValue[]>;

/** Reads a namespace may be missing before it is forgotten. */
const ABSENT_READS = 3;

export class CounterDeltas {
  private last = new Map<number | null, Map<string, bigint>>();
  private readonly absent = new Map<number | null, number>();
  private started = false;

  /** Growth since the previous call, zero deltas left out. */
  next(read: CounterRead): CounterDelta[] {
    const out: CounterDelta[] = [];
    const seen = new Map<number | null, Map<string, bigint>>();
    for (const [netns, values] of read) {
      const prev = this.last.get(netns);
      // New namespace after the first read: its counters started at zero. The node's NICs are always
      // baselined at their first read (they count since boot).
      const fromZero = this.started && prev === undefined && netns !== null;
      const now = new Map<string, bigint>();
      for (const v of values) {
        const key = `${v.file}\u0000${v.counter}\u0000${v.iface ?? ''}`;
        now.set(key, v.value);
        const before = prev?.get(key) ?? (fromZero || prev !== undefined ? 0n : undefined);
        if (before === undefined) continue;
        const d = counterGrowth(before, v.value, v.bits);
        if (d > 0n) out.push({ netns, file: v.file, counter: v.counter, iface: v.iface, delta: Number(d) });
      }
      seen.set(netns, now);
      this.absent.delete(netns);
    }
    for (const [netns, values] of this.last) {
      if (seen.has(netns)) continue;
      const n = (this.absent.get(netns) ?? 0) + 1;
      if (n >= ABSENT_READS) {
        this.absent.delete(netns);
      } else {
        this.absent.set(netns, n);
        seen.set(netns, values);
      }
    }
    this.last = seen;
    this.started = true;
    return out;
  }
}
