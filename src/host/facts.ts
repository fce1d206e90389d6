/**
 * What kdrop learns about the host, once, before anything starts: tracefs, the skb:kfree_skb format and
 * the running kernel's reason names, the tracer (bpftrace) and its version, BTF, kallsyms, privileges.
 * `watch` and `agent` probe, validate their filters against the facts, then start a source
 * (src/compose.ts); `doctor` runs pure checks over the same facts (src/commands/doctor.ts). A fact that
 * cannot be learned carries the error in words instead of throwing: what it means is for the caller to say.
 */
import { access, constants, open, readFile, stat, statfs } from 'node:fs/promises';
import { release as osRelease } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, KdropError, isKdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import type { TracepointFormat } from '../kernel/types.js';
import { findTracefs } from '../kernel/tracefs.js';
import { hasField, readTracepointFormat } from '../kernel/format.js';
import { readKernelReasons } from '../kernel/btf-reasons.js';
import { parseCapEff } from '../kernel/capabilities.js';
import { readKptrRestrict } from '../symbolize/kallsyms-symbolizer.js';
import { detectBpftrace, type BpftraceDialect, type BpftraceVersion } from '../source/bpftrace/version.js';
import { checkProbe, isExecutable, probePath, type ProbeCheck } from '../source/bpf/index.js';

export interface TracefsFacts {
  /** Where tracefs is mounted; null when not found (then `error` says why). */
  readonly dir: string | null;
  readonly error: KdropError | null;
  /** Whether instances/ is writable (the tracefs source makes a private instance there). */
  readonly writable: boolean;
}

export interface TracepointFacts {
  /** skb:kfree_skb's parsed format; null when unreadable (then `error` says why). */
  readonly format: TracepointFormat | null;
  readonly error: KdropError | null;
  /** The kernel has the reason field (5.17+). */
  readonly hasReason: boolean;
  /**
   * The running kernel's reason names by code (format table, else BTF; subsystem reasons from BTF enums);
   * null without a reason field.
   */
  readonly reasonNames: ReadonlyMap<number, string> | null;
  /** Subsystem id -> name (high 16 bits of a reason, since 6.4), for naming codes the kernel does not. */
  readonly reasonSubsystems: ReadonlyMap<number, string> | null;
  /** qdisc:qdisc_drop's format where the kernel has it (newer than 6.18): qdisc drops carry their own reason. */
  readonly qdiscDrop: TracepointFormat | null;
  /** The reason names were not read (probeHost's `reasonNames: false`): null above does not mean "none". */
  readonly reasonsDeferred?: boolean;
}

export interface TracerFacts {
  /** How bpftrace is run (`bpftrace`, or KDROP_BPFTRACE split on spaces). */
  readonly command: readonly string[];
  /** False when probeHost was told not to run `bpftrace --version` (then probeTracer() does it on demand). */
  readonly probed: boolean;
  /** Null when bpftrace is missing, not runnable or too old (then `error` says why). */
  readonly version: BpftraceVersion | null;
  readonly dialect: BpftraceDialect | null;
  readonly error: string | null;
}

export interface ProbeFacts {
  /** kdrop-probe (KDROP_PROBE, else build/probe/kdrop-probe). */
  readonly path: string;
  /** False when there is no executable kdrop-probe at path. */
  readonly present: boolean;
  /** `kdrop-probe --check` per attach type; null when not asked for (checkProbe) or when it could not run. */
  readonly results: readonly ProbeCheck[] | null;
  readonly error: string | null;
}

