import { TopModel, seriesKey, type TopModelOptions } from './model.js';
import type { TopInterval, TopSample, TopStatus } from './types.js';

/**
 * Two consecutive intervals as one: per series the deltas add up, the totals are the newer interval's
 * (summed over its samples of that series), the example the newer one's. What a paused top holds.
 */
export function mergeIntervals(older: TopInterval, newer: TopInterval): TopInterval {
  const merged = new Map<string, { sample: TopSample; delta: number; olderTotal: number | undefined; newerTotal: number | undefined }>();
  const add = (s: TopSample, isNewer: boolean): void => {
    const k = seriesKey(s);
    const m = merged.get(k) ?? { sample: s, delta: 0, olderTotal: undefined, newerTotal: undefined };
    m.delta += Math.max(0, s.delta);
    if (s.total !== undefined) {
      if (isNewer) m.newerTotal = (m.newerTotal ?? 0) + s.total;
      else m.olderTotal = (m.olderTotal ?? 0) + s.total;
    }
    if (isNewer && s.example !== undefined) m.sample = s;
    merged.set(k, m);
  };
  for (const s of older.samples) add(s, false);
  for (const s of newer.samples) add(s, true);
  const samples: TopSample[] = [...merged.values()].map(({ sample, delta, olderTotal, newerTotal }) => {
    const total = newerTotal ?? olderTotal;
    const { total: _t, ...rest } = sample;
    return total === undefined ? { ...rest, delta } : { ...rest, delta, total };
  });
  return { endMs: newer.endMs, intervalS: older.intervalS + newer.intervalS, samples, status: newer.status };
}

/**
 * Between the data loop and the screen: feeds intervals into the model (holding them while paused, so
 * a pause freezes the screen without losing counts) and tells the screen when to draw again. A long
 * pause holds at most `maxHeld` intervals: beyond it the oldest two are merged into one.
 */
export class TopController {
  readonly model: TopModel;
  private held: TopInterval[] = [];
  private pausedFlag = false;
  private readonly listeners = new Set<() => void>();
  private versionNo = 0;

  private readonly maxHeld: number;

  constructor(opts: TopModelOptions & { readonly maxHeld?: number } = {}) {
    this.model = new TopModel(opts);
    this.maxHeld = Math.max(1, opts.maxHeld ?? this.model.historyLength);
  }

  /** Intervals held while paused (bounded by maxHeld). */
  get heldCount(): number {
    return this.held.length;
  }

  push(interval: TopInterval): void {
    if (this.pausedFlag) {
      this.held.push(interval);
      if (this.held.length > this.maxHeld) {
        const [a, b, ...rest] = this.held;
        if (a && b) this.held = [mergeIntervals(a, b), ...rest];
      }
    } else {
      this.model.ingest(interval);
      this.changed();
    }
  }

  /** A status without a new interval (the agent could not be reached this time). */
  status(patch: Partial<TopStatus>): void {
    this.model.setStatus({ ...this.model.status(), ...patch });
    this.changed();
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  setPaused(paused: boolean): void {
    if (paused === this.pausedFlag) return;
    this.pausedFlag = paused;
    if (!paused) {
      for (const i of this.held) this.model.ingest(i);
      this.held = [];
    }
    this.changed();
  }

  version(): number {
    return this.versionNo;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.versionNo++;
    for (const l of this.listeners) l();
  }
}
