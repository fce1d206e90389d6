import { TopCounterBook } from './counter-book.js';
import type { GroupBy, RowQuery, TopBreakdown, TopInterval, TopRow, TopSample, TopStatus } from './types.js';

/** Intervals of history kept per series (the sparkline shows the last ones that fit). */
export const DEFAULT_HISTORY = 40;
/** Most series kept; beyond it the least recently active are forgotten (totals of their groups drop). */
export const DEFAULT_MAX_SERIES = 20_000;

interface Series {
  readonly sample: Omit<TopSample, 'delta' | 'total' | 'example' | 'stack'>;
  total: number;
  /** Drops per interval, oldest first, always `historyLength` long. */
  history: number[];
  example: string | null;
  stack: readonly string[] | null;
  /** Interval number of the latest example (to pick a group's latest). */
  exampleAt: number;
  lastActive: number;
}

export interface TopModelOptions {
  readonly historyLength?: number;
  readonly maxSeries?: number;
}

const NO_STATUS: TopStatus = { source: '', lostEvents: 0, unattributed: 0, error: null };

/** The finest grain top keys on (the node too, cluster-wide); an agent's series that differ only in other labels share it. */
export function seriesKey(s: TopSample): string {
  return JSON.stringify([s.reason, s.function, s.scope, s.namespace, s.pod, s.netns, s.node ?? null]);
}

/** The group a series belongs to under `groupBy`, and words about it (for netns: its owner). */
export function groupOf(s: Omit<TopSample, 'delta'>, groupBy: GroupBy): { key: string; detail: string | null } {
  const podName = s.scope === 'pod' && s.namespace !== null && s.pod !== null ? `${s.namespace}/${s.pod}` : null;
  switch (groupBy) {
    case 'pod':
      if (podName !== null) return { key: podName, detail: null };
      if (s.scope === 'host') return { key: '(host)', detail: null };
      if (s.scope === 'netns') return { key: s.netns === null ? '(netns)' : `(netns ${s.netns})`, detail: null };
      return { key: '(unknown)', detail: null };
    case 'namespace':
      if (s.scope === 'pod' && s.namespace !== null) return { key: s.namespace, detail: null };
      if (s.scope === 'host') return { key: '(host)', detail: null };
      if (s.scope === 'netns') return { key: '(no pod)', detail: null };
      return { key: '(unknown)', detail: null };
    case 'reason':
      return { key: s.reason ?? '(no reason)', detail: null };
    case 'function':
      return { key: s.function ?? '(unknown)', detail: null };
    case 'node':
      return { key: s.node ?? '(this host)', detail: null };
    case 'netns':
      return {
        key: s.netns === null ? '(unknown)' : String(s.netns),
        detail: podName !== null ? `pod ${podName}` : s.scope === 'host' ? 'host' : s.scope === 'netns' ? 'no pod' : null,
      };
  }
}

/**
 * The pure model behind `kdrop top`: ingests intervals (from the local pipeline or the agent's API),
 * keeps per-series totals and a short history, and answers rows for any grouping, sort and filter.
 * No I/O, no clock: the intervals carry their times.
 */
export class TopModel {
  readonly historyLength: number;
  private readonly maxSeries: number;
  private readonly series = new Map<string, Series>();
  private intervals = 0;
  private lastIntervalS = 0;
  private lastEndMs: number | null = null;
  private currentStatus: TopStatus = NO_STATUS;
  /** Kernel drop counters beside the drops (counter-book.ts). */
  private readonly counters = new TopCounterBook(groupOf);

  constructor(opts: TopModelOptions = {}) {
    this.historyLength = opts.historyLength ?? DEFAULT_HISTORY;
    this.maxSeries = opts.maxSeries ?? DEFAULT_MAX_SERIES;
  }

  /** Adds one interval: every known series moves one step in its history (0 when absent). */
  ingest(interval: TopInterval): void {
    this.intervals++;
    this.lastIntervalS = interval.intervalS;
    this.lastEndMs = interval.endMs;
    this.currentStatus = interval.status;
    this.counters.ingest(interval.counters, interval.intervalS);
    const deltas = new Map<Series, number>();
    // Totals of the samples that share a series (an agent's series differing only in labels top does not
    // key on: network.type, kdrop.location, k8s.pod.uid) add up; none may overwrite another.
    const totals = new Map<Series, number>();
    for (const sample of interval.samples) {
      const key = seriesKey(sample);
      let s = this.series.get(key);
      if (s === undefined) {
        s = {
          sample: { reason: sample.reason, function: sample.function, scope: sample.scope, namespace: sample.namespace, pod: sample.pod, netns: sample.netns, node: sample.node ?? null },
          total: 0,
          history: Array.from({ length: this.historyLength }, () => 0),
          example: null,
          stack: null,
          exampleAt: 0,
          // A series that never had drops is the first to be forgotten.
          lastActive: 0,
        };
        this.series.set(key, s);
      }
      const delta = Math.max(0, sample.delta);
      deltas.set(s, (deltas.get(s) ?? 0) + delta);
      if (sample.total !== undefined) totals.set(s, (totals.get(s) ?? 0) + sample.total);
      else s.total += delta;
      if (delta > 0) s.lastActive = this.intervals;
      if (sample.example !== undefined) {
        s.example = sample.example;
        s.stack = sample.stack ?? null;
        s.exampleAt = this.intervals;
      }
    }
    for (const [s, t] of totals) s.total = t;
    for (const s of this.series.values()) {
      s.history.shift();
      s.history.push(deltas.get(s) ?? 0);
    }
    this.trim();
  }

