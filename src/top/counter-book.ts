/**
 * The kernel drop counters in `kdrop top` (beside the drops, never in them): per owner and counter, the
 * latest interval's growth and the total since top started, answered per group like the drop rows.
 * Pure (no I/O, no clock). Counters have no reason or function: grouped by reason, only NETFILTER_DROP
 * shows the conntrack counters (the cause behind it); grouped by function, none.
 */
import type { GroupBy, TopCounter, TopCounterSample } from './types.js';

interface CounterSeries {
  readonly sample: Omit<TopCounterSample, 'delta' | 'total'>;
  total: number;
  last: number;
  lastActive: number;
}

/** Most counter series kept (least recently grown forgotten first). */
const MAX_SERIES = 5000;

/** `(host)`, `shop/web-0`, `(netns 4026532301)` ...: the same keys as the drop rows' (model.ts groupOf). */
export type GroupKeyOf = (s: Omit<TopCounterSample, 'delta' | 'total' | 'counter' | 'iface' | 'source'> & { reason: null; function: null }, groupBy: GroupBy) => { key: string; detail: string | null };

export class TopCounterBook {
  private readonly series = new Map<string, CounterSeries>();
  private intervals = 0;
  private intervalS = 0;

  constructor(private readonly groupOf: GroupKeyOf) {}

  ingest(samples: readonly TopCounterSample[] | undefined, intervalS: number): void {
    this.intervals++;
    this.intervalS = intervalS;
    for (const s of this.series.values()) s.last = 0;
    // An agent's series that top cannot tell apart (labels it does not key on) add up, totals included.
    const totals = new Map<CounterSeries, number>();
    for (const c of samples ?? []) {
      const key = JSON.stringify([c.source, c.counter, c.iface, c.scope, c.namespace, c.pod, c.netns, c.node ?? null]);
      let s = this.series.get(key);
      if (s === undefined) {
        const { delta: _delta, total: _total, ...sample } = c;
        s = { sample, total: 0, last: 0, lastActive: 0 };
        this.series.set(key, s);
      }
      const delta = Math.max(0, c.delta);
      if (c.total !== undefined) totals.set(s, (totals.get(s) ?? 0) + c.total);
      else s.total += delta;
      s.last += delta;
      if (delta > 0) s.lastActive = this.intervals;
    }
    for (const [s, t] of totals) s.total = t;
    if (this.series.size > MAX_SERIES) {
      const old = [...this.series].sort((a, b) => a[1].lastActive - b[1].lastActive).slice(0, this.series.size - MAX_SERIES);
      for (const [k] of old) this.series.delete(k);
    }
  }

  /** The group keys that have counters under a grouping (so a group with counters but no drops gets a row). */
  groups(groupBy: GroupBy): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const s of this.series.values()) {
      if (!this.shows(s, groupBy)) continue;
      const g = this.groupOf({ ...s.sample, reason: null, function: null }, groupBy);
      out.set(groupBy === 'reason' ? 'NETFILTER_DROP' : g.key, g.detail);
    }
    return out;
  }

  /** A group's counters, most growth first. */
  forGroup(groupBy: GroupBy, key: string): TopCounter[] {
    const merged = new Map<string, TopCounter>();
    for (const s of this.series.values()) {
      if (!this.shows(s, groupBy)) continue;
      const k = groupBy === 'reason' ? 'NETFILTER_DROP' : this.groupOf({ ...s.sample, reason: null, function: null }, groupBy).key;
      if (k !== key) continue;
      const label = s.sample.iface === null ? s.sample.counter : `${s.sample.counter} ${s.sample.iface}`;
      const m = merged.get(label) ?? { label, rate: 0, total: 0 };
      merged.set(label, { label, rate: m.rate + (this.intervalS > 0 ? s.last / this.intervalS : 0), total: m.total + s.total });
    }
    return [...merged.values()].sort((a, b) => b.rate - a.rate || b.total - a.total || a.label.localeCompare(b.label));
  }

  private shows(s: CounterSeries, groupBy: GroupBy): boolean {
    if (groupBy === 'function') return false;
    if (groupBy === 'reason') return s.sample.source === 'conntrack';
    return true;
  }
}
