import type { Command } from 'commander';
import type { HostPaths } from '../host-paths.js';
import { hostPathsFrom } from '../config/common.js';
import { setLogLevel } from '../log.js';
import { logger } from '../log.js';
import { agentConfig, DEFAULTS, type AgentConfig, type AgentFlags } from '../agent/config.js';
import type { AgentDeps, OpenPipeline } from '../agent/agent.js';
import { DEFAULT_LABELS } from '../vocabulary/attributes.js';

const log = logger('agent');

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly paths: HostPaths;
  /** Aborting it stops the agent cleanly (SIGTERM/SIGINT in the CLI). */
  readonly signal: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
}

export type RunAgentDeps = Partial<Omit<AgentDeps, 'paths' | 'env'>>;

/**
 * Runs `kdrop agent` until `opts.signal` aborts or the tracer fails for good; resolves with the exit
 * code. Rejects (after stopping whatever it started) when it cannot start.
 */
export async function runAgent(opts: AgentOptions, deps: RunAgentDeps = {}): Promise<number> {
  const openPipeline: OpenPipeline =
    deps.openPipeline ??
    (async (o) => {
      // Loaded on first use: tests that inject a pipeline never load the kernel stages.
      const { openPipeline: open } = await import('../compose.js');
      return open(o);
    });
  // Loaded here, not at import: `kdrop watch` and the others never pay for OpenTelemetry.
  const { Agent } = await import('../agent/agent.js');
  const agent = new Agent(opts.config, { ...deps, openPipeline, paths: opts.paths, env: opts.env ?? process.env });
  if (opts.signal.aborted) return 0;
  await agent.start();
  const onAbort = (): void => agent.requestStop();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (opts.signal.aborted) agent.requestStop();
    return await agent.run();
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Adds `kdrop agent` to the program. The action exits the process when the agent has stopped. `deps`
 * replaces parts of the pipeline (test entries).
 */
export function registerAgentCommand(program: Command, deps: RunAgentDeps = {}): void {
  program
    .command('agent')
    .description('run the node agent: export drops as OpenTelemetry metrics (Prometheus endpoint, OTLP), serve /healthz and /readyz')
    .option('-i, --interval <duration>', `how often the tracer is read (env KDROP_INTERVAL, default ${DEFAULTS.interval})`)
    .option('--metrics-address <host:port|off>', `Prometheus endpoint /metrics (env KDROP_METRICS_ADDRESS, default ${DEFAULTS.metricsAddress})`)
    .option('--health-address <host:port|off>', '/healthz and /readyz (env KDROP_HEALTH_ADDRESS, default: the metrics address)')
    .option('--otlp-endpoint <url|off>', 'push OTLP metrics to this base URL (env KDROP_OTLP_ENDPOINT, or the standard OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT)')
    .option('--otlp-protocol <protocol>', 'http/protobuf|grpc (env KDROP_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL; default http/protobuf)')
    .option('--labels <list>', `exported attributes, comma-separated; +name/-name edit the default set (env KDROP_LABELS; default ${DEFAULT_LABELS.join(',')})`, collect)
    .option('-s, --source <name>', 'auto|bpf|bpftrace|tracefs (env KDROP_SOURCE, default auto)')
    .option('--series-limit <n>', `most series per drop metric before the overflow series is used (env KDROP_SERIES_LIMIT, default ${DEFAULTS.seriesLimit})`)
    .option('--series-ttl <duration>', `remove series without drops for this long, 0 = never (env KDROP_SERIES_TTL, default ${DEFAULTS.seriesTtl})`)
    .option('--shutdown-timeout <duration>', `bound on the stop sequence (env KDROP_SHUTDOWN_TIMEOUT, default ${DEFAULTS.shutdownTimeout})`)
    .option('--final-scrape-wait <duration>', `on stop, wait this long for a last Prometheus scrape, 0 = no wait (env KDROP_FINAL_SCRAPE_WAIT, default ${DEFAULTS.finalScrapeWait})`)
    .option('--map <file>', 'symbolize with this System.map instead of /proc/kallsyms (env KDROP_MAP)')
    .option('--samples <off|otlp>', 'export sampled drops (flow, interface, pod, reason) as OTLP log records; needs the bpf source (env KDROP_SAMPLES, default off)')
    .option('--samples-api', 'serve GET /api/v1/samples (flows, for kubectl kdrop trace) to the API server proxy only; needs the bpf source (env KDROP_SAMPLES_API)')
    .option('--samples-api-trusted-proxies <list>', 'API server addresses (IP or IPv4 CIDR, comma-separated) allowed to call the samples API; empty refuses all (env KDROP_SAMPLES_API_TRUSTED_PROXIES)')
    .option('--sample-rate <n>', 'with --samples: samples per second per key (env KDROP_SAMPLE_RATE, default 1)')
    .option('--sample-burst <n>', 'with --samples: samples a key may send at once (env KDROP_SAMPLE_BURST, default 3)')
    .option('--sample-max-per-s <n>', 'with --samples: log records per second over all keys (env KDROP_SAMPLE_MAX_PER_S, default 100)')
    .option('--sample-stacks', 'with --samples: the symbolized kernel stack on each record (env KDROP_SAMPLE_STACKS)')
    .option('--tls-cert-file <file>', 'serve /metrics and the drops API over HTTPS with this PEM certificate (env KDROP_TLS_CERT_FILE)')
    .option('--tls-key-file <file>', 'the PEM key of --tls-cert-file (env KDROP_TLS_KEY_FILE)')
    .option('--auth <off|kubernetes>', 'kubernetes: clients need a bearer token the Kubernetes API accepts (TokenReview) and allows get (SubjectAccessReview: the URL /metrics, the resource drops.kdrop.dev for /api/v1/drops); needs TLS (env KDROP_AUTH, default off)')
    .option('--auth-cache-ttl <duration>', 'how long an allowed review is re-used; refusals at most 10s (env KDROP_AUTH_CACHE_TTL, default 1m)')
    .option('--max-connections <n>', 'connections the metrics listener accepts at once (env KDROP_MAX_CONNECTIONS, default 64)')
    .option('--no-counters', 'do not read or export the kernel drop counters kfree_skb never sees (listen overflows, interface, NIC and conntrack drops; env KDROP_COUNTERS=false)')
    .option('--config <file>', 'JSON config file; flags and env override it (env KDROP_CONFIG)')
    .action(async (flags: AgentFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ logLevel?: string; proc?: string; sys?: string; tracefs?: string; pinRoot?: string }>();
      // Validated once, before anything starts; a KdropError(CONFIG) lists every bad field (exit 2).
      const config = await agentConfig({ ...flags, ...(globals.logLevel === undefined ? {} : { logLevel: globals.logLevel }) }, process.env);
      const paths = hostPathsFrom(globals, process.env);
      if (config.logLevel !== undefined) setLogLevel(config.logLevel as Parameters<typeof setLogLevel>[0]);
      const ac = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        if (ac.signal.aborted) {
          log.warn({ signal: sig }, 'second signal: exiting now');
          process.exit(sig === 'SIGINT' ? 130 : 143);
        }
        log.info({ signal: sig }, 'stop requested');
        ac.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const code = await runAgent({ config, paths, signal: ac.signal, env: process.env }, deps);
      process.exitCode = code;
      // Bounded exit even if a library left a handle open (a stuck socket, a timer).
      setTimeout(() => process.exit(code), 1000).unref();
    });
}