  /** Only updates the status line (e.g. the agent could not be reached this time). */
  setStatus(status: TopStatus): void {
    this.currentStatus = status;
  }

  status(): TopStatus {
    return this.currentStatus;
  }

  /** Intervals ingested so far. */
  intervalCount(): number {
    return this.intervals;
  }

  intervalS(): number {
    return this.lastIntervalS;
  }

  /** End of the latest interval (ms since the epoch), null before the first. */
  lastUpdateMs(): number | null {
    return this.lastEndMs;
  }

  /** The rows for a grouping, sorted and filtered. */
  rows(q: RowQuery): TopRow[] {
    const groups = new Map<string, { key: string; detail: string | null; details: Set<string>; nodes: Set<string>; total: number; history: number[]; example: string | null; exampleAt: number }>();
    for (const s of this.series.values()) {
      const g = groupOf(s.sample, q.groupBy);
      let row = groups.get(g.key);
      if (row === undefined) {
        row = { key: g.key, detail: null, details: new Set(), nodes: new Set(), total: 0, history: Array.from({ length: this.historyLength }, () => 0), example: null, exampleAt: 0 };
        groups.set(g.key, row);
      }
      if (g.detail !== null) row.details.add(g.detail);
      if (s.sample.node !== undefined && s.sample.node !== null) row.nodes.add(s.sample.node);
      row.total += s.total;
      for (let i = 0; i < this.historyLength; i++) row.history[i]! += s.history[i] ?? 0;
      if (s.example !== null && s.exampleAt >= row.exampleAt) {
        row.example = s.example;
        row.exampleAt = s.exampleAt;
      }
    }
    // Groups with kernel drop counters but no drops get a row too (a pod refusing SYNs shows no kfree_skb drop).
    for (const [key, detail] of this.counters.groups(q.groupBy)) {
      if (!groups.has(key)) groups.set(key, { key, detail: null, details: new Set(detail === null ? [] : [detail]), nodes: new Set<string>(), total: 0, history: Array.from({ length: this.historyLength }, () => 0), example: null, exampleAt: 0 });
    }
    const needle = q.filter.trim().toLowerCase();
    const out: TopRow[] = [];
    for (const g of groups.values()) {
      const detail = g.details.size === 0 ? null : [...g.details].sort().join(', ');
      if (needle !== '' && !g.key.toLowerCase().includes(needle) && !(detail ?? '').toLowerCase().includes(needle)) continue;
      const last = g.history[g.history.length - 1] ?? 0;
      const counters = this.counters.forGroup(q.groupBy, g.key).filter((c) => c.rate > 0);
      out.push({ key: g.key, detail, rate: this.rateOf(last), total: g.total, history: g.history, example: g.example, nodes: [...g.nodes].sort(), ...(counters.length > 0 ? { counters } : {}) });
    }
    return out.sort(q.sortBy === 'rate' ? byRate : byTotal);
  }

  /** Reasons x functions of one group, with its examples (latest first) and the latest example's stack. */
  breakdown(groupBy: GroupBy, key: string): TopBreakdown {
    const cells = new Map<string, { reason: string; function: string; rate: number; total: number }>();
    const examples: { at: number; text: string; stack: readonly string[] | null }[] = [];
    for (const s of this.series.values()) {
      if (groupOf(s.sample, groupBy).key !== key) continue;
      const reason = s.sample.reason ?? '(no reason)';
      const fn = s.sample.function ?? '(unknown)';
      const k = `${reason}\u0000${fn}`;
      const c = cells.get(k) ?? { reason, function: fn, rate: 0, total: 0 };
      c.total += s.total;
      c.rate += this.rateOf(s.history[s.history.length - 1] ?? 0);
      cells.set(k, c);
      if (s.example !== null) examples.push({ at: s.exampleAt, text: s.example, stack: s.stack });
    }
    examples.sort((a, b) => b.at - a.at);
    return {
      key,
      cells: [...cells.values()].sort((a, b) => b.rate - a.rate || b.total - a.total || a.reason.localeCompare(b.reason) || a.function.localeCompare(b.function)),
      examples: examples.map((e) => e.text),
      stack: examples[0]?.stack ?? null,
      counters: this.counters.forGroup(groupBy, key),
    };
  }

  private rateOf(lastDelta: number): number {
    return this.lastIntervalS > 0 ? lastDelta / this.lastIntervalS : 0;
  }

  private trim(): void {
    if (this.series.size <= this.maxSeries) return;
    const byAge = [...this.series.entries()].sort((a, b) => a[1].lastActive - b[1].lastActive);
    for (const [k] of byAge.slice(0, this.series.size - this.maxSeries)) this.series.delete(k);
  }
}

function byRate(a: TopRow, b: TopRow): number {
  return b.rate - a.rate || b.total - a.total || a.key.localeCompare(b.key);
}

function byTotal(a: TopRow, b: TopRow): number {
  return b.total - a.total || b.rate - a.rate || a.key.localeCompare(b.key);
}
