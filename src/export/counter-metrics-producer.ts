import { ValueType } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricProducer, type SumMetricData } from '@opentelemetry/sdk-metrics';
import type { SeriesPoint } from '../aggregate/series.js';
import { hrTime } from './drop-metrics-producer.js';
import { CounterMetric, SCOPE_NAME } from './metric-names.js';

/**
 * Exposes the kernel drop counters' series (src/aggregate/counter-series.ts) as monotonic cumulative sums,
 * one metric per CounterMetric key, like DropMetricsProducer does for the drops (expired series vanish).
 */
export class CounterMetricsProducer implements MetricProducer {
  constructor(
    private readonly snapshot: () => ReadonlyMap<string, readonly SeriesPoint[]>,
    private readonly version: string,
    private readonly now: () => number = Date.now,
  ) {}

  async collect(): Promise<CollectionResult> {
    const end = hrTime(this.now());
    const metrics: SumMetricData[] = [];
    for (const [key, points] of this.snapshot()) {
      const m = (CounterMetric as Record<string, (typeof CounterMetric)[keyof typeof CounterMetric] | undefined>)[key];
      if (m === undefined || points.length === 0) continue;
      metrics.push({
        descriptor: { name: m.name, unit: m.unit, description: m.description, valueType: ValueType.INT },
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: points.map((p) => ({ startTime: hrTime(p.startTimeMs), endTime: end, attributes: { ...p.attributes }, value: p.drops })),
      });
    }
    return {
      resourceMetrics: { resource: emptyResource(), scopeMetrics: metrics.length === 0 ? [] : [{ scope: { name: SCOPE_NAME, version: this.version }, metrics }] },
      errors: [],
    };
  }
}
