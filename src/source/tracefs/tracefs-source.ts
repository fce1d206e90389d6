/**
 * The dependency-free DropSource: a private tracefs instance with skb:kfree_skb enabled, its per-CPU
 * ring buffers read in binary and counted per (location, reason, protocol) in Node.
 *
 * Why binary (per_cpu/cpuN/trace_pipe_raw) and not trace_pipe text, decided on Linux 6.18:
 * - The text prints location as %pS (`__udp4_lib_rcv+0x4bc/0xd00`) and reason as a name since 6.2,
 *   so exact numbers need a second lookup. Instance options do not help on every kernel: `raw` prints
 *   only `pid cpu ts type: 2310` without fields, `hex` only a hex header; `fields` (6.x only) prints
 *   `location=__udp4_lib_rcv+0x4bc/0xd00 (-2113638580) ... reason=0x3 (3)`, usable but the kernel then
 *   symbolizes and formats every event; before 5.12 %p is hashed with no way out.
 * - The binary record has location, protocol and reason as plain integers at the offsets of the format
 *   file, on every kernel generation; the kernel formats nothing, a record is 44 bytes instead of a
 *   ~180 byte line, and a read with O_NONBLOCK on trace_pipe_raw returns one (possibly partial) page or
 *   EAGAIN, so the reader never blocks in the kernel and stop() always finishes. Checked here: 3 UDP
 *   drops to a closed port read back as location 0xffffffff82046f4c (= __udp4_lib_rcv 0xffffffff82046a90
 *   + 0x4bc), protocol 2048, reason 3, then EAGAIN.
 * - Measured here (2 shared cores, loaded; a python sender flooding 300k UDP datagrams to a closed port
 *   in a netns, filter common_pid == sender): this binary reader counted 300000 of 300000 with 0 lost
 *   using 0.41-0.43 s of reader CPU (sender ~190-260k/s); reading trace_pipe text with `fields` and
 *   parseTraceLine in Node used 1.05-1.55 s, slowed the sender to ~140-150k/s and counted only ~251k-256k
 *   (the rest overrun). Note that in text mode `CPU:N [LOST M EVENTS]` lines and the per-CPU stats
 *   report the same overruns: adding both double counts; this reader uses the stats only.
 * The text parser (parse.ts) stays for diagnostics and other kernels' output.
 */
import { endianness } from 'node:os';
import { ErrorCodes, KdropError } from '../../errors.js';
import type { TracepointFormat } from '../../kernel/types.js';
import { logger } from '../../log.js';
import type { DropSample, DropSource, SourceFeatures, SourceStats } from '../types.js';
import { CpuReaders } from './cpu-readers.js';
import { DropCounter } from './drop-counter.js';
import { createInstance, removeStaleInstances, type TracefsInstance } from './instance.js';
import { qdiscJoinFor, readRecord, type QdiscJoin } from './read-record.js';
import { recordLayout, type RecordLayout } from './record-layout.js';
import { readPageLayout, splitPage, type PageLayout } from './ring-page.js';

const log = logger('source.tracefs');

export interface TracefsSourceOptions {
  readonly tracefsDir: string;
  /** The running kernel's events/skb/kfree_skb/format, parsed. */
  readonly format: TracepointFormat;
  /** In-kernel event filter, e.g. `reason != 104`. */
  readonly filter?: string;
  /**
   * The running kernel's events/qdisc/qdisc_drop/format when it has that event (not in 6.18): recorded
   * too, so qdisc drops are counted with the qdisc's own reason (qdisc-drop.ts).
   */
  readonly qdiscDropFormat?: TracepointFormat;
  /** Per-CPU ring buffer size in KiB (default 2048). */
  readonly bufferSizeKb?: number;
  /** Instance name; default kdrop-<pid>-<random>. Keep the kdrop-<pid>- prefix for stale removal. */
  readonly instanceName?: string;
  /** How often the per-CPU buffers are drained (default 100 ms). */
  readonly pollIntervalMs?: number;
}

