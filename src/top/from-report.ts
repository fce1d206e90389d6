import type { IntervalReport } from '../vocabulary/interval-report.js';
import type { DropEntry } from '../enrich/types.js';
import type { CounterEntry } from '../enrich/counter-collector.js';
import type { TopCounterSample, TopInterval, TopSample } from './types.js';

function toCounterSample(c: CounterEntry): TopCounterSample {
  const pod = c.owner.scope === 'pod';
  return { source: c.file, counter: c.counter, iface: c.iface, scope: c.owner.scope, namespace: pod ? c.owner.namespace : null, pod: pod ? c.owner.pod : null, netns: c.netns, delta: c.count };
}

/** The latest example of an entry's key: its flow as text and its stack. */
export type ExampleOf = (e: DropEntry) => { readonly example: string; readonly stack?: readonly string[] } | undefined;

/** The local pipeline's interval as top ingests it: one sample per described drop entry. */
export function fromReport(report: IntervalReport, sourceName: string, exampleOf?: ExampleOf): TopInterval {
  const samples: TopSample[] = report.entries.map((e) => ({
    ...exampleOf?.(e),
    reason: e.reason,
    // An address no symbol covers stays visible as its hex address (as in the metrics).
    function: e.function ?? e.location,
    scope: e.owner.scope,
    namespace: e.owner.scope === 'pod' ? e.owner.namespace : null,
    pod: e.owner.scope === 'pod' ? e.owner.pod : null,
    netns: e.netns,
    delta: e.count,
  }));
  return {
    endMs: report.end.getTime(),
    intervalS: report.intervalS,
    samples,
    status: { source: sourceName, lostEvents: report.stats.lostEvents, unattributed: report.unattributed, error: null },
    ...(report.counters ? { counters: report.counters.map(toCounterSample) } : {}),
  };
}
