import type { DropSample } from '../source/types.js';
import { keyString } from '../source/types.js';

/**
 * Turns cumulative per-key totals into per-interval deltas. Sources guarantee totals never decrease; if
 * one ever does (a bug or a reset we did not see), the new total is taken as the delta's base rather than
 * reporting a negative count.
 */
export class DeltaTracker {
  private readonly last = new Map<string, { count: number; bytes: number | null }>();

  /** Returns the samples whose count grew since the previous call, with the growth as count/bytes. */
  next(cumulative: readonly DropSample[]): DropSample[] {
    const out: DropSample[] = [];
    for (const s of cumulative) {
      const k = keyString(s);
      const prev = this.last.get(k);
      let dc = s.count - (prev?.count ?? 0);
      let db = s.bytes === null ? null : s.bytes - (prev?.bytes ?? 0);
      if (dc < 0 || (db !== null && db < 0)) {
        dc = s.count;
        db = s.bytes;
      }
      this.last.set(k, { count: s.count, bytes: s.bytes });
      if (dc > 0) out.push({ ...s, count: dc, bytes: db });
    }
    return out;
  }
}
