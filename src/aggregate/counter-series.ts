/**
 * The kernel drop counters' series: one SeriesStore per counter metric (same limit, TTL and pod expiry as
 * the drops'), attributes from the owner as --labels selects them (scope, namespace, pod, and the opt-in
 * pod uid and netns inode), plus the interface and direction where the counter has them.
 */
import type { CounterEntry } from '../enrich/counter-collector.js';
import { QSTATS_COUNTERS } from '../source/counters/index.js';
import { Attr, CounterAttr, type DropAttributeName } from '../vocabulary/attributes.js';
import type { SeriesAttributes } from './label-policy.js';
import { SeriesStore, type SeriesPoint, type SeriesStats, type SeriesStoreOptions } from './series.js';

/**
 * Which metric a counter goes to: net/dev rx/tx drops share one (by direction), the NICs' counters share
 * one (by kdrop.counter; sysfs statistics and the queue stats' hardware drops alike), the TCP and
 * conntrack counters have one each. The export stage names them.
 */
export function counterMetricKey(e: Pick<CounterEntry, 'file' | 'counter'>): string {
  return e.file === 'qstats' ? 'nic' : e.file === 'dev' || e.file === 'nic' ? e.file : `${e.file}.${e.counter}`;
}

const QSTATS = new Set<string>(QSTATS_COUNTERS);

/**
 * The kernel's counter behind one series of a counter metric: from the metric key (netstat.X,
 * conntrack.X), the direction (dev: rx_dropped / tx_dropped) or kdrop.counter (nic; qstats for the queue stats' fields). The overflow series
 * (otel.metric.overflow, no attributes of its own) of dev and nic is `dropped`.
 */
export function counterOfSeries(metricKey: string, attributes: Readonly<Record<string, string>>): { source: string; counter: string } {
  const dot = metricKey.indexOf('.');
  if (dot > 0) return { source: metricKey.slice(0, dot), counter: metricKey.slice(dot + 1) };
  if (metricKey === 'dev') {
    const d = attributes[CounterAttr.direction];
    return { source: 'dev', counter: d === 'receive' ? 'rx_dropped' : d === 'transmit' ? 'tx_dropped' : 'dropped' };
  }
  const counter = attributes[CounterAttr.counter] ?? 'dropped';
  return { source: metricKey === 'nic' && QSTATS.has(counter) ? 'qstats' : metricKey, counter };
}

const OWNER_LABELS: readonly DropAttributeName[] = [Attr.scope, Attr.namespace, Attr.pod, Attr.podUid, Attr.netnsInode];

export class CounterSeries {
  private readonly stores = new Map<string, SeriesStore>();
  private readonly owner: readonly DropAttributeName[];

  constructor(
    private readonly opts: SeriesStoreOptions,
    labels: readonly DropAttributeName[],
  ) {
    this.owner = OWNER_LABELS.filter((l) => labels.includes(l));
  }

  add(entries: readonly CounterEntry[]): void {
    for (const e of entries) {
      const key = counterMetricKey(e);
      let store = this.stores.get(key);
      if (store === undefined) {
        store = new SeriesStore(this.opts);
        this.stores.set(key, store);
      }
      store.add(this.attributesOf(e), e.count, null, e.owner.scope === 'pod' ? e.owner.podUid : null);
    }
  }

  attributesOf(e: CounterEntry): SeriesAttributes {
    const out: Record<string, string> = {};
    const pod = e.owner.scope === 'pod';
    for (const l of this.owner) {
      const v =
        l === Attr.scope ? e.owner.scope
        : l === Attr.namespace ? (pod ? e.owner.namespace : null)
        : l === Attr.pod ? (pod ? e.owner.pod : null)
        : l === Attr.podUid ? (pod ? e.owner.podUid : null)
        : e.netns === null ? null : String(e.netns);
      if (v !== null && v !== '') out[l] = v;
    }
    if (e.iface !== null) out[CounterAttr.interfaceName] = e.iface;
    if (e.direction !== null) out[CounterAttr.direction] = e.direction;
    if (e.file === 'nic' || e.file === 'qstats') out[CounterAttr.counter] = e.counter;
    return out;
  }

  expirePod(uid: string): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.expirePod(uid);
    return n;
  }

  sweep(): void {
    for (const s of this.stores.values()) s.sweep();
  }

  /** Metric key -> its series now. */
  snapshot(): Map<string, SeriesPoint[]> {
    return new Map([...this.stores].map(([k, s]) => [k, s.snapshot()]));
  }

  /** Summed over the counter metrics. */
  stats(): SeriesStats {
    let active = 0;
    let overflowDrops = 0;
    let expired = 0;
    for (const s of this.stores.values()) {
      const st = s.stats();
      active += st.active;
      overflowDrops += st.overflowDrops;
      expired += st.expired;
    }
    return { active, overflowDrops, expired };
  }
}
