import type { Meter } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { SeriesPoint } from '../aggregate/series.js';
import { CountingExporter } from './counting-exporter.js';
import { DropMetricsProducer } from './drop-metrics-producer.js';
import { CounterMetricsProducer } from './counter-metrics-producer.js';
import { registerSelfMetrics, type SelfMetricsState } from './self-metrics.js';
import { SCOPE_NAME } from './metric-names.js';
import { PrometheusText } from './prometheus-text.js';

export type OtlpProtocol = 'http/protobuf' | 'grpc';

export interface OtlpOptions {
  readonly protocol: OtlpProtocol;
  /**
   * Full URL to send to (http/protobuf: including /v1/metrics), or undefined to let the exporter read
   * OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT or use its default (localhost:4318 / localhost:4317).
   */
  readonly url: string | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface TelemetryOptions {
  readonly resource: Resource;
  readonly version: string;
  /** Serve Prometheus text from a PrometheusExporter without its own server (the agent's HTTP server hosts it). */
  readonly prometheus: boolean;
  readonly otlp: OtlpOptions | null;
  readonly series: () => readonly SeriesPoint[];
  /** The kernel drop counters' series per metric key (CounterMetric), when the agent reads them. */
  readonly counters?: () => ReadonlyMap<string, readonly SeriesPoint[]>;
  /** Self-metric state except export failures (filled in here from the OTLP exporter). */
  readonly selfState: () => Omit<SelfMetricsState, 'exportFailures'>;
  /** Tests: an exporter to use instead of a real OTLP one, and extra readers. */
  readonly pushExporter?: PushMetricExporter;
  readonly extraReaders?: readonly IMetricReader[];
}

export interface Telemetry {
  readonly provider: MeterProvider;
  readonly meter: Meter;
  /** GET /metrics: the Prometheus text of the Prometheus reader (prometheus-text.ts); null without one. */
  readonly metricsHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  readonly otlp: CountingExporter | null;
  /** Collects and pushes now (OTLP); resolves when the export finished or failed. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function createPushExporter(o: OtlpOptions): Promise<PushMetricExporter> {
  // Loaded on demand: the gRPC stack is large and most nodes use one protocol.
  if (o.protocol === 'grpc') {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-grpc');
    const { AggregationTemporalityPreference } = await import('@opentelemetry/exporter-metrics-otlp-http');
    return new OTLPMetricExporter({ ...(o.url === undefined ? {} : { url: o.url }), temporalityPreference: AggregationTemporalityPreference.CUMULATIVE, timeoutMillis: o.timeoutMs });
  }
  const { OTLPMetricExporter, AggregationTemporalityPreference } = await import('@opentelemetry/exporter-metrics-otlp-http');
  return new OTLPMetricExporter({ ...(o.url === undefined ? {} : { url: o.url }), temporalityPreference: AggregationTemporalityPreference.CUMULATIVE, timeoutMillis: o.timeoutMs });
}

/**
 * The MeterProvider with kdrop's readers: a Prometheus reader (pull) and/or a periodic OTLP reader
 * (push), both fed by the drop-metrics producer (series store) and the self-metric instruments.
 * Every export is cumulative.
 */
export async function createTelemetry(o: TelemetryOptions): Promise<Telemetry> {
  const producer = new DropMetricsProducer(o.series, o.version);
  const producers = o.counters ? [producer, new CounterMetricsProducer(o.counters, o.version)] : [producer];
  const readers: IMetricReader[] = [...(o.extraReaders ?? [])];
  let prometheus: PrometheusExporter | null = null;
  if (o.prometheus) {
    prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: producers });
    readers.push(prometheus);
  }
  let otlp: CountingExporter | null = null;
  let periodic: PeriodicExportingMetricReader | null = null;
  if (o.otlp !== null) {
    const inner = o.pushExporter ?? (await createPushExporter(o.otlp));
    otlp = new CountingExporter(inner, 'otlp');
    periodic = new PeriodicExportingMetricReader({
      exporter: otlp,
      exportIntervalMillis: o.otlp.intervalMs,
      exportTimeoutMillis: Math.min(o.otlp.timeoutMs, o.otlp.intervalMs),
      metricProducers: producers,
    });
    readers.push(periodic);
  }
  const provider = new MeterProvider({ resource: o.resource, readers });
  const meter = provider.getMeter(SCOPE_NAME, o.version);
  const failures = new Map<string, number>();
  registerSelfMetrics(meter, () => {
    if (otlp !== null) failures.set(otlp.exporterName, otlp.failures());
    return { ...o.selfState(), exportFailures: failures };
  });
  return {
    provider,
    meter,
    metricsHandler: prometheus === null ? null : prometheusHandler(prometheus),
    otlp,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * What the SDK's PrometheusExporter.getMetricsRequestHandler does (status, header, collection errors to
 * diag, a failed collection's comment), serialized by PrometheusText: the same text with far less garbage
 * per scrape; the SDK's serializer where PrometheusText declines.
 */
export function prometheusHandler(exporter: PrometheusExporter): (req: IncomingMessage, res: ServerResponse) => void {
  const text = new PrometheusText();
  let sdk: PrometheusSerializer | undefined;
  return (_req, res) => {
    res.statusCode = 200;
    res.setHeader('content-type', 'text/plain');
    exporter.collect().then(
      ({ resourceMetrics, errors }) => {
        if (errors.length) diag.error('PrometheusExporter: metrics collection errors', ...errors);
        res.end(text.serialize(resourceMetrics) ?? (sdk ??= new PrometheusSerializer('', false)).serialize(resourceMetrics));
      },
      (err: unknown) => res.end(`# failed to export metrics: ${String(err)}`),
    );
  };
}
