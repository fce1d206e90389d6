import type { HostPaths } from './host-paths.js';
import type { DropSource, SourceName } from './source/types.js';
import type { NetnsResolver } from './enrich/types.js';
import type { TracepointFormat } from './kernel/types.js';
import type { SourceChoice } from './config/common.js';
import { Pipeline } from './pipeline.js';
import { findTracefs } from './kernel/tracefs.js';
import { hasField, readTracepointFormat } from './kernel/format.js';
import { readKernelReasons } from './kernel/btf-reasons.js';
import { join } from 'node:path';
import { loadSymbolizer } from './symbolize/load.js';
import { BpftraceSource, detectBpftrace } from './source/bpftrace/index.js';
import { TracefsSource } from './source/tracefs/index.js';
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
  // prints codes without a table; subsystem reasons (high 16 bits, since 6.4) from BTF enums.
  const kernelReasons = await readKernelReasons(format, join(o.paths.sys, 'kernel', 'btf'));
  const reasons = kernelReasons?.names ?? null;
  const symbolizer = await loadSymbolizer({ map: o.map, paths: o.paths });
  const source = await startSource(o, tracefsDir, format);
  let resolver: NetnsResolver;
  try {
    resolver = o.resolver ?? (await HostNetnsResolver.create(o.paths));
  } catch (err) {
    await source.stop();
    throw err;
  }
  const pipeline = new Pipeline({ source, symbolizer, reasons, resolver, ...(kernelReasons ? { reasonSubsystems: kernelReasons.subsystems } : {}) });
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
    // qdisc:qdisc_drop (newer than 6.18) carries the qdisc's own drop reason: recorded too where it exists.
    const qdiscDropFormat = await readTracepointFormat(tracefsDir, 'qdisc', 'qdisc_drop').catch((err: unknown) => {
      if (!isKdropError(err, ErrorCodes.TRACEPOINT_MISSING)) log.info({ err }, 'qdisc:qdisc_drop format unreadable: qdisc reasons not joined');
      return undefined;
    });
    const s = new TracefsSource({ tracefsDir, format, ...(qdiscDropFormat === undefined ? {} : { qdiscDropFormat }) });
    await s.start();
    return s;
  };
  if (o.source === 'bpftrace') return tryBpftrace();
  if (o.source === 'tracefs') return tryTracefs();
  try {
    return await tryBpftrace();
  } catch (err) {
    log.warn({ err: isKdropError(err) ? err.message : String(err) }, 'bpftrace source unavailable, falling back to tracefs');
    try {
      return await tryTracefs();
    } catch (err2) {
      throw new KdropError(ErrorCodes.NO_SOURCE, 'no usable drop source on this host', {
        expected: 'bpftrace (installed, run as root) or a writable tracefs',
        found: `bpftrace: ${err instanceof Error ? err.message : String(err)}; tracefs: ${err2 instanceof Error ? err2.message : String(err2)}`,
        hint: 'run `kdrop doctor` for what is missing and how to fix it',
      });
    }
  }
}
