import type { HostPaths } from './host-paths.js';
import type { DropSource, SourceName } from './source/types.js';
import type { NetnsResolver } from './enrich/types.js';
import type { TracepointFormat } from './kernel/types.js';
import type { SourceChoice } from './config/common.js';
import type { HostFacts } from './host/facts.js';
import { probeHost, probeTracer } from './host/facts.js';
import { Pipeline } from './pipeline.js';
import { loadSymbolizer } from './symbolize/load.js';
import { DeferredSymbolizer } from './symbolize/deferred.js';
import { BpftraceSource } from './source/bpftrace/index.js';
import { TracefsSource } from './source/tracefs/index.js';
import { BpfSource, probePath, type SampleOptions } from './source/bpf/index.js';
import type { DescribeContext } from './enrich/describe.js';
import { HostNetnsResolver } from './enrich/host-resolver.js';
import { CounterCollector } from './enrich/counter-collector.js';
import { KdropError, ErrorCodes, isKdropError } from './errors.js';
import { logger } from './log.js';

const log = logger('compose');

export interface OpenPipelineOptions {
  readonly source: SourceChoice;
  readonly paths: HostPaths;
  /** What probeHost() learned; probed here when not given. */
  readonly facts?: HostFacts;
  /** Defaults to host-only attribution (root netns = host, others = netns). */
  readonly resolver?: NetnsResolver;
  /** A System.map to symbolize with instead of /proc/kallsyms. */
  readonly map?: string | undefined;
  /** How to run bpftrace (default: `bpftrace` from PATH, or KDROP_BPFTRACE split on spaces). */
  readonly bpftraceCommand?: readonly string[];
  /** kdrop-probe for the bpf source (default: KDROP_PROBE, else build/probe/kdrop-probe). */
  readonly probe?: string;
  /** Sampled drops from the bpf source (other sources cannot sample: source.onSample is then absent). */
  readonly samples?: SampleOptions;
  /** Read the kernel drop counters beside the drops (default true; false for callers that do not show them). */
  readonly counters?: boolean;
}

export interface OpenedSources {
  readonly pipeline: Pipeline;
  readonly source: DropSource;
  readonly sourceName: SourceName;
  readonly format: TracepointFormat;
  /** False when the kernel's tracepoint has no reason field. */
  readonly reasons: boolean;
  /** The running kernel's reason names by code (null without a reason field). */
  readonly reasonNames: ReadonlyMap<number, string> | null;
  /** Symbolizer, reason names and resolver: what describeSample() needs. */
  readonly describe: DescribeContext;
  /** Resolves when the symbols have loaded (after the source attached), rejects with why they cannot. */
  readonly symbols: Promise<void>;
  /** Stops the source if still running and releases the resolver. Idempotent. */
  close(): Promise<void>;
}

/**
 * Probes what `watch` and `agent` need: tracefs mounted if absent; bpftrace's version only for
 * `--source bpftrace` (`auto` asks for it only if the kernel probe does not start).
 */
export function probeForSource(paths: HostPaths, source: SourceChoice, bpftraceCommand?: readonly string[]): Promise<HostFacts> {
  return probeHost(paths, { mountTracefs: true, tracer: source === 'bpftrace', ...(bpftraceCommand ? { bpftraceCommand } : {}) });
}

/** The tracepoint's format, or the error that says why kdrop cannot count on this host. */
function requireTracepoint(facts: HostFacts): TracepointFormat {
  if (facts.tracepoint.format !== null) return facts.tracepoint.format;
  throw facts.tracepoint.error ?? facts.tracefs.error ?? new KdropError(ErrorCodes.TRACEPOINT_MISSING, 'skb:kfree_skb not available');
}

/**
 * The composition root of the drop pipeline shared by `watch` and `agent`: learns the host (or takes the
 * facts the caller already validated its filters against), loads symbols, picks and starts a source.
 * Nothing is left running when it rejects.
 */
