/**
 * The agent's read-only JSON API for `kdrop top --agent URL`: `GET /api/v1/drops` on the metrics port.
 * Versioned by path; v1 only ever gains fields. docs/agent.md documents it.
 */
import { z } from 'zod';
import type { SeriesPoint } from '../aggregate/series.js';
import { seriesKey } from '../aggregate/series.js';
import { counterOfSeries } from '../aggregate/counter-series.js';
import { CounterMetric } from '../export/metric-names.js';

export const DROPS_API_PATH = '/api/v1/drops';
export const DROPS_API_VERSION = 'kdrop.dev/v1';

export const dropsApiSeries = z.object({
  /** The same attributes as the series on /metrics (OpenTelemetry names: kdrop.reason, k8s.pod.name, ...). */
  attributes: z.record(z.string(), z.string()),
  /** Drops since the series started (the value of kdrop_packet_drops_total). */
  drops: z.number(),
  bytes: z.number().nullable(),
  /** Drops (and bytes) added in the agent's latest interval. */
  interval_drops: z.number(),
  interval_bytes: z.number().nullable(),
  /** When the series started (its cumulative start time), ISO 8601. */
  start_time: z.string(),
});

/**
 * One kernel drop counter series (beside the drops, never in them): the same series as the counter
 * metrics on /metrics (kdrop.tcp.listen.overflows, system.network.packet.dropped, ...).
 */
export const dropsApiCounter = z.object({
  /** The metric it is exported as (OpenTelemetry name). */
  metric: z.string(),
  /** Where the kernel keeps it: netstat | dev | conntrack | nic | qstats (the NICs' netdev queue stats). */
  source: z.string(),
  /** The kernel's own name: ListenOverflows, rx_dropped, tx_dropped, insert_failed, rx_missed_errors, ... */
  counter: z.string(),
  /** The metric's attributes (owner as --labels selects it, network.interface.name, network.io.direction, kdrop.counter). */
  attributes: z.record(z.string(), z.string()),
  /** Since the series started (the metric's value). */
  value: z.number(),
  /** Added in the agent's latest interval. */
  interval_value: z.number(),
  start_time: z.string(),
});
export type DropsApiCounter = z.infer<typeof dropsApiCounter>;

export const dropsApiDocument = z.object({
  api_version: z.literal(DROPS_API_VERSION),
  node: z.string().nullable(),
  /** The tracer: bpftrace | tracefs (null while starting). */
  source: z.string().nullable(),
  /** The configured read interval in seconds. */
  interval_s: z.number(),
  /** Intervals read so far: a new number means new interval_* values. */
  intervals: z.number(),
  /** End of the latest interval (ISO 8601) and its length in seconds; null/0 before the first. */
  interval_end: z.string().nullable(),
  last_interval_s: z.number(),
  lost_events: z.number(),
  tracer_restarts: z.number(),
  unattributed_drops: z.number(),
  /** The exported attribute names (--labels). */
  labels: z.array(z.string()),
  series: z.array(dropsApiSeries),
  /** The kernel drop counters (agents before them, or with --no-counters, send none: absent or empty). */
  counters: z.array(dropsApiCounter).optional(),
});
export type DropsApiDocument = z.infer<typeof dropsApiDocument>;

/**
 * Per-series deltas between consecutive store snapshots (one per interval). A series that restarted
 * (expired and came back: new start time) counts from 0 again.
 */
export class IntervalDeltas<P extends SeriesPoint = SeriesPoint> {
  constructor(private readonly keyOf: (p: P) => string = (p) => seriesKey(p.attributes)) {}

  private previous = new Map<string, { drops: number; bytes: number | null; start: number }>();
  private deltas = new Map<string, { drops: number; bytes: number | null }>();

