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
import { BpfSource, probePath, releaseEarly, type SampleOptions } from './source/bpf/index.js';
import type { DescribeContext } from './enrich/describe.js';
import { HostNetnsResolver } from './enrich/host-resolver.js';
import { CounterCollector } from './enrich/counter-collector.js';
import { KdropError, ErrorCodes, isKdropError } from './errors.js';
import { readKernelReasons } from './kernel/btf-reasons.js';
import { join } from 'node:path';
import { collectStartupGarbage, optimizingCompilers } from './runtime-flags.js';
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
  /**
   * Resolve kallsyms addresses per interval without holding the symbol table (the long-running agent's
   * RSS); ignored with `samples` (described one by one, synchronously) or `map`. Default false.
   */
  readonly streamingSymbols?: boolean;
}

export interface OpenedSources {
  readonly pipeline: Pipeline;
  readonly source: DropSource;
  readonly sourceName: SourceName;
  /** When the source began counting (ms since the epoch): the first interval's start. */
  readonly attachedAt: number;
  readonly format: TracepointFormat;
  /** False when the kernel's tracepoint has no reason field. */
  readonly reasons: boolean;
  /**
   * The running kernel's reason names by code (null without a reason field); when the facts did not have
   * them (agent, watch without reason filters), filled once `symbols` resolves.
   */
  readonly reasonNames: ReadonlyMap<number, string> | null;
  /** Symbolizer, reason names and resolver: what describeSample() needs. */
  readonly describe: DescribeContext;
  /** Resolves when the symbols (and reason names) have loaded (after the source attached), rejects with why they cannot. */
  readonly symbols: Promise<void>;
  /** Stops the source if still running and releases the resolver. Idempotent. */
  close(): Promise<void>;
}

/**
 * Probes what `watch` and `agent` need: tracefs mounted if absent; bpftrace's version only for
 * `--source bpftrace` (`auto` asks for it only if the kernel probe does not start); the reason names only
 * with `reasonNames` (filters to check against them), else openPipeline reads them once the source started.
 */
export function probeForSource(paths: HostPaths, source: SourceChoice, o: { readonly bpftraceCommand?: readonly string[] | undefined; readonly reasonNames?: boolean } = {}): Promise<HostFacts> {
  return probeHost(paths, { mountTracefs: true, tracer: source === 'bpftrace', reasonNames: o.reasonNames ?? true, ...(o.bpftraceCommand ? { bpftraceCommand: o.bpftraceCommand } : {}) });
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
  const facts = o.facts ?? (await probeForSource(o.paths, o.source, { bpftraceCommand: o.bpftraceCommand, reasonNames: false }));
  const format = requireTracepoint(facts);
  // Reason names not read with the facts are read once the source started (the probe counts meanwhile),
  // into these maps; the first report waits for them with the symbols.
  const deferred = facts.tracepoint.reasonsDeferred === true && facts.tracepoint.hasReason;
  const reasons: ReadonlyMap<number, string> | null = deferred ? new Map<number, string>() : facts.tracepoint.reasonNames;
  const subsystems: ReadonlyMap<number, string> | null = deferred ? new Map<number, string>() : facts.tracepoint.reasonSubsystems;
  let sourceStarted = (): void => undefined;
  const reasonsRead = deferred
    ? new Promise<void>((resolve) => (sourceStarted = resolve)).then(async () => {
        const kr = await readKernelReasons(format, join(o.paths.sys, 'kernel', 'btf'));
        for (const [code, name] of kr?.names ?? []) (reasons as Map<number, string>).set(code, name);
        for (const [id, name] of kr?.subsystems ?? []) (subsystems as Map<number, string>).set(id, name);
      })
    : Promise.resolve();
  // Symbols load while the source attaches (after the deferred reason names: one file walk after the
  // other) and are awaited only by the first report (Pipeline awaits the symbolizer's prepare()): the
  // source counts from the moment it is attached. If the symbols cannot be loaded, the first interval
  // fails with their error and the caller stops (watch/agent close the source).
  const symbolsLoading = reasonsRead.catch(() => undefined).then(() => loadSymbolizer({ map: o.map, paths: o.paths, streaming: o.streamingSymbols === true && o.samples === undefined }));
  // The counters' baseline is read while the source starts (the first tick waits for it); their files
  // are closed again if anything below fails.
  const owners: { resolver: NetnsResolver | null } = { resolver: null };
  const counters = o.counters === false ? undefined : new CounterCollector({ paths: o.paths, qstatsProbe: o.probe ?? probePath(), resolver: { resolve: (i, n) => owners.resolver!.resolve(i, n), unattributed: () => 0 } });
  const primed = counters?.prime();
  const dropCounters = (): void => void primed?.then(() => counters?.close());
  // The BTF read and the symbols' check leave megabytes of garbage that V8 would keep for seconds (the
  // agent's peak RSS): one full collection once both are done (runtime-flags.ts).
  const startupRead = Promise.all([symbolsLoading, reasonsRead]);
  void startupRead.then(collectStartupGarbage, () => undefined);
  const symbolizer = new DeferredSymbolizer(startupRead.then(([s]) => s));
  let source: DropSource;
  try {
    source = await startSource(facts, o.source, o.probe, o.samples, o.paths.pinRoot);
  } catch (err) {
    dropCounters();
    throw err;
  }
  sourceStarted();
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
  // The counters' baseline (primed above, read while the source started) is awaited here: whatever the
  // counters count after kdrop says it is watching is in the first report (not in the baseline).
  await primed;
  // The first interval starts when the source began counting (the probe started at process start: earlier).
  const attachedAt = Math.min(source.attachedAt ?? Date.now(), Date.now());
  const pipeline = new Pipeline({ source, ...describe, start: new Date(attachedAt), ...(counters ? { counters } : {}) });
  let closed = false;
  return {
    pipeline,
    source,
    sourceName: source.name,
    attachedAt,
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
    // Every drop is parsed here: at full speed, even in the agent (runtime-flags.ts).
    optimizingCompilers();
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
  // A probe started at process start (early.ts) that no BpfSource will adopt goes now, not at exit.
  if (choice !== 'auto') await releaseEarly();
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