export async function openPipeline(o: OpenPipelineOptions): Promise<OpenedSources> {
  const facts = o.facts ?? (await probeForSource(o.paths, o.source, o.bpftraceCommand));
  const format = requireTracepoint(facts);
  const reasons = facts.tracepoint.reasonNames;
  const subsystems = facts.tracepoint.reasonSubsystems;
  // The counters' baseline is read while the source attaches (drops and counters then start together);
  // their files are closed again if anything below fails.
  const owners: { resolver: NetnsResolver | null } = { resolver: null };
  const counters = o.counters === false ? undefined : new CounterCollector({ paths: o.paths, qstatsProbe: o.probe ?? probePath(), resolver: { resolve: (i, n) => owners.resolver!.resolve(i, n), unattributed: () => 0 } });
  const primed = counters?.prime();
  const dropCounters = (): void => void primed?.then(() => counters?.close());
  // Symbols load while the source attaches and are awaited only by the first report (Pipeline awaits the
  // symbolizer's prepare()): the source counts from the moment it is attached. If the symbols cannot be
  // loaded, the first interval fails with their error and the caller stops (watch/agent close the source).
  const symbolizer = new DeferredSymbolizer(loadSymbolizer({ map: o.map, paths: o.paths }));
  let source: DropSource;
  try {
    source = await startSource(facts, o.source, o.probe, o.samples, o.paths.pinRoot);
  } catch (err) {
    dropCounters();
    throw err;
  }
  // Samples are described as they come (trace, --flows, top, agent --samples): they wait for the symbols.
  if (o.samples) {
    try {
      await symbolizer.ready();
    } catch (err) {
      dropCounters();
      await source.stop();
      throw err;
    }
  }
  let resolver: NetnsResolver;
  try {
    resolver = o.resolver ?? (await HostNetnsResolver.create(o.paths));
  } catch (err) {
    dropCounters();
    await source.stop();
    throw err;
  }
  const symbols = symbolizer.ready().then(() => undefined);
  symbols.catch(() => undefined); // the callers that care await it; the first report fails with it anyway
  const describe: DescribeContext = { symbolizer, reasons, resolver, ...(subsystems ? { reasonSubsystems: subsystems } : {}) };
  owners.resolver = resolver;
  await primed;
  const pipeline = new Pipeline({ source, ...describe, ...(counters ? { counters } : {}) });
  let closed = false;
  return {
    pipeline,
    source,
    sourceName: source.name,
    format,
    reasons: facts.tracepoint.hasReason,
    reasonNames: reasons,
    describe,
    symbols,
    async close() {
      if (closed) return;
      closed = true;
      await source.stop();
      counters?.close();
      await resolver.close?.();
    },
  };
}

/** Starts the chosen source (`auto`: the cheapest exact one that starts) from the host's facts. */
export async function startSource(facts: HostFacts, choice: SourceChoice, probe?: string, samples?: SampleOptions, pinRoot?: string): Promise<DropSource> {
  const format = requireTracepoint(facts);
  const tryBpftrace = async (): Promise<DropSource> => {
    const { dialect, command, error } = facts.tracer.probed ? facts.tracer : await probeTracer(facts.tracer.command);
    if (dialect === null) {
      throw new KdropError(ErrorCodes.BPFTRACE_MISSING, error ?? 'bpftrace not available', { hint: 'install bpftrace (Debian: apt-get install bpftrace) or use --source tracefs' });
    }
    const s = new BpftraceSource({ format, command, dialect });
    await s.start();
    return s;
  };
  const tryTracefs = async (): Promise<DropSource> => {
    if (facts.tracefs.dir === null) throw facts.tracefs.error ?? new KdropError(ErrorCodes.TRACEFS_MISSING, 'tracefs not found');
    // qdisc:qdisc_drop (newer than 6.18) carries the qdisc's own drop reason: recorded too where it exists.
    const qdiscDropFormat = facts.tracepoint.qdiscDrop;
    const s = new TracefsSource({ tracefsDir: facts.tracefs.dir, format, ...(qdiscDropFormat === null ? {} : { qdiscDropFormat }) });
    await s.start();
    return s;
  };
  const tryBpf = async (): Promise<DropSource> => {
    const s = new BpfSource({ hasReason: facts.tracepoint.hasReason, probe: probe ?? probePath(), ...(samples ? { samples } : {}), ...(pinRoot === undefined ? {} : { pinRoot }) });
    await s.start();
    return s;
  };
  if (choice === 'bpf') return tryBpf();
  if (choice === 'bpftrace') return tryBpftrace();
  if (choice === 'tracefs') return tryTracefs();
  // auto: the cheapest exact source that loads.
  const failures: string[] = [];
  for (const [name, attempt] of [['bpf', tryBpf], ['bpftrace', tryBpftrace], ['tracefs', tryTracefs]] as const) {
    try {
      return await attempt();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      failures.push(`${name}: ${msg}`);
      if (name !== 'tracefs') log.warn({ err: isKdropError(err) ? err.message : msg, code: isKdropError(err) ? err.code : undefined }, `${name} source unavailable, trying the next one`);
    }
  }
  throw new KdropError(ErrorCodes.NO_SOURCE, 'no usable drop source on this host', {
    expected: 'the kernel probe (kdrop-probe, kernel BTF, root), bpftrace (installed, run as root) or a writable tracefs',
    found: failures.join('; '),
    hint: 'run `kdrop doctor` for what is missing and how to fix it',
  });
}
