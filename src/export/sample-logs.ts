/**
 * The agent's opt-in export of sampled drops as OpenTelemetry log records over OTLP (the SDK's logs
 * packages, a batch processor). Flow details are log attributes, never metric labels. Rate-limited twice:
 * in the kernel (per key and overall) and here (at most `maxPerS` records per second; the rest counted
 * as dropped), and the batch queue is bounded.
 */
import { SeverityNumber, type AttributeValue } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { DescribedSample } from '../vocabulary/flow-sample.js';
import { transportName } from '../vocabulary/flow-sample.js';
import { Attr } from '../vocabulary/attributes.js';
import { reasonClassOf } from '../enrich/reason-catalog.js';
import type { OtlpProtocol } from './telemetry.js';
import { SAMPLE_EVENT_NAME, SCOPE_NAME, SampleAttr } from './metric-names.js';
import { formatTraceLine } from './sample-format.js';

export interface SampleLogOptions {
  readonly resource: Resource;
  readonly version: string;
  readonly protocol: OtlpProtocol;
  /** Full URL (http/protobuf: with /v1/logs), or undefined to let the exporter read OTEL_EXPORTER_OTLP_(LOGS_)ENDPOINT. */
  readonly url: string | undefined;
  readonly timeoutMs: number;
  /** Records per second at most (a token bucket with this burst). */
  readonly maxPerS: number;
  /** Tests: an exporter instead of the OTLP one. */
  readonly exporter?: LogRecordExporter;
}

export interface SampleLogs {
  emit(s: DescribedSample, now?: number): void;
  /** Records emitted and records refused by the rate limit. */
  counts(): { emitted: number; rateLimited: number };
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

async function createExporter(o: SampleLogOptions): Promise<LogRecordExporter> {
  const url = o.url === undefined ? {} : { url: o.url };
  if (o.protocol === 'grpc') {
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-grpc');
    return new OTLPLogExporter({ ...url, timeoutMillis: o.timeoutMs });
  }
  const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-http');
  return new OTLPLogExporter({ ...url, timeoutMillis: o.timeoutMs });
}

/** The log record attributes of a sample (null values left out). */
export function sampleAttributes(s: DescribedSample): Record<string, AttributeValue> {
  const f = s.flow;
  const a: Record<string, AttributeValue | null> = {
    [SampleAttr.sourceAddress]: f.srcAddr,
    [SampleAttr.sourcePort]: f.srcPort,
    [SampleAttr.destinationAddress]: f.dstAddr,
    [SampleAttr.destinationPort]: f.dstPort,
    [SampleAttr.transport]: transportName(f.transport),
    [Attr.networkType]: s.networkType,
    [SampleAttr.interfaceName]: s.ifname,
    [SampleAttr.ifindex]: s.ifindex,
    [SampleAttr.tcpFlags]: f.tcpFlags,
    [SampleAttr.icmpType]: f.icmpType,
    [SampleAttr.icmpCode]: f.icmpCode,
    [SampleAttr.length]: s.len,
    [SampleAttr.suppressed]: s.suppressed,
    [Attr.reason]: s.reason,
    [Attr.reasonClass]: reasonClassOf(s.reason),
    [Attr.function]: s.function ?? s.location,
    [Attr.location]: s.location,
    [Attr.scope]: s.owner.scope,
    [Attr.namespace]: s.owner.namespace,
    [Attr.pod]: s.owner.pod,
    [Attr.podUid]: s.owner.podUid,
    [Attr.netnsInode]: s.netns === null ? null : String(s.netns),
    [SampleAttr.stack]: s.stackText === null ? null : [...s.stackText],
  };
  return Object.fromEntries(Object.entries(a).filter((e): e is [string, AttributeValue] => e[1] !== null));
}

export async function createSampleLogs(o: SampleLogOptions): Promise<SampleLogs> {
  const exporter = o.exporter ?? (await createExporter(o));
  const provider = new LoggerProvider({
    resource: o.resource,
    processors: [new BatchLogRecordProcessor({ exporter, maxQueueSize: 4096, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: o.timeoutMs })],
  });
  const logger = provider.getLogger(SCOPE_NAME, o.version);
  let tokens = o.maxPerS;
  let last = Date.now();
  let emitted = 0;
  let rateLimited = 0;
  return {
    emit(s, now = Date.now()) {
      tokens = Math.min(o.maxPerS, tokens + ((now - last) / 1000) * o.maxPerS);
      last = now;
      if (tokens < 1) {
        rateLimited++;
        return;
      }
      tokens -= 1;
      emitted++;
      logger.emit({
        eventName: SAMPLE_EVENT_NAME,
        timestamp: s.time,
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        body: formatTraceLine(s),
        attributes: sampleAttributes(s),
      });
    },
    counts: () => ({ emitted, rateLimited }),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
