/**
 * Reads the kernel drop counters of each network namespace through one of its processes
 * (/proc/PID/net/{netstat,dev,stat/nf_conntrack}), and the node's physical NICs' statistics from sysfs
 * and (with a kdrop-probe) their netdev queue stats' hardware drops from netlink.
 * One read per file per namespace per call, asynchronous, with bounded concurrency. The pid is checked
 * after the reads (its ns/net link still names the inode), so a pid reused in another namespace is never
 * read as this one's.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { close as closeCb, open as openCb, read as readCb, readlink as readlinkCb } from 'node:fs';
import { join } from 'node:path';
import { isKdropError } from '../../errors.js';
import { logger } from '../../log.js';
import { netstatCounters } from './parse-netstat.js';
import { netDevCounters } from './parse-net-dev.js';
import { conntrackCounters } from './parse-conntrack.js';
import { parseStatisticsValue } from './parse-nic.js';
import { qstatsCounters } from './parse-qstats.js';
import { QstatsReader, type QstatsStatus } from './qstats.js';
import { NIC_COUNTERS, type CounterFile, type CounterValue, type NetnsTarget } from './types.js';
import type { CounterRead } from './deltas.js';

const log = logger('counters');

export interface CounterReaderOptions {
  readonly proc: string;
  readonly sys: string;
  /** Files read at once (default 16). */
  readonly concurrency?: number;
  /** Read the physical NICs (default true). */
  readonly nics?: boolean;
  /** kdrop-probe, to read the NICs' netdev queue stats (`--qstats`) with them; absent: not read. */
  readonly qstatsProbe?: string;
}

export interface CounterReadResult {
  readonly values: CounterRead;
  /** Targets whose pid was gone or had left the namespace (the caller rescans). */
  readonly stale: readonly number[];
  /** Files that could not be parsed in this read (each kind logged once at debug). */
  readonly malformed: number;
  /** Which files answered in at least one namespace (doctor, watch's header). */
  readonly readable: ReadonlySet<CounterFile>;
}

const PROC_FILES: ReadonlyArray<readonly [CounterFile, string, (text: string) => CounterValue[]]> = [
  ['netstat', 'net/netstat', netstatCounters],
  ['dev', 'net/dev', netDevCounters],
  ['conntrack', 'net/stat/nf_conntrack', conntrackCounters],
];

/** A netns's open counter files: the fds stay open between reads (one pread per file per tick). */
interface OpenNetns {
  readonly pid: number;
  /** Per PROC_FILES entry: the fd, null when the file is absent (nf_conntrack not loaded), undefined before opening. */
  readonly fds: Array<number | null | undefined>;
}

/** Absent files (a module loaded later) are tried again every this many reads. */
const RETRY_ABSENT_EVERY = 12;
const BUF_SIZE = 64 * 1024;

export class CounterReader {
  private readonly concurrency: number;
  private readonly loggedBad = new Set<string>();
  private readonly open = new Map<number, OpenNetns>();
  private readonly buffers: Buffer[] = [];
  private reads = 0;
  private readonly qstats: QstatsReader | null;
  /** The last queue-stats values read: kept through a failed read, so that the next one counts only growth. */
  private lastQstats: CounterValue[] = [];

  constructor(private readonly opts: CounterReaderOptions) {
    this.concurrency = Math.max(1, opts.concurrency ?? 16);
    this.qstats = opts.qstatsProbe === undefined ? null : new QstatsReader(opts.qstatsProbe);
  }

  /** What the last read of the netdev queue stats found. */
  qstatsStatus(): QstatsStatus {
    return this.qstats?.status() ?? { state: 'not read' };
  }

