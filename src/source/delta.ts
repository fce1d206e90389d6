import type { DropSample } from './types.js';
import { keyString } from './types.js';

/**
 * Turns cumulative per-key totals into per-interval deltas. Keys absent from a call are forgotten, so memory
 * follows what the source holds. Sources guarantee totals never decrease; if
 * one ever does (a bug or a reset we did not see), the new total is taken as the delta's base rather than
 * reporting a negative count.
 */
export class DeltaTracker {
  private readonly last = new Map<string, { count: number; bytes: number | null }>();

  /** Returns the samples whose count grew since the previous call, with the growth as count/bytes. */
  next(cumulative: readonly DropSample[]): DropSample[] {
    const out: DropSample[] = [];
    // A key the source omits is forgotten (sources may drop idle keys to bound memory); if it comes
    // back, its total counts from zero again.
    const seen = new Set<string>();
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
      seen.add(k);
      if (dc > 0) out.push({ ...s, count: dc, bytes: db });
    }
    if (seen.size !== this.last.size) for (const k of this.last.keys()) if (!seen.has(k)) this.last.delete(k);
    return out;
  }
}