const DEFAULT_BUFFER_KB = 2048;
const DEFAULT_POLL_MS = 100;
/** Pages read from one CPU in one poll pass before yielding to the event loop. */
const PAGES_PER_PASS = 1024;
/** How many passes between refreshes of the per-CPU stats (lost events). */
const STATS_EVERY = 10;

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class TracefsSource implements DropSource {
  readonly name = 'tracefs' as const;
  readonly #opts: TracefsSourceOptions;
  readonly #layout: RecordLayout;
  readonly #littleEndian = endianness() === 'LE';
  readonly #counter = new DropCounter();
  readonly #fatalListeners: ((err: Error) => void)[] = [];
  #state: State = 'new';
  #instance: TracefsInstance | null = null;
  #readers: CpuReaders | null = null;
  #pageLayout: PageLayout | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;
  #starting: Promise<void> | null = null;
  /** Pages per CPU that collect() and stop() read at most: twice what a full buffer holds. */
  #drainCap = Number.POSITIVE_INFINITY;
  #passes = 0;
  #kernelLost = 0;
  #badRecords = 0;
  readonly #qdisc: QdiscJoin;

  constructor(opts: TracefsSourceOptions) {
    this.#opts = opts;
    this.#layout = recordLayout(opts.format);
    this.#qdisc = qdiscJoinFor(opts.format, opts.qdiscDropFormat, this.#layout);
  }

  /** Whether qdisc:qdisc_drop is recorded and joined (the running kernel has it). */
  get qdiscReasons(): boolean {
    return this.#qdisc !== null;
  }

  get features(): SourceFeatures {
    return { reason: this.#layout.reason !== null, netns: false, bytes: false };
  }

  /** The instance directory name while running (for diagnostics and tests). */
  get instanceName(): string | null {
    return this.#instance?.name ?? null;
  }

  onFatal(listener: (err: Error) => void): void {
    this.#fatalListeners.push(listener);
  }

  stats(): SourceStats {
    return { lostEvents: this.#kernelLost, restarts: 0, badLines: this.#badRecords };
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#state !== 'new') {
      throw new KdropError(ErrorCodes.CONFIG, 'a tracefs source can be started once', { expected: 'a new source', found: `state ${this.#state}` });
    }
    this.#state = 'starting';
    const { tracefsDir } = this.#opts;
    try {
      this.#pageLayout = await readPageLayout(tracefsDir);
      const stale = await removeStaleInstances(tracefsDir);
      if (stale.length > 0) log.info({ removed: stale }, 'removed stale kdrop tracefs instances');
      this.#instance = await createInstance(tracefsDir, {
        ...(this.#opts.instanceName === undefined ? {} : { name: this.#opts.instanceName }),
        ...(this.#opts.filter === undefined ? {} : { filter: this.#opts.filter }),
        bufferSizeKb: this.#opts.bufferSizeKb ?? DEFAULT_BUFFER_KB,
        enable: false,
        ...(this.#qdisc === null ? {} : { extraEvents: [{ system: 'qdisc', event: 'qdisc_drop' }] }),
      });
      const readers = new CpuReaders((page, length, cpu) => this.#consumePage(page, length, cpu));
      this.#readers = readers;
      await readers.open(this.#instance.dir, this.#instance.cpus);
      this.#drainCap = 2 * Math.ceil(((this.#opts.bufferSizeKb ?? DEFAULT_BUFFER_KB) * 1024) / readers.pageBytes) + 16;
      if (readers.size === 0) {
        throw new KdropError(ErrorCodes.TRACEFS_MISSING, 'the tracefs instance has no per-CPU buffers', {
          expected: `${this.#instance.dir}/per_cpu/cpuN/trace_pipe_raw`,
          found: 'no per_cpu/cpuN directories',
        });
      }
      await this.#instance.enable();
      this.#state = 'running';
      log.info(
        { instance: this.#instance.name, cpus: this.#instance.cpus.length, filter: this.#opts.filter, bufferSizeKb: this.#opts.bufferSizeKb ?? DEFAULT_BUFFER_KB, qdiscReasons: this.#qdisc !== null },
        'tracefs source started',
      );
      this.#schedule(this.#opts.pollIntervalMs ?? DEFAULT_POLL_MS);
    } catch (err) {
      await this.#teardown().catch((cleanupErr: unknown) => log.warn({ err: cleanupErr }, 'cleanup after a failed start failed'));
      this.#state = 'stopped';
      if (err instanceof KdropError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new KdropError(code === 'EACCES' || code === 'EPERM' ? ErrorCodes.PERMISSION : ErrorCodes.TRACEFS_MISSING, 'cannot start the tracefs source', {
        expected: 'readable per-CPU trace_pipe_raw files in a private tracefs instance',
        found: String((err as Error).message),
        cause: err,
      });
    }
  }

  async collect(): Promise<DropSample[]> {
    if (this.#state === 'running') {
      await this.#drain(this.#drainCap);
      await this.#refreshLost();
    } else if (this.#stopping !== null) {
      await this.#stopping.catch(() => undefined);
    }
    return this.#counter.samples();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // A start() in flight finishes first, so an instance it is making cannot be left behind.
    if (this.#starting !== null) await this.#starting.catch(() => undefined);
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#readers?.idle();
    if (wasRunning && this.#instance !== null) {
      try {
        // Nothing new is recorded after this; what is buffered is read below, so no counted event is lost.
        await this.#instance.disable();
        await this.#drain(this.#drainCap);
        await this.#refreshLost();
      } catch (err) {
        log.warn({ err }, 'reading the last events while stopping failed');
      }
    }
    try {
      await this.#teardown();
    } finally {
      this.#state = 'stopped';
      log.info({ events: this.#counter.total, lostEvents: this.#kernelLost, badRecords: this.#badRecords }, 'tracefs source stopped');
    }
  }

  /** Closes the per-CPU files and removes the instance (also a half-made one). */
  async #teardown(): Promise<void> {
    const readers = this.#readers;
    this.#readers = null;
    await readers?.close();
    // When createInstance itself failed it already removed what it made; #instance is null then.
    await this.#instance?.remove();
    this.#instance = null;
  }

  #schedule(delayMs: number): void {
    if (this.#state !== 'running') return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#drain(PAGES_PER_PASS).then(
        async (more) => {
          if (++this.#passes % STATS_EVERY === 0) await this.#refreshLost();
          this.#schedule(more ? 0 : (this.#opts.pollIntervalMs ?? DEFAULT_POLL_MS));
        },
        (err: unknown) => this.#fail(err),
      );
    }, delayMs);
  }

  #fail(err: unknown, gone = false): void {
    if (this.#state !== 'running') return;
    const name = this.#instance?.name ?? 'kdrop-<pid>-*';
    const fatal = gone
      ? new KdropError(ErrorCodes.TRACEFS_MISSING, `the tracefs instance ${name} is no longer reachable at ${this.#opts.tracefsDir}`, {
          expected: `${this.#instance?.dir ?? this.#opts.tracefsDir} to exist while the source runs`,
          found: String((err as Error).message),
          hint: `was tracefs unmounted, or the instance removed by someone else? If tracefs was unmounted, the instance stays in the kernel until the next kdrop start on a tracefs mount removes it (or: rmdir <tracefs>/instances/${name})`,
          cause: err,
        })
      : new KdropError(ErrorCodes.TRACER_DIED, 'reading the tracefs instance failed', {
          expected: 'readable per-CPU trace_pipe_raw files',
          found: String((err as Error).message),
          hint: 'was the instance removed by someone else?',
          cause: err,
        });
    log.error({ err: fatal }, 'tracefs source failed');
    this.#state = 'stopping';
    for (const listener of this.#fatalListeners) listener(fatal);
  }

  async #refreshLost(): Promise<void> {
    if (this.#instance === null) return;
    try {
      this.#kernelLost = await this.#instance.lostEvents();
    } catch (err) {
      // The per-CPU files stay readable through the open descriptors after tracefs is unmounted (or the
      // instance path vanishes), so this is where it shows: fail clearly rather than count on blind.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.#state === 'running') {
        this.#fail(err, true);
        return;
      }
      log.debug({ err }, 'reading per-CPU stats failed');
    }
  }

  /** Reads every CPU until EAGAIN (or pagesPerCpu pages). Returns true when a CPU had more to read. */
  #drain(pagesPerCpu: number): Promise<boolean> {
    return this.#readers?.drain(pagesPerCpu) ?? Promise.resolve(false);
  }

  #consumePage(buffer: Buffer, length: number, cpu: number): void {
    if (this.#pageLayout === null) return;
    const page = splitPage(buffer, length, this.#pageLayout, this.#littleEndian);
    if (page.missedEvents) log.debug({ cpu, missed: page.missedCount }, 'the kernel lost events before this page (counted from per-CPU stats)');
    if (page.malformed > 0) {
      this.#badRecords += page.malformed;
      log.debug({ cpu, length }, 'malformed ring-buffer page');
    }
    for (const record of page.records) {
      const parsed = readRecord(record, cpu, this.#layout, this.#qdisc, this.#littleEndian);
      if (parsed instanceof KdropError) {
        this.#badRecords++;
        log.debug({ err: parsed, cpu }, 'bad trace record');
        continue;
      }
      if (parsed !== null) this.#counter.add(parsed);
    }
  }
}