  /**
   * Each proc file is opened once per netns and re-read from offset 0 at every call (seq_file regenerates
   * it): one or two positional reads instead of open, stat, read and close. An open fd holds its netns:
   * fds are closed as soon as the pid is seen gone or in another netns, or the target is dropped.
   */
  async read(targets: readonly NetnsTarget[], only: { nics?: boolean } = {}): Promise<CounterReadResult> {
    const values = new Map<number | null, CounterValue[]>();
    const stale: number[] = [];
    const readable = new Set<CounterFile>();
    let malformed = 0;
    const retryAbsent = this.reads++ % RETRY_ABSENT_EVERY === 0;
    const partial = only.nics === false;
    const wanted = new Set(targets.map((t) => t.inode));
    // A full read closes the files of namespaces no longer read; a partial one (a retry) leaves them.
    if (!partial) for (const [inode, o] of this.open) if (!wanted.has(inode)) this.closeNetns(inode, o);
    const jobs = targets.map((t) => async (buf: Buffer) => {
      let o = this.open.get(t.inode);
      if (o !== undefined && o.pid !== t.pid) {
        this.closeNetns(t.inode, o);
        o = undefined;
      }
      if (o === undefined) {
        o = { pid: t.pid, fds: PROC_FILES.map(() => undefined) };
        this.open.set(t.inode, o);
      }
      const got: CounterValue[] = [];
      for (let i = 0; i < PROC_FILES.length; i++) {
        const [file, rel, parse] = PROC_FILES[i]!;
        if (o.fds[i] === undefined || (o.fds[i] === null && retryAbsent)) o.fds[i] = await openFd(join(this.opts.proc, String(t.pid), rel));
        const fd = o.fds[i];
        if (fd === null || fd === undefined) continue;
        const text = await preadAll(fd, buf).catch(() => null);
        if (text === null) continue;
        try {
          got.push(...parse(text));
          readable.add(file);
        } catch (err) {
          malformed++;
          this.logBad(rel, err);
        }
      }
      // The fds hold the netns they were opened in; the pid tells whether it still has a process.
      const link = await new Promise<string | null>((resolve) => readlinkCb(join(this.opts.proc, String(t.pid), 'ns', 'net'), (err, l) => resolve(err ? null : l)));
      if (link !== `net:[${t.inode}]`) {
        stale.push(t.inode);
        this.closeNetns(t.inode, o);
      } else values.set(t.inode, got);
    });
    if (this.opts.nics !== false && !partial) {
      // The loader runs while the files are read.
      const qstats = this.qstats?.read() ?? Promise.resolve(null);
      jobs.push(async () => {
        const { values: nic, names } = await this.readNics();
        if (nic.length > 0) readable.add('nic');
        const q = await qstats;
        const st = this.qstatsStatus();
        if (q !== null) {
          readable.add('qstats');
          this.lastQstats = qstatsCounters(q, names);
        } else if (st.state === 'error') {
          malformed++;
          this.logBad('kdrop-probe --qstats', st.error);
        }
        values.set(null, [...nic, ...(st.state === 'unavailable' ? [] : this.lastQstats)]);
      });
    }
    const workers = Math.max(1, Math.floor(this.concurrency / 3));
    while (this.buffers.length < Math.min(workers, jobs.length)) this.buffers.push(Buffer.allocUnsafe(BUF_SIZE));
    await runBounded(jobs, this.buffers);
    return { values, stale, malformed, readable };
  }

  /** Closes every open file (the caller stops reading). */
  close(): void {
    for (const [inode, o] of this.open) this.closeNetns(inode, o);
  }

  private closeNetns(inode: number, o: OpenNetns): void {
    this.open.delete(inode);
    for (const fd of o.fds) if (typeof fd === 'number') closeCb(fd, () => undefined);
  }

  /** Interfaces with a `device` link (backed by hardware or a paravirtual device: not veth, bridge, lo). */
  private async readNics(): Promise<{ values: CounterValue[]; names: Set<string> }> {
    const base = join(this.opts.sys, 'class', 'net');
    const all = await readdir(base).catch(() => [] as string[]);
    const out: CounterValue[] = [];
    const names = new Set<string>();
    for (const iface of all) {
      if ((await readlink(join(base, iface, 'device')).catch(() => null)) === null) continue;
      names.add(iface);
      const vals = await Promise.all(NIC_COUNTERS.map((c) => readText(join(base, iface, 'statistics', c))));
      NIC_COUNTERS.forEach((counter, i) => {
        const text = vals[i];
        if (text === null || text === undefined) return;
        try {
          out.push({ file: 'nic', counter, iface, value: parseStatisticsValue(text, counter), bits: 64 });
        } catch (err) {
          this.logBad(`statistics/${counter}`, err);
        }
      });
    }
    return { values: out, names };
  }

  private logBad(file: string, err: unknown): void {
    if (this.loggedBad.has(file)) return;
    this.loggedBad.add(file);
    log.debug({ file, err: isKdropError(err) ? err.message : String(err) }, 'counter file not understood: left out');
  }
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

function openFd(path: string): Promise<number | null> {
  return new Promise((resolve) => openCb(path, 'r', (err, fd) => resolve(err ? null : fd)));
}

/** Reads the whole file from offset 0 (positional reads until one returns 0 bytes). */
async function preadAll(fd: number, buf: Buffer): Promise<string> {
  let total = 0;
  let big: Buffer[] | null = null;
  for (;;) {
    const n = await new Promise<number>((resolve, reject) => readCb(fd, buf, total % buf.length, buf.length - (total % buf.length), total, (err, bytes) => (err ? reject(err) : resolve(bytes))));
    if (n === 0) break;
    total += n;
    if (total % buf.length === 0) (big ??= []).push(Buffer.from(buf));
  }
  if (big === null) return buf.toString('utf8', 0, total);
  return Buffer.concat([...big, buf.subarray(0, total % buf.length)]).toString('utf8');
}

/** Runs the jobs, at most one per buffer at a time; each job gets a buffer of its own while it runs. */
async function runBounded(jobs: ReadonlyArray<(buf: Buffer) => Promise<void>>, buffers: readonly Buffer[]): Promise<void> {
  let next = 0;
  const worker = async (buf: Buffer): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      await job?.(buf);
    }
  };
  await Promise.all(buffers.slice(0, jobs.length).map(worker));
}
