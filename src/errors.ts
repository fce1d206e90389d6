/**
 * Stable error codes. Users and scripts match on `code`; messages may change, codes may not.
 * docs/troubleshooting.md lists every code with its usual cause and fix.
 */
export const ErrorCodes = {
  /** A flag, environment variable or config file field is invalid. */
  CONFIG: 'KDROP_E_CONFIG',
  /** tracefs is not mounted and could not be mounted. */
  TRACEFS_MISSING: 'KDROP_E_TRACEFS_MISSING',
  /** The skb:kfree_skb tracepoint does not exist on this kernel. */
  TRACEPOINT_MISSING: 'KDROP_E_TRACEPOINT_MISSING',
  /** A tracepoint format file could not be parsed. */
  FORMAT_PARSE: 'KDROP_E_FORMAT_PARSE',
  /** /proc/kallsyms or a System.map could not be parsed. */
  KALLSYMS_PARSE: 'KDROP_E_KALLSYMS_PARSE',
  /** /proc/kallsyms shows zero addresses (kptr_restrict, missing CAP_SYSLOG). */
  KALLSYMS_RESTRICTED: 'KDROP_E_KALLSYMS_RESTRICTED',
  /** An address given to symbolize is not a hex/decimal address. */
  BAD_ADDRESS: 'KDROP_E_BAD_ADDRESS',
  /** A line of tracer output (bpftrace NDJSON, trace_pipe) could not be parsed. */
  TRACER_OUTPUT: 'KDROP_E_TRACER_OUTPUT',
  /** bpftrace is not installed or not runnable. */
  BPFTRACE_MISSING: 'KDROP_E_BPFTRACE_MISSING',
  /** bpftrace refused the generated program or exited during start. */
  BPFTRACE_START: 'KDROP_E_BPFTRACE_START',
  /** kdrop-probe (the bpf source's loader) is not built or not executable. */
  PROBE_MISSING: 'KDROP_E_PROBE_MISSING',
  /** kdrop-probe could not load or attach the kernel program. */
  PROBE_START: 'KDROP_E_PROBE_START',
  /** The tracer died and could not be restarted within the restart budget. */
  TRACER_DIED: 'KDROP_E_TRACER_DIED',
  /** The operation needs root / a capability this process lacks. */
  PERMISSION: 'KDROP_E_PERMISSION',
  /** No usable source (neither the bpf probe, bpftrace nor tracefs) on this host. */
  NO_SOURCE: 'KDROP_E_NO_SOURCE',
  /** A /proc/<pid>/cgroup line or Kubernetes object could not be understood. */
  ENRICH_PARSE: 'KDROP_E_ENRICH_PARSE',
  /** kdrop was started with a Node other than 24 (checked first, in src/node-version.ts). */
  NODE_VERSION: 'KDROP_E_NODE_VERSION',
  /** An exporter failed (OTLP push, Prometheus server). */
  EXPORT: 'KDROP_E_EXPORT',
  /** `kdrop explain` was given a reason name or code that neither kdrop nor the running kernel knows. */
  UNKNOWN_REASON: 'KDROP_E_UNKNOWN_REASON',
  /** `kdrop top --agent`: the agent's drops API could not be reached or answered something else. */
  AGENT_API: 'KDROP_E_AGENT_API',
  /** A kernel counter file (/proc/PID/net/netstat, net/dev, net/stat/nf_conntrack, sysfs statistics) or `kdrop-probe --qstats`'s output could not be parsed. */
  COUNTERS_PARSE: 'KDROP_E_COUNTERS_PARSE',
  /** `kdrop-probe --qstats` (the netdev queue stats) could not be run, failed or did not answer in time. */
  QSTATS_READ: 'KDROP_E_QSTATS_READ',
  /** `kubectl kdrop`: the Kubernetes API (kubeconfig, context, server) could not be used. */
  KUBE_API: 'KDROP_E_KUBE_API',
  /** `kubectl kdrop`: the API server refused a request (RBAC); the message names the missing permission. */
  KUBE_FORBIDDEN: 'KDROP_E_KUBE_FORBIDDEN',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface KdropErrorDetails {
  /** What was expected, in words a user understands. */
  expected?: string;
  /** What was found instead (truncated by the thrower when long). */
  found?: string;
  /** A hint on how to fix it. */
  hint?: string;
  cause?: unknown;
}

export class KdropError extends Error {
  readonly code: ErrorCode;
  readonly expected: string | undefined;
  readonly found: string | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, details: KdropErrorDetails = {}) {
    const parts = [message];
    if (details.expected !== undefined) parts.push(`expected ${details.expected}`);
    if (details.found !== undefined) parts.push(`found ${details.found}`);
    if (details.hint !== undefined) parts.push(details.hint);
    super(parts.join('; '), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'KdropError';
    this.code = code;
    this.expected = details.expected;
    this.found = details.found;
    this.hint = details.hint;
  }
}

export function isKdropError(err: unknown, code?: ErrorCode): err is KdropError {
  return err instanceof KdropError && (code === undefined || err.code === code);
}

/** Shortens untrusted input quoted in an error message. */
export function excerpt(text: string, max = 80): string {
  const oneLine = JSON.stringify(text);
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 4)}..."`;
}