export interface HostFacts {
  readonly paths: HostPaths;
  readonly euid: number | null;
  /** Text of /proc/self/status (capabilities), null when unreadable. */
  readonly statusText: string | null;
  /** Effective capability mask, null when unreadable. */
  readonly capEff: bigint | null;
  /** `uname -r` of the running kernel, null when unknown. */
  readonly kernelRelease: string | null;
  readonly tracefs: TracefsFacts;
  readonly tracepoint: TracepointFacts;
  readonly tracer: TracerFacts;
  readonly probe: ProbeFacts;
  /** bpffs (where the probe pins its maps): mounted, not (false), or unreadable (null). */
  readonly bpffs: { readonly path: string; readonly mounted: boolean | null };
  readonly btf: { readonly path: string; readonly present: boolean };
  /** kptr_restrict, and the first 64 KB of /proc/kallsyms (enough to tell real addresses from zeros; kallsymsHead). */
  readonly kallsyms: { readonly kptrRestrict: number | null; readonly head: string | null; readonly error: string | null };
}

export interface ProbeOptions {
  /** Mount tracefs when it is not mounted (watch and agent do; doctor only looks). */
  readonly mountTracefs?: boolean;
  /** How to run bpftrace; default KDROP_BPFTRACE (split on spaces) or `bpftrace`. */
  readonly bpftraceCommand?: readonly string[];
  /** Skip running `bpftrace --version` (a source choice that does not use it). */
  readonly tracer?: boolean;
  /** kdrop-probe's path (default KDROP_PROBE, else build/probe/kdrop-probe). */
  readonly probe?: string;
  /** Run `kdrop-probe --check` (which attach types load): doctor does; watch and agent learn it by starting. */
  readonly checkProbe?: boolean;
  /**
   * Read the reason names from BTF (default true). False: tracepoint.reasonNames and reasonSubsystems stay
   * null with `reasonsDeferred` set, and openPipeline reads them after the source started (~40-90 ms of
   * parsing on this thread, off the start; the first report waits for them, as for the symbols).
   */
  readonly reasonNames?: boolean;
  /** Read the head of /proc/kallsyms (doctor's check); watch and agent load the whole table anyway. */
  readonly kallsymsHead?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Keeps a KdropError (its code says what failed); wraps anything else under `code`. */
const asKdropError = (err: unknown, code: KdropError['code'], what: string): KdropError =>
  isKdropError(err) ? err : new KdropError(code, what, { found: message(err), cause: err });

/** How bpftrace is run: `bpftrace`, or KDROP_BPFTRACE split on spaces (e.g. a wrapper or a chroot). */
export function bpftraceCommand(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const v = env['KDROP_BPFTRACE']?.trim();
  return v ? v.split(/\s+/) : ['bpftrace'];
}

async function readText(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

/** The first `bytes` of a file, cut at the last full line; the error code when unreadable. */
async function readHead(path: string, bytes = 65536): Promise<{ head: string | null; error: string | null }> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      const text = buf.toString('utf8', 0, bytesRead);
      return { head: bytesRead < bytes ? text : text.slice(0, text.lastIndexOf('\n') + 1), error: null };
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { head: null, error: (err as NodeJS.ErrnoException).code ?? message(err) };
  }
}

async function probeTracefs(paths: HostPaths, mount: boolean): Promise<TracefsFacts> {
  let dir: string;
  try {
    dir = await findTracefs(paths, { mount });
  } catch (err) {
    return { dir: null, error: asKdropError(err, ErrorCodes.TRACEFS_MISSING, 'tracefs not found'), writable: false };
  }
  const writable = await access(join(dir, 'instances'), constants.W_OK).then(
    () => true,
    () => false,
  );
  return { dir, error: null, writable };
}

async function probeTracepoint(tracefs: TracefsFacts, sys: string, reasonNames: boolean): Promise<TracepointFacts> {
  const none = { hasReason: false, reasonNames: null, reasonSubsystems: null, qdiscDrop: null };
  if (tracefs.dir === null) return { format: null, error: tracefs.error, ...none };
  let format: TracepointFormat;
  try {
    format = await readTracepointFormat(tracefs.dir);
  } catch (err) {
    return { format: null, error: asKdropError(err, ErrorCodes.TRACEPOINT_MISSING, 'cannot read skb:kfree_skb'), ...none };
  }
  // Names come from the running kernel: the format's table, or BTF's enum skb_drop_reason when a kernel
  // prints codes without a table; subsystem reasons (high 16 bits, since 6.4) from BTF enums.
  const kernelReasons = reasonNames ? await readKernelReasons(format, join(sys, 'kernel', 'btf')) : null;
  const qdiscDrop = await readTracepointFormat(tracefs.dir, 'qdisc', 'qdisc_drop').catch(() => null);
  return {
    ...(reasonNames ? {} : { reasonsDeferred: true }),
    format,
    error: null,
    hasReason: hasField(format, 'reason'),
    reasonNames: kernelReasons?.names ?? null,
    reasonSubsystems: kernelReasons?.subsystems ?? null,
    qdiscDrop,
  };
}

