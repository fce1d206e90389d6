/**
 * The kernel drop counters in watch's forms: a seed-style line under the drops
 * (`12 SYNs dropped: listen queue full (ListenOverflows) [pod shop/web-0]`) and an NDJSON record of their
 * own kind (`"record": "counter"`; docs/metrics.md documents each field).
 */
import type { CounterEntry } from '../enrich/counter-collector.js';
import { counterInfo } from '../enrich/counter-catalog.js';
import { counterMetricKey } from '../aggregate/counter-series.js';
import type { IntervalReport } from '../vocabulary/interval-report.js';
import { CounterMetric } from './metric-names.js';
import { ownerText } from './console.js';

export function formatCounterLine(e: CounterEntry): string {
  const info = counterInfo(e.file, e.counter);
  const what = info ? info.line(e.count, e.iface) : `${e.count === 1 ? 'packet' : 'packets'} counted by ${e.counter}`;
  return `${e.count} ${what} ${ownerText(e.owner, e.netns)}`;
}

/**
 * The text lines of an interval's counters. ListenDrops counts every ListenOverflows too: its line is
 * left out where it says nothing more (equal to ListenOverflows in the same netns); --json keeps both.
 */
export function counterLines(entries: readonly CounterEntry[]): string {
  const overflows = new Map(entries.filter((e) => e.counter === 'ListenOverflows').map((e) => [e.netns, e.count]));
  return entries
    .filter((e) => e.counter !== 'ListenDrops' || overflows.get(e.netns) !== e.count)
    .map((e) => `${formatCounterLine(e)}\n`)
    .join('');
}

export interface CounterRecordJson {
  record: 'counter';
  time: string;
  interval_s: number;
  /** The kernel's counter name: ListenOverflows, rx_dropped, insert_failed, ... */
  counter: string;
  /** Where it was read: netstat | dev | conntrack | nic | qstats. */
  source: string;
  /** The metric the agent exports it as. */
  metric: string | null;
  count: number;
  interface: string | null;
  direction: string | null;
  netns: number | null;
  scope: string;
  namespace: string | null;
  pod: string | null;
  pod_uid: string | null;
}

export function toCounterRecord(report: IntervalReport, e: CounterEntry): CounterRecordJson {
  return {
    record: 'counter',
    time: report.end.toISOString(),
    interval_s: Math.round(report.intervalS * 1000) / 1000,
    counter: e.counter,
    source: e.file,
    metric: (CounterMetric as Record<string, { name: string } | undefined>)[counterMetricKey(e)]?.name ?? null,
    count: e.count,
    interface: e.iface,
    direction: e.direction,
    netns: e.netns,
    scope: e.owner.scope,
    namespace: e.owner.namespace,
    pod: e.owner.pod,
    pod_uid: e.owner.podUid,
  };
}
