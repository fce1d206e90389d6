import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ErrorCodes, KdropError, excerpt } from '../errors.js';
import { durationMs, logLevel, type SourceChoice } from '../config/common.js';
import { fileKeys, negatedFlag, nonEmpty, resolveSettings, SHARED, type SettingsTable } from '../config/settings.js';
import { parseLabels } from '../aggregate/label-policy.js';
import { DEFAULT_RETIRE_GRACE_MS, DEFAULT_SERIES_LIMIT, DEFAULT_SERIES_TTL_MS } from '../aggregate/series.js';
import { ALL_LABELS, DEFAULT_LABELS, type DropAttributeName } from '../vocabulary/attributes.js';
import type { OtlpOptions, OtlpProtocol } from '../export/telemetry.js';
import { SAMPLE_SETTINGS, sampleOptions } from '../config/sample-settings.js';
import type { SampleOptions } from '../source/bpf/index.js';
import { AUTH_SETTINGS, authOptions, type AgentAuth } from './auth-settings.js';
import { trustedProxies } from './samples-api.js';

/** `kdrop agent` flags as commander gives them (all strings; --labels repeatable). */
export interface AgentFlags {
  interval?: string;
  metricsAddress?: string;
  healthAddress?: string;
  otlpEndpoint?: string;
  otlpProtocol?: string;
  labels?: string[];
  source?: string;
  config?: string;
  seriesLimit?: string;
  seriesTtl?: string;
  shutdownTimeout?: string;
  finalScrapeWait?: string;
  map?: string;
  logLevel?: string;
  samples?: string;
  sampleRate?: string;
  sampleBurst?: string;
  sampleMaxPerS?: string;
  sampleStacks?: boolean;
  auth?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  authCacheTtl?: string;
  maxConnections?: string;
  samplesApi?: boolean;
  samplesApiTrustedProxies?: string;
  counters?: boolean;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface AgentConfig {
  readonly intervalMs: number;
  readonly source: SourceChoice;
  /** Prometheus endpoint (/metrics), or null when off. */
  readonly metrics: ListenAddress | null;
  /** /healthz and /readyz; null when off. Equal to `metrics` when they share a server. */
  readonly health: ListenAddress | null;
  readonly otlp: OtlpOptions | null;
  readonly labels: readonly DropAttributeName[];
  readonly seriesLimit: number;
  readonly seriesTtlMs: number;
  readonly retireGraceMs: number;
  /** Bound on the whole stop sequence (SIGTERM to exit). */
  readonly shutdownTimeoutMs: number;
  /** On stop, how long to wait for one more Prometheus scrape of the final counts (only if /metrics was ever scraped). */
  readonly finalScrapeWaitMs: number;
  readonly logLevel: string | undefined;
  readonly map: string | undefined;
  /** Kubernetes node name from NODE_NAME. */
  readonly nodeName: string | undefined;
  /** --samples otlp: sampled drops as OTLP log records; null when off. */
  readonly samples?: AgentSamples | null;
  /** HTTPS and Kubernetes authentication of /metrics and the drops API; absent: plain HTTP, open. */
  readonly auth?: AgentAuth;
  /** --samples-api: GET /api/v1/samples for `kubectl kdrop trace`, from these API server addresses only; null when off. */
  readonly samplesApi?: { readonly kernel: SampleOptions; readonly trustedProxies: readonly string[] } | null;
  /** Read and export the kernel drop counters (absent = true; false: --no-counters). */
  readonly counters?: boolean;
}

export interface AgentSamples {
  /** The kernel's sampling (bpf source). */
  readonly kernel: SampleOptions;
  readonly protocol: OtlpProtocol;
  /** Full logs URL, or undefined: the exporter reads OTEL_EXPORTER_OTLP_(LOGS_)ENDPOINT. */
  readonly url: string | undefined;
  readonly timeoutMs: number;
  /** Log records per second at most (also the kernel's overall cap). */
  readonly maxPerS: number;
}

const address = (allowOff: boolean) =>
  z.string().transform((v, ctx): ListenAddress | null => {
    if (allowOff && v.trim().toLowerCase() === 'off') return null;
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(v.trim());
    const port = Number(m?.[3]);
    if (!m || !(port >= 0 && port <= 65535)) {
      ctx.addIssue({ code: 'custom', message: `expected HOST:PORT (e.g. 0.0.0.0:9464, [::]:9464${allowOff ? ' or off' : ''}), found ${excerpt(v)}` });
      return z.NEVER;
    }
    return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
  });

const otlpEndpoint = z.string().transform((v, ctx): string | null => {
  if (v.trim().toLowerCase() === 'off') return null;
  let url: URL;
  try {
    url = new URL(v.trim());
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL (e.g. http://otel-collector:4318) or off, found ${excerpt(v)}` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL, found scheme ${excerpt(url.protocol)}` });
    return z.NEVER;
  }
  return v.trim();
});

const otlpProtocol = z.string().transform((v, ctx): OtlpProtocol => {
  const p = v.trim().toLowerCase();
  if (p === 'http/protobuf' || p === 'grpc') return p;
  ctx.addIssue({ code: 'custom', message: `expected http/protobuf or grpc (http/json is not supported), found ${excerpt(v)}` });
  return z.NEVER;
});

const labels = z.union([z.string(), z.array(z.string())]).transform((v, ctx): DropAttributeName[] => {
  const items = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(','));
  const { labels: out, unknown } = parseLabels(items);
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `unknown attribute ${unknown.map((u) => excerpt(u)).join(', ')}; expected names from ${ALL_LABELS.join(', ')} (or +name / -name to change the defaults)` });
    return z.NEVER;
  }
  return out;
});