  /** Records a snapshot taken right after an interval was added to the store. */
  update(points: readonly P[]): void {
    const next = new Map<string, { drops: number; bytes: number | null; start: number }>();
    const deltas = new Map<string, { drops: number; bytes: number | null }>();
    for (const p of points) {
      const key = this.keyOf(p);
      const prev = this.previous.get(key);
      const same = prev !== undefined && prev.start === p.startTimeMs;
      const drops = p.drops - (same ? prev.drops : 0);
      const bytes = p.bytes === null ? null : p.bytes - (same ? (prev.bytes ?? 0) : 0);
      deltas.set(key, { drops: Math.max(0, drops), bytes: bytes === null ? null : Math.max(0, bytes) });
      next.set(key, { drops: p.drops, bytes: p.bytes, start: p.startTimeMs });
    }
    this.previous = next;
    this.deltas = deltas;
  }

  of(p: P): { drops: number; bytes: number | null } {
    return this.deltas.get(this.keyOf(p)) ?? { drops: 0, bytes: p.bytes === null ? null : 0 };
  }
}

export interface DropsApiState {
  readonly node: string | null;
  readonly source: string | null;
  readonly intervalS: number;
  readonly intervals: number;
  readonly intervalEnd: Date | null;
  readonly lastIntervalS: number;
  readonly lostEvents: number;
  readonly restarts: number;
  readonly unattributed: number;
  readonly labels: readonly string[];
  readonly series: readonly SeriesPoint[];
  readonly deltas: IntervalDeltas;
  /** The counter series (metric key -> points) and their latest-interval deltas; absent without counters. */
  readonly counters?: { readonly series: readonly CounterPoint[]; readonly deltas: IntervalDeltas<CounterPoint> };
}

export function dropsApiBody(s: DropsApiState): DropsApiDocument {
  return {
    api_version: DROPS_API_VERSION,
    node: s.node,
    source: s.source,
    interval_s: s.intervalS,
    intervals: s.intervals,
    interval_end: s.intervalEnd === null ? null : s.intervalEnd.toISOString(),
    last_interval_s: s.lastIntervalS,
    lost_events: s.lostEvents,
    tracer_restarts: s.restarts,
    unattributed_drops: s.unattributed,
    labels: [...s.labels],
    series: s.series.map((p) => {
      const d = s.deltas.of(p);
      return {
        attributes: { ...p.attributes },
        drops: p.drops,
        bytes: p.bytes,
        interval_drops: d.drops,
        interval_bytes: d.bytes,
        start_time: new Date(p.startTimeMs).toISOString(),
      };
    }),
    ...(s.counters === undefined ? {} : { counters: counterBodies(s.counters.series, s.counters.deltas) }),
  };
}

/** A counter series point with the metric it belongs to (counterMetricKey: netstat.ListenOverflows, dev, ...). */
export interface CounterPoint extends SeriesPoint {
  readonly metricKey: string;
}

/** The counter stores' snapshot as one list (for IntervalDeltas and the API). */
export function counterPoints(snapshot: ReadonlyMap<string, readonly SeriesPoint[]>): CounterPoint[] {
  return [...snapshot].flatMap(([metricKey, points]) => points.map((p) => ({ ...p, metricKey })));
}

/** IntervalDeltas over counter points: a series is its metric and its attributes. */
export function counterIntervalDeltas(): IntervalDeltas<CounterPoint> {
  return new IntervalDeltas<CounterPoint>((p) => `${p.metricKey}\u0000${seriesKey(p.attributes)}`);
}

function counterBodies(points: readonly CounterPoint[], deltas: IntervalDeltas<CounterPoint>): DropsApiCounter[] {
  const out: DropsApiCounter[] = [];
  for (const p of points) {
    const metric = (CounterMetric as Record<string, { name: string } | undefined>)[p.metricKey];
    if (metric === undefined) continue;
    out.push({
      metric: metric.name,
      ...counterOfSeries(p.metricKey, p.attributes),
      attributes: { ...p.attributes },
      value: p.drops,
      interval_value: deltas.of(p).drops,
      start_time: new Date(p.startTimeMs).toISOString(),
    });
  }
  return out;
}