const BPF_FS_MAGIC = 0xcafe4a11;

async function probeBpffs(path: string): Promise<boolean | null> {
  try {
    return (await statfs(path)).type === BPF_FS_MAGIC;
  } catch {
    return null;
  }
}

async function probeKernelProbe(path: string, check: boolean): Promise<ProbeFacts> {
  if (!(await isExecutable(path))) return { path, present: false, results: null, error: null };
  if (!check) return { path, present: true, results: null, error: null };
  try {
    return { path, present: true, results: (await checkProbe(path)).results, error: null };
  } catch (err) {
    return { path, present: true, results: null, error: message(err) };
  }
}

/** Runs `bpftrace --version`: its version and dialect, or why it cannot be used. */
export async function probeTracer(command: readonly string[]): Promise<TracerFacts> {
  try {
    const { version, dialect } = await detectBpftrace(command);
    return { command, probed: true, version, dialect, error: null };
  } catch (err) {
    return { command, probed: true, version: null, dialect: null, error: message(err) };
  }
}

/** Learns the host's facts once. Never throws for a missing piece: the facts say what is missing. */
export async function probeHost(paths: HostPaths, o: ProbeOptions = {}): Promise<HostFacts> {
  const env = o.env ?? process.env;
  const command = o.bpftraceCommand ?? bpftraceCommand(env);
  const statusText = await readText(join(paths.proc, 'self', 'status'));
  let capEff: bigint | null = null;
  try {
    capEff = statusText === null ? null : parseCapEff(statusText);
  } catch {
    capEff = null;
  }
  const releaseText = (await readText(join(paths.proc, 'sys', 'kernel', 'osrelease')))?.trim() ?? (paths.proc === '/proc' ? osRelease() : null);
  const btfPath = join(paths.sys, 'kernel', 'btf', 'vmlinux');
  // Where the probe pins (KDROP_PIN_ROOT: in the chart, kdrop's own bpffs directory), else the usual mount point.
  const bpffsPath = paths.pinRoot ?? join(paths.sys, 'fs', 'bpf');
  const [tracefs, tracer, btfPresent, kptrRestrict, kallsyms, probe, bpffs] = await Promise.all([
    probeTracefs(paths, o.mountTracefs ?? false),
    o.tracer === false ? Promise.resolve<TracerFacts>({ command, probed: false, version: null, dialect: null, error: 'not probed' }) : probeTracer(command),
    stat(btfPath).then(
      () => true,
      () => false,
    ),
    readKptrRestrict(paths.proc),
    o.kallsymsHead === true ? readHead(join(paths.proc, 'kallsyms')) : Promise.resolve({ head: null, error: 'not read' }),
    probeKernelProbe(o.probe ?? probePath(), o.checkProbe ?? false),
    probeBpffs(bpffsPath),
  ]);
  const tracepoint = await probeTracepoint(tracefs, paths.sys, o.reasonNames ?? true);
  return {
    paths,
    euid: process.geteuid?.() ?? null,
    statusText,
    capEff,
    kernelRelease: releaseText,
    tracefs,
    tracepoint,
    tracer,
    probe,
    bpffs: { path: bpffsPath, mounted: bpffs },
    btf: { path: btfPath, present: btfPresent },
    kallsyms: { kptrRestrict, ...kallsyms },
  };
}
