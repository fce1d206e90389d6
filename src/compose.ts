import type { HostPaths } from './host-paths.js';
import type { DropSource, SourceName } from './source/types.js';
import type { NetnsResolver } from './enrich/types.js';
import type { TracepointFormat } from './kernel/types.js';
import type { SourceChoice } from './config/common.js';
import { Pipeline } from './pipeline.js';
import { findTracefs } from './kernel/tracefs.js';
import { hasField, readTracepointFormat } from './kernel/format.js';
import { reasonTableWithBtfFallback } from './kernel/btf-reasons.js';
import { join } from 'node:path';
import { loadSymbolizer } from './symbolize/load.js';
import { BpftraceSource, detectBpftrace } from './source/bpftrace/index.js';
import { TracefsSource } from './source/tracefs/index.js';
import { BpfSource, probePath } from './source/bpf/index.js';
import { HostNetnsResolver } from './enrich/host-resolver.js';
import { KdropError, ErrorCodes, isKdropError } from './errors.js';
import { logger } from './log.js';

const log = logger('compose');

export interface OpenPipelineOptions {
  readonly source: SourceChoice;
  readonly paths: HostPaths;
  /** Defaults to host-only attribution (root netns = host, others = netns). */
  readonly resolver?: NetnsResolver;
  /** A System.map to symbolize with instead of /proc/kallsyms. */
  readonly map?: string | undefined;
  /** How to run bpftrace (default: `bpftrace` from PATH, or KDROP_BPFTRACE split on spaces). */
  readonly bpftraceCommand?: readonly string[];
  /** kdrop-probe for the bpf source (default: KDROP_PROBE, else build/probe/kdrop-probe). */
  readonly probe?: string;
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
  /** Stops the source if still running and releases the resolver. Idempotent. */
  close(): Promise<void>;
}

/** The composition root of the drop pipeline shared by `watch` and `agent`: finds the kernel's
 * tracepoint, loads symbols, picks and starts a source. Nothing is left running when it rejects. */
export async function openPipeline(o: OpenPipelineOptions): Promise<OpenedSources> {
  const tracefsDir = await findTracefs(o.paths, { mount: true });
  const format = await readTracepointFormat(tracefsDir);
  const hasReason = hasField(format, 'reason');
  // Names come from the running kernel: the format's table, or BTF's enum skb_drop_reason when a kernel
  // prints codes without a table.
  const reasons = hasReason ? await reasonTableWithBtfFallback(format, join(o.paths.sys, 'kernel', 'btf', 'vmlinux')) : null;
  const symbolizer = await loadSymbolizer({ map: o.map, paths: o.paths });
  const source = await startSource(o, tracefsDir, format);
  let resolver: NetnsResolver;
  try {
    resolver = o.resolver ?? (await HostNetnsResolver.create(o.paths));
  } catch (err) {
    await source.stop();
    throw err;
  }
  const pipeline = new Pipeline({ source, symbolizer, reasons, resolver });
  let closed = false;
  return {
    pipeline,
    source,
    sourceName: source.name,
    format,
    reasons: hasReason,
    reasonNames: reasons,
    async close() {
      if (closed) return;
      closed = true;
      await source.stop();
      await resolver.close?.();
    },
  };
}

function bpftraceCommand(o: OpenPipelineOptions): readonly string[] {
  if (o.bpftraceCommand) return o.bpftraceCommand;
  const env = process.env['KDROP_BPFTRACE']?.trim();
  return env ? env.split(/\s+/) : ['bpftrace'];
}

async function startSource(o: OpenPipelineOptions, tracefsDir: string, format: TracepointFormat): Promise<DropSource> {
  const tryBpftrace = async (): Promise<DropSource> => {
    const command = bpftraceCommand(o);
    await detectBpftrace(command);
    const s = new BpftraceSource({ format, command });
    await s.start();
    return s;
  };
  const tryTracefs = async (): Promise<DropSource> => {
    const s = new TracefsSource({ tracefsDir, format });
    await s.start();
    return s;
  };
  const tryBpf = async (): Promise<DropSource> => {
    const s = new BpfSource({ hasReason: hasField(format, 'reason'), probe: o.probe ?? probePath() });
    await s.start();
    return s;
  };
  if (o.source === 'bpf') return tryBpf();
  if (o.source === 'bpftrace') return tryBpftrace();
  if (o.source === 'tracefs') return tryTracefs();
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
