import type { Meter } from '@opentelemetry/api';
import type { SeriesStats } from '../aggregate/series.js';
import { SelfAttr, SelfMetric, type MetricName } from './metric-names.js';

/** What the self-metrics report; every field cumulative since start except series.active. */
export interface SelfMetricsState {
  readonly lostEvents: number;
  readonly restarts: number;
  readonly badLines: number;
  readonly unattributed: number;
  /** Failed exports per exporter name (otlp). */
  readonly exportFailures: ReadonlyMap<string, number>;
  readonly series: SeriesStats;
}

/** Registers kdrop's self-metrics as observable instruments read from `state` at each collection. */
export function registerSelfMetrics(meter: Meter, state: () => SelfMetricsState): void {
  const counter = (m: MetricName, read: (s: SelfMetricsState) => number): void => {
    meter.createObservableCounter(m.name, { unit: m.unit, description: m.description }).addCallback((r) => r.observe(read(state())));
  };
  counter(SelfMetric.lostEvents, (s) => s.lostEvents);
  counter(SelfMetric.tracerRestarts, (s) => s.restarts);
  counter(SelfMetric.badLines, (s) => s.badLines);
  counter(SelfMetric.unattributedDrops, (s) => s.unattributed);
  counter(SelfMetric.seriesOverflow, (s) => s.series.overflowDrops);
  counter(SelfMetric.seriesExpired, (s) => s.series.expired);
  meter
    .createObservableCounter(SelfMetric.exportFailures.name, { unit: SelfMetric.exportFailures.unit, description: SelfMetric.exportFailures.description })
    .addCallback((r) => {
      for (const [exporter, n] of state().exportFailures) r.observe(n, { [SelfAttr.exporter]: exporter });
    });
  meter
    .createObservableGauge(SelfMetric.seriesActive.name, { unit: SelfMetric.seriesActive.unit, description: SelfMetric.seriesActive.description })
    .addCallback((r) => r.observe(state().series.active));
}
