import { AggregationTemporality, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { logger } from '../log.js';

const log = logger('export');

/** ExportResultCode.SUCCESS of @opentelemetry/core (the SDK's result type is structural). */
const SUCCESS = 0;
const REMIND_EVERY_MS = 5 * 60_000;

type ExportResult = Parameters<Parameters<PushMetricExporter['export']>[1]>[0];

/**
 * Wraps a push exporter (OTLP) to count failed exports (after the exporter's own retries) for the
 * kdrop.export.failures self-metric, and to log failures without per-interval spam: one warning when
 * exports start failing, a reminder at most every 5 minutes while they keep failing, one info line when
 * they succeed again. Nothing is buffered here: the periodic reader exports the current cumulative
 * state each time, so memory stays bounded while the backend is down and the next successful export
 * carries the right totals.
 */
export class CountingExporter implements PushMetricExporter {
  private failed = 0;
  private failingSince: number | null = null;
  private failedInStreak = 0;
  private lastReminder = 0;

  constructor(
    private readonly inner: PushMetricExporter,
    readonly exporterName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** kdrop exports cumulative sums only (the drop metrics are cumulative by construction). */
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }

  /** Failed exports so far. */
  failures(): number {
    return this.failed;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      try {
        this.record(result);
      } finally {
        resultCallback(result);
      }
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  private record(result: ExportResult): void {
    const now = this.now();
    if (result.code === SUCCESS) {
      if (this.failingSince !== null) {
        log.info({ exporter: this.exporterName, failedExports: this.failedInStreak, downForMs: now - this.failingSince }, 'metric export works again');
      }
      this.failingSince = null;
      this.failedInStreak = 0;
      return;
    }
    this.failed++;
    this.failedInStreak++;
    const error = result.error?.message ?? 'unknown error';
    if (this.failingSince === null) {
      this.failingSince = now;
      this.lastReminder = now;
      log.warn({ exporter: this.exporterName, error }, 'metric export failed; retrying every interval (counts stay cumulative, nothing is lost while the process runs)');
    } else if (now - this.lastReminder >= REMIND_EVERY_MS) {
      this.lastReminder = now;
      log.warn({ exporter: this.exporterName, error, failedExports: this.failedInStreak, downForMs: now - this.failingSince }, 'metric export still failing');
    } else {
      log.debug({ exporter: this.exporterName, error }, 'metric export failed');
    }
  }
}