const positiveInt = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx): number => {
    const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} (a positive whole number), found ${excerpt(String(v))}` });
      return z.NEVER;
    }
    return n;
  });

/** Like durationMs, but `0`/`off` are allowed (meaning "never" / "do not wait"). */
const durationOrZero = z.union([z.string(), z.number()]).transform((v, ctx): number => {
  const s = String(v).trim().toLowerCase();
  if (s === '0' || s === 'off' || s === 'never') return 0;
  const r = durationMs.safeParse(v);
  if (r.success) return r.data;
  ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 15m, or 0/off, found ${excerpt(String(v))}` });
  return z.NEVER;
});

/** `kdrop agent`'s settings (flag, env, config-file key, default, schema); the shared ones come from config/settings.ts. */
const AGENT = {
  ...SHARED,
  metricsAddress: { flag: '--metrics-address', env: ['KDROP_METRICS_ADDRESS'], file: true, default: '0.0.0.0:9464', schema: address(true) },
  healthAddress: { flag: '--health-address', env: ['KDROP_HEALTH_ADDRESS'], file: true, schema: address(true).optional() },
  otlpEndpoint: { flag: '--otlp-endpoint', env: ['KDROP_OTLP_ENDPOINT'], file: true, schema: otlpEndpoint.optional() },
  otlpProtocol: { flag: '--otlp-protocol', env: ['KDROP_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'], file: true, schema: otlpProtocol.optional() },
  labels: { flag: '--labels', env: ['KDROP_LABELS'], file: true, schema: labels.optional() },
  seriesLimit: { flag: '--series-limit', env: ['KDROP_SERIES_LIMIT'], file: true, default: DEFAULT_SERIES_LIMIT, schema: positiveInt('a series limit') },
  seriesTtl: { flag: '--series-ttl', env: ['KDROP_SERIES_TTL'], file: true, default: `${DEFAULT_SERIES_TTL_MS / 60_000}m`, schema: durationOrZero },
  shutdownTimeout: { flag: '--shutdown-timeout', env: ['KDROP_SHUTDOWN_TIMEOUT'], file: true, default: '10s', schema: durationMs },
  finalScrapeWait: { flag: '--final-scrape-wait', env: ['KDROP_FINAL_SCRAPE_WAIT'], file: true, default: '5s', schema: durationOrZero },
  logLevel: { flag: '--log-level', env: ['KDROP_LOG_LEVEL'], file: true, schema: logLevel.optional() },
  samples: { flag: '--samples', env: ['KDROP_SAMPLES'], file: true, default: 'off', schema: z.enum(['off', 'otlp'], { message: 'expected off or otlp' }) },
  ...SAMPLE_SETTINGS,
  ...AUTH_SETTINGS,
  sampleMaxPerS: { ...SAMPLE_SETTINGS.sampleMaxPerS, default: 100 },
  sampleStacks: { flag: '--sample-stacks', env: ['KDROP_SAMPLE_STACKS'], file: true, default: false, schema: z.union([z.boolean(), z.enum(['true', 'false']).transform((x) => x === 'true')]) },
  samplesApi: { flag: '--samples-api', env: ['KDROP_SAMPLES_API'], file: true, default: false, schema: z.union([z.boolean(), z.enum(['true', 'false']).transform((x) => x === 'true')]) },
  samplesApiTrustedProxies: { flag: '--samples-api-trusted-proxies', env: ['KDROP_SAMPLES_API_TRUSTED_PROXIES'], file: true, default: '', schema: trustedProxies },
  // The standard OpenTelemetry variables (env only).
  otelExportInterval: { flag: 'OTEL_METRIC_EXPORT_INTERVAL', env: ['OTEL_METRIC_EXPORT_INTERVAL'], schema: positiveInt('OTEL_METRIC_EXPORT_INTERVAL in milliseconds').optional() },
  otelExportTimeout: { flag: 'OTEL_METRIC_EXPORT_TIMEOUT', env: ['OTEL_METRIC_EXPORT_TIMEOUT'], schema: positiveInt('OTEL_METRIC_EXPORT_TIMEOUT in milliseconds').optional() },
} as const satisfies SettingsTable;

