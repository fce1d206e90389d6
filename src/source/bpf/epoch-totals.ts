/**
 * Per-key totals summed from kdrop-probe's epoch-tagged deltas, with the de-duplication that makes a
 * loader restart exact: lines are tagged with their epoch, a replay of an unfinished epoch (the successor
 * loader re-prints what a crashed one printed but had not deleted) skips keys already taken for it, and a
 * complete epoch (END seen) is never applied again. A key that did not grow for `idleMax` collects is
 * forgotten (and omitted, which tells the DeltaTracker to forget it too), so memory stays bounded.
 */
import { keyString, type DropKey, type DropSample } from '../types.js';
import type { ProbeEvent } from './protocol.js';

interface Totals {
  key: DropKey;
  count: number;
  bytes: number;
  /** collect() calls since the total last grew. */
  idle: number;
}

export class EpochTotals {
  private readonly totals = new Map<string, Totals>();
  /** The epoch being received and the keys taken for it (a replay after a crash skips them). */
  private openEpoch = -1;
  private openKeys = new Set<string>();
  /** Epochs up to this one are complete (END seen). */
  private doneEpoch = -1;
  /**
   * Two counters, kept apart: `lost` is the program's pinned map-full counter (cumulative while the pins
   * live: it starts again only with a fresh program), `misses` the recursion misses the current loader can
   * read (a resumed loader without CAP_SYS_ADMIN cannot: it reads 0, which is no reset of `lost`).
   */
  private lostBase = 0;
  private lostLast = 0;
  private missesBase = 0;
  private missesLast = 0;

  constructor(private readonly hasReason: boolean) {}

  get size(): number {
    return this.totals.size;
  }

  /** Lost events (map full, recursion misses) over every program this source ran. */
  get lost(): number {
    return this.lostBase + this.lostLast + this.missesBase + this.missesLast;
  }

  /** A loader is READY: a fresh (not resumed) program starts its epochs and its `lost` again at 0. */
  ready(resumed: boolean): void {
    if (resumed) return;
    this.doneEpoch = -1;
    this.openEpoch = -1;
    this.openKeys = new Set();
    this.lostBase += this.lostLast;
    this.lostLast = 0;
  }

  end(ev: Extract<ProbeEvent, { kind: 'end' }>): void {
    if (ev.epoch > this.doneEpoch) this.doneEpoch = ev.epoch;
    if (ev.epoch === this.openEpoch) {
      this.openEpoch = -1;
      this.openKeys = new Set();
    }
    // Both are cumulative; a counter that went down belongs to another program (or another view of it).
    if (ev.lost < this.lostLast) this.lostBase += this.lostLast;
    this.lostLast = ev.lost;
    if (ev.misses < this.missesLast) this.missesBase += this.missesLast;
    this.missesLast = ev.misses;
  }

  delta(ev: Extract<ProbeEvent, { kind: 'delta' }>): void {
    if (ev.epoch <= this.doneEpoch) return; // a complete epoch cannot come again; ignore a stray replay
    const key: DropKey = {
      address: ev.address,
      reasonCode: this.hasReason ? ev.reasonCode : null,
      protocol: ev.protocol,
      netns: ev.netns === 0 ? null : ev.netns,
    };
    const ks = keyString(key);
    if (ev.epoch !== this.openEpoch) {
      this.openEpoch = ev.epoch;
      this.openKeys = new Set();
    }
    // A loader that died after printing a key but before deleting it: its successor prints it again.
    if (this.openKeys.has(ks)) return;
    this.openKeys.add(ks);
    if (ev.count === 0) return;
    const t = this.totals.get(ks);
    if (t) {
      t.count += ev.count;
      t.bytes += ev.bytes;
      t.idle = -1;
    } else {
      this.totals.set(ks, { key, count: ev.count, bytes: ev.bytes, idle: -1 });
    }
  }

  /** The totals; with `prune`, keys idle for more than idleMax collects are dropped (and omitted). */
  collect(idleMax: number, prune: boolean): DropSample[] {
    const out: DropSample[] = [];
    for (const [ks, t] of this.totals) {
      t.idle++;
      if (t.idle > idleMax && prune) {
        // Unchanged for idleMax collects: omitted, the DeltaTracker forgets it too; if it comes back it
        // starts from zero, so every delta stays exact.
        this.totals.delete(ks);
        continue;
      }
      out.push({ ...t.key, count: t.count, bytes: t.bytes });
    }
    return out;
  }
}
