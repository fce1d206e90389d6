/**
 * Cumulative per-key totals of the bpftrace source across restarts. Each bpftrace instance prints its
 * own cumulative maps; when one dies, what it printed last becomes a per-key base that the totals of the
 * next instances add to. No key's total ever decreases, even for a snapshot read across CPUs mid-update.
 */
import type { DropKey, DropSample } from '../types.js';

/** One key's totals so far. */
export interface KeyTotals {
  key: DropKey;
  count: number;
  bytes: number;
}

export class RestartTotals {
  readonly #base = new Map<string, KeyTotals>();
  readonly #reported = new Map<string, KeyTotals>();

  /** Adds what a dead instance printed last to the base, and empties its map. */
  absorb(current: Map<string, KeyTotals>): void {
    for (const [ks, t] of current) {
      const b = this.#base.get(ks);
      if (b) {
        b.count += t.count;
        b.bytes += t.bytes;
      } else {
        this.#base.set(ks, { key: t.key, count: t.count, bytes: t.bytes });
      }
    }
    current.clear();
  }

  /** The base plus the live instance's totals (if any), never less per key than reported before. */
  samples(current: ReadonlyMap<string, KeyTotals> | undefined): DropSample[] {
    const sum = new Map<string, KeyTotals>();
    const add = (ks: string, t: KeyTotals): void => {
      const s = sum.get(ks);
      if (s) {
        s.count += t.count;
        s.bytes += t.bytes;
      } else sum.set(ks, { key: t.key, count: t.count, bytes: t.bytes });
    };
    for (const [ks, t] of this.#base) add(ks, t);
    if (current) for (const [ks, t] of current) add(ks, t);
    // Never report less than before (guards against a snapshot read across CPUs mid-update).
    for (const [ks, t] of sum) {
      const r = this.#reported.get(ks);
      if (r) {
        r.count = Math.max(r.count, t.count);
        r.bytes = Math.max(r.bytes, t.bytes);
      } else this.#reported.set(ks, { key: t.key, count: t.count, bytes: t.bytes });
    }
    const out: DropSample[] = [];
    for (const r of this.#reported.values()) {
      if (r.count > 0) out.push({ ...r.key, count: r.count, bytes: r.bytes });
    }
    return out;
  }
}