/** Defaults shown in `kdrop agent --help`. */
export const DEFAULTS = {
  interval: AGENT.interval.default,
  metricsAddress: AGENT.metricsAddress.default,
  source: AGENT.source.default,
  seriesLimit: AGENT.seriesLimit.default,
  seriesTtl: AGENT.seriesTtl.default,
  shutdownTimeout: AGENT.shutdownTimeout.default,
  finalScrapeWait: AGENT.finalScrapeWait.default,
} as const;

/** Reads and parses the JSON config file; problems are pushed to `problems`. */
async function readConfigFile(path: string, origin: string, problems: string[]): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    problems.push(`${origin}: cannot read ${excerpt(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return {};
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    problems.push(`${origin} ${excerpt(path)}: expected a JSON object, found invalid JSON (${err instanceof Error ? err.message : String(err)})`);
    return {};
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push(`${origin} ${excerpt(path)}: expected a JSON object, found ${Array.isArray(data) ? 'an array' : typeof data}`);
    return {};
  }
  const keys = fileKeys(AGENT);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (keys.includes(k)) out[k] = v;
    else problems.push(`${path}: unknown key ${excerpt(k)}; expected one of ${keys.join(', ')}`);
  }
  return out;
}

/**
 * Resolves the agent's configuration from flags > environment > config file > defaults and validates it
 * once. Every bad field is listed in ONE KdropError (code KDROP_E_CONFIG), each with where it came from.
 */
export async function agentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv): Promise<AgentConfig> {
  const problems: string[] = [];
  const configPath = nonEmpty(flags.config) ?? nonEmpty(env['KDROP_CONFIG']);
  const values = configPath === undefined ? {} : await readConfigFile(configPath, flags.config ? '--config' : 'KDROP_CONFIG', problems);
  const { config: _config, ...given } = { ...flags, counters: negatedFlag(flags.counters) };
  const v = resolveSettings(
    AGENT,
    { flags: given, env, ...(configPath === undefined ? {} : { file: { path: configPath, values } }), problems },
    'agent configuration',
    '\n(see `kdrop agent --help` and docs/agent.md)',
  );

  // OTLP is on when an endpoint is configured anywhere (kdrop's own setting, or the standard variables).
  const otelEndpointEnv = nonEmpty(env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']) ?? nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  const protocol: OtlpProtocol = v.otlpProtocol ?? 'http/protobuf';
  let otlp: OtlpOptions | null = null;
  const exportIntervalMs = v.otelExportInterval ?? v.interval;
  const timeoutMs = Math.min(v.otelExportTimeout ?? 30_000, exportIntervalMs);
  if (v.otlpEndpoint !== undefined && v.otlpEndpoint !== null) {
    otlp = { protocol, url: otlpUrl(v.otlpEndpoint, protocol), intervalMs: exportIntervalMs, timeoutMs };
  } else if (v.otlpEndpoint === undefined && otelEndpointEnv !== undefined) {
    // Let the exporter read OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT itself (it knows the spec's path rules).
    otlp = { protocol, url: undefined, intervalMs: exportIntervalMs, timeoutMs };
  }

  let samples: AgentSamples | null = null;
  if (v.samples === 'otlp') {
    const logsEnv = nonEmpty(env['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT']) ?? nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
    const endpoint = v.otlpEndpoint ?? undefined;
    if (endpoint === undefined && logsEnv === undefined) {
      throw new KdropError(ErrorCodes.CONFIG, 'invalid agent configuration (1 problem):\n  --samples otlp: needs an OTLP endpoint (--otlp-endpoint, or OTEL_EXPORTER_OTLP_(LOGS_)ENDPOINT)');
    }
    const url = endpoint === undefined ? undefined : otlpUrl(endpoint, protocol, 'logs');
    samples = { kernel: sampleOptions(v, v.sampleStacks), protocol, url, timeoutMs, maxPerS: v.sampleMaxPerS };
  }
  const authProblems: string[] = [];
  const auth = authOptions(v, authProblems);
  if (authProblems.length > 0) throw new KdropError(ErrorCodes.CONFIG, `invalid agent configuration (${authProblems.length} problem${authProblems.length === 1 ? '' : 's'}):\n${authProblems.map((p) => `  ${p}`).join('\n')}`);
  const samplesApi = v.samplesApi ? { kernel: samples?.kernel ?? sampleOptions(v, v.sampleStacks), trustedProxies: v.samplesApiTrustedProxies } : null;
  const metrics = v.metricsAddress;
  return {
    intervalMs: v.interval,
    source: v.source,
    metrics,
    health: v.healthAddress === undefined ? metrics : v.healthAddress,
    otlp,
    labels: v.labels ?? DEFAULT_LABELS,
    seriesLimit: v.seriesLimit,
    seriesTtlMs: v.seriesTtl,
    retireGraceMs: Math.max(DEFAULT_RETIRE_GRACE_MS, 2 * exportIntervalMs),
    shutdownTimeoutMs: v.shutdownTimeout,
    finalScrapeWaitMs: v.finalScrapeWait,
    logLevel: v.logLevel,
    map: v.map,
    nodeName: nonEmpty(env['NODE_NAME']),
    samples,
    auth,
    samplesApi,
    counters: v.counters,
  };
}

/**
 * --otlp-endpoint is a base URL like OTEL_EXPORTER_OTLP_ENDPOINT: for http/protobuf, /v1/metrics (or
 * /v1/logs for the samples) is appended unless the path already ends with it (a /v1/metrics path is
 * turned into /v1/logs for the logs); for grpc it is used as is.
 */
export function otlpUrl(endpoint: string, protocol: OtlpProtocol, signal: 'metrics' | 'logs' = 'metrics'): string {
  if (protocol === 'grpc') return endpoint;
  const u = new URL(endpoint);
  const path = u.pathname.replace(/\/v1\/(metrics|logs)\/*$/, '').replace(/\/+$/, '');
  u.pathname = `${path}/v1/${signal}`;
  return u.toString();
}
