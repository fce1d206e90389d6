/**
 * The agent's `--samples otlp`: every sampled drop of the bpf source, described (pod, reason, function,
 * stack), goes out as an OpenTelemetry log record (src/export/sample-logs.ts). Other sources cannot
 * sample: the agent then says so once and runs on without samples.
 */
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { FlowSample } from '../vocabulary/flow-sample.js';
import type { DescribeContext } from '../enrich/describe.js';
import { describeSample } from '../enrich/describe-sample.js';
import { createSampleLogs, type SampleLogs } from '../export/sample-logs.js';
import { SAMPLES_NEED_BPF } from '../config/sample-settings.js';
import type { AgentSamples } from './config.js';
import { logger } from '../log.js';

const log = logger('agent.samples');

export interface SampleSource {
  readonly source: { readonly name: string; onSample?(listener: (s: FlowSample) => void): () => void };
  readonly describe?: DescribeContext;
}

export interface SampleExport {
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function startSampleExport(cfg: AgentSamples, opened: SampleSource, resource: Resource, version: string, exporter?: LogRecordExporter): Promise<SampleExport | null> {
  const ctx = opened.describe;
  if (!opened.source.onSample || ctx === undefined) {
    log.warn({ source: opened.source.name }, `--samples otlp: ${SAMPLES_NEED_BPF}; exporting counts only`);
    return null;
  }
  const logs: SampleLogs = await createSampleLogs({
    resource,
    version,
    protocol: cfg.protocol,
    url: cfg.url,
    timeoutMs: cfg.timeoutMs,
    maxPerS: cfg.maxPerS,
    ...(exporter ? { exporter } : {}),
  });
  const unsubscribe = opened.source.onSample((s) => {
    try {
      logs.emit(describeSample(ctx, s));
    } catch (err) {
      log.debug({ err: String(err) }, 'sample not exported');
    }
  });
  log.info({ protocol: cfg.protocol, url: cfg.url ?? '(from OTEL_EXPORTER_OTLP_* / default)', maxPerS: cfg.maxPerS, rate: cfg.kernel.rate }, 'exporting sampled drops as OTLP log records');
  return {
    flush: () => logs.flush(),
    async close() {
      unsubscribe();
      await logs.shutdown();
      log.info(logs.counts(), 'sample export stopped');
    },
  };
}
