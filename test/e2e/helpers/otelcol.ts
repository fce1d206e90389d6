/**
 * A real OpenTelemetry Collector (built by scripts/tools/otelcol.sh: OTLP receiver over http + grpc,
 * file exporter) on free loopback ports, writing what it receives as OTLP JSON lines to a file.
 */
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { startChild, type Child } from './processes.js';
import { toolVersion } from '../../helpers/tool-versions.js';

export const OTELCOL_VERSION = toolVersion('OTELCOL_VERSION');
export const OTELCOL_BIN =
  process.env['KDROP_OTELCOL'] ?? join(process.env['KDROP_TOOLS_CACHE'] ?? '/var/cache/kdrop-tools', `otelcol-${OTELCOL_VERSION}`, 'otelcol-kdrop');

export async function otelcolSkipReason(): Promise<string | null> {
  try {
    await access(OTELCOL_BIN, constants.X_OK);
    return null;
  } catch {
    return `needs the test collector at ${OTELCOL_BIN}: run scripts/tools/otelcol.sh (Go + module proxy) or set KDROP_OTELCOL`;
  }
}

export interface Collector {
  readonly httpEndpoint: string;
  readonly grpcEndpoint: string;
  readonly child: Child;
  /** Every data point of `metric` received so far, as (attributes, value, time). */
  points(metric: string): Promise<OtlpPoint[]>;
  /** Every log record received so far (the logs pipeline writes to the same file). */
  logRecords(): Promise<OtlpLogRecord[]>;
  stop(): Promise<void>;
}

export interface OtlpPoint {
  readonly attributes: Record<string, string>;
  readonly value: number;
  readonly timeUnixNano: bigint;
  readonly startTimeUnixNano: bigint;
  readonly resource: Record<string, string>;
}

interface JsonAttr {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}

function attrs(list: JsonAttr[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list ?? []) out[a.key] = String(a.value.stringValue ?? a.value.intValue ?? a.value.boolValue ?? a.value.doubleValue ?? '');
  return out;
}

/** Parses the file exporter's JSON lines (OTLP/JSON ExportMetricsServiceRequest per line). */
export function parseFileExport(text: string, metric: string): OtlpPoint[] {
  const out: OtlpPoint[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const req = JSON.parse(line) as {
      resourceMetrics?: {
        resource?: { attributes?: JsonAttr[] };
        scopeMetrics?: { metrics?: { name: string; sum?: { dataPoints?: { attributes?: JsonAttr[]; asInt?: string | number; asDouble?: number; timeUnixNano?: string; startTimeUnixNano?: string }[] } }[] }[];
      }[];
    };
    for (const rm of req.resourceMetrics ?? []) {
      const resource = attrs(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? []) {
          if (m.name !== metric) continue;
          for (const p of m.sum?.dataPoints ?? []) {
            out.push({
              attributes: attrs(p.attributes),
              value: Number(p.asInt ?? p.asDouble ?? NaN),
              timeUnixNano: BigInt(p.timeUnixNano ?? '0'),
              startTimeUnixNano: BigInt(p.startTimeUnixNano ?? '0'),
              resource,
            });
          }
        }
    }
  }
  return out;
}

export interface OtlpLogRecord {
  readonly eventName: string | undefined;
  readonly body: string | undefined;
  readonly severityText: string | undefined;
  /** Scalar attributes as text; array attributes (kdrop.stack) in `arrays`. */
  readonly attributes: Record<string, string>;
  readonly arrays: Record<string, string[]>;
  readonly timeUnixNano: bigint;
  readonly resource: Record<string, string>;
}

interface JsonAnyAttr {
  key: string;
  value: JsonAttr['value'] & { arrayValue?: { values?: JsonAttr['value'][] } };
}

/** Parses the log lines of the file exporter's JSON (OTLP/JSON ExportLogsServiceRequest per line). */
export function parseLogExport(text: string): OtlpLogRecord[] {
  const out: OtlpLogRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const req = JSON.parse(line) as {
      resourceLogs?: {
        resource?: { attributes?: JsonAttr[] };
        scopeLogs?: { logRecords?: { eventName?: string; body?: { stringValue?: string }; severityText?: string; attributes?: JsonAnyAttr[]; timeUnixNano?: string }[] }[];
      }[];
    };
    for (const rl of req.resourceLogs ?? []) {
      const resource = attrs(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? [])
        for (const r of sl.logRecords ?? []) {
          const arrays: Record<string, string[]> = {};
          for (const a of r.attributes ?? []) if (a.value.arrayValue) arrays[a.key] = (a.value.arrayValue.values ?? []).map((v) => String(v.stringValue ?? v.intValue ?? ''));
          out.push({
            eventName: r.eventName,
            body: r.body?.stringValue,
            severityText: r.severityText,
            attributes: attrs((r.attributes ?? []).filter((a) => !a.value.arrayValue)),
            arrays,
            timeUnixNano: BigInt(r.timeUnixNano ?? '0'),
            resource,
          });
        }
    }
  }
  return out;
}

/** The latest cumulative value per series (attribute set) among `points`, summed over series matching `where`. */
export function latestSum(points: readonly OtlpPoint[], where: (a: Record<string, string>) => boolean): number {
  const latest = new Map<string, OtlpPoint>();
  for (const p of points) {
    if (!where(p.attributes)) continue;
    const k = JSON.stringify(Object.entries(p.attributes).sort());
    const prev = latest.get(k);
    if (prev === undefined || p.timeUnixNano >= prev.timeUnixNano) latest.set(k, p);
  }
  let n = 0;
  for (const p of latest.values()) n += p.value;
  return n;
}

/** Starts the collector; `httpPort` fixes the OTLP/HTTP port (e.g. one an agent already pushes to). */
export async function startCollector(opts: { httpPort?: number } = {}): Promise<Collector> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-otelcol-'));
  const httpPort = opts.httpPort ?? (await freePort());
  const grpcPort = await freePort();
  const out = join(dir, 'metrics.jsonl');
  const config = join(dir, 'config.yaml');
  await writeFile(
    config,
    [
      'receivers:',
      '  otlp:',
      '    protocols:',
      `      grpc: { endpoint: "127.0.0.1:${grpcPort}" }`,
      `      http: { endpoint: "127.0.0.1:${httpPort}" }`,
      'exporters:',
      '  file:',
      `    path: "${out}"`,
      '    flush_interval: 100ms',
      'service:',
      '  telemetry:',
      '    metrics: { level: none }',
      '  pipelines:',
      '    metrics: { receivers: [otlp], exporters: [file] }',
      '    logs: { receivers: [otlp], exporters: [file] }',
      '',
    ].join('\n'),
  );
  const child = startChild('otelcol', [OTELCOL_BIN, `--config=${config}`]);
  const stop = async (): Promise<void> => {
    await child.stop('SIGTERM', 10_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await child.waitForLine((l) => l.includes('Everything is ready'), 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    httpEndpoint: `http://127.0.0.1:${httpPort}`,
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    child,
    stop,
    async points(metric) {
      const text = await readFile(out, 'utf8').catch(() => '');
      // The last line may be half written: parse whole lines only.
      const whole = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
      return parseFileExport(whole, metric);
    },
    async logRecords() {
      const text = await readFile(out, 'utf8').catch(() => '');
      const whole = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
      return parseLogExport(whole);
    },
  };
}
