import { ValueType, type HrTime } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type MetricProducer,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import type { SeriesPoint } from '../aggregate/series.js';
import { DropMetric, SCOPE_NAME, type MetricName } from './metric-names.js';

export function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/**
 * Exposes the series store as kdrop.packet.drops and kdrop.packet.dropped_bytes: monotonic cumulative
 * sums, one data point per series, start time = when the series was created. Registered on every
 * metric reader (Prometheus, OTLP) as a MetricProducer so that a series removed from the store (expiry,
 * pod deletion) disappears from the next export, which the SDK's own instruments do not allow: with
 * cumulative temporality they keep reporting every attribute set ever recorded or observed (measured in
 * test/unit/export/sdk-stale-series.test.ts).
 */
export class DropMetricsProducer implements MetricProducer {
  constructor(
    private readonly snapshot: () => readonly SeriesPoint[],
    private readonly version: string,
    private readonly now: () => number = Date.now,
  ) {}

  async collect(): Promise<CollectionResult> {
    const points = this.snapshot();
    const end = hrTime(this.now());
    const drops: DataPoint<number>[] = [];
    const bytes: DataPoint<number>[] = [];
    for (const p of points) {
      const start = hrTime(p.startTimeMs);
      drops.push({ startTime: start, endTime: end, attributes: { ...p.attributes }, value: p.drops });
      if (p.bytes !== null) bytes.push({ startTime: start, endTime: end, attributes: { ...p.attributes }, value: p.bytes });
    }
    const metrics: SumMetricData[] = [];
    if (drops.length > 0) metrics.push(sum(DropMetric.drops, drops));
    if (bytes.length > 0) metrics.push(sum(DropMetric.droppedBytes, bytes));
    return {
      // Readers replace this with the MeterProvider's resource.
      resourceMetrics: { resource: emptyResource(), scopeMetrics: metrics.length === 0 ? [] : [{ scope: { name: SCOPE_NAME, version: this.version }, metrics }] },
      errors: [],
    };
  }
}

function sum(m: MetricName, dataPoints: DataPoint<number>[]): SumMetricData {
  return {
    descriptor: { name: m.name, unit: m.unit, description: m.description, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints,
  };
}
