/**
 * The kernel drop counters kfree_skb never sees, per owner: finds one process per network namespace
 * through the /proc scan (proc-scan.ts), reads each namespace's counters through it (the source stage's
 * CounterReader), turns them into interval deltas and names the owner of each namespace like the drops'
 * (the host's namespace, and so hostNetwork pods, as host: the node). Counters are reported beside the
 * kfree_skb drops, never added to them.
 */
import type { HostPaths } from '../host-paths.js';
import { logger } from '../log.js';
import { CounterDeltas, CounterReader, type CounterFile, type CounterName, type NetnsTarget, type QstatsStatus } from '../source/counters/index.js';
import { scanProc, type ProcScan } from './proc-scan.js';
import { HOST_OWNER } from './owners.js';
import type { NetnsOwner, NetnsResolver } from './types.js';
import { compareText } from '../vocabulary/order.js';

const log = logger('counters');

/** One counter's growth in one interval, with its owner. */
export interface CounterEntry {
  readonly file: CounterFile;
  readonly counter: CounterName;
  /** Interface for net/dev and NIC counters. */
  readonly iface: string | null;
  /** receive | transmit for interface counters, null for the others. */
  readonly direction: 'receive' | 'transmit' | null;
  /** Netns inode; null for the node's physical NICs. */
  readonly netns: number | null;
  readonly owner: NetnsOwner;
  readonly count: number;
}

export interface CounterCollectorOptions {
  readonly paths: HostPaths;
  readonly resolver: NetnsResolver;
  /** How often /proc is rescanned for namespaces (default 30 s); also whenever a namespace's pid is gone. */
  readonly rescanMs?: number;
  readonly now?: () => number;
  /** Replaces scanProc (unit tests). */
  readonly scan?: (procDir: string) => Promise<ProcScan>;
  /** Files read at once (default 16). */
  readonly concurrency?: number;
  /** kdrop-probe, for the NICs' netdev queue stats (`--qstats`); absent: not read. */
  readonly qstatsProbe?: string;
}

export class CounterCollector {
  private readonly reader: CounterReader;
  private readonly deltas = new CounterDeltas();
  private readonly scan: (procDir: string) => Promise<ProcScan>;
  private readonly now: () => number;
  private targets: NetnsTarget[] = [];
  private lastScan = -Infinity;
  private needScan = true;
  private readableFiles: ReadonlySet<CounterFile> = new Set();
  private primed: Promise<unknown> | null = null;

  constructor(private readonly opts: CounterCollectorOptions) {
    this.reader = new CounterReader({
      proc: opts.paths.proc,
      sys: opts.paths.nicSys ?? opts.paths.sys,
      ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
      ...(opts.qstatsProbe === undefined ? {} : { qstatsProbe: opts.qstatsProbe }),
    });
    this.scan = opts.scan ?? scanProc;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Takes the baseline now (in the background), so that the first tick reports what grew since the
   * command started rather than nothing.
   */
  prime(): Promise<unknown> {
    this.primed ??= this.read().then(
      () => log.info({ netns: this.targets.length, files: [...this.readableFiles] }, 'reading the kernel drop counters beside the drops'),
      (err: unknown) => log.warn({ err: String(err) }, 'cannot read the kernel drop counters'),
    );
    return this.primed;
  }

  /** Reads every namespace once and returns the growth since the previous call, most first. */
  async tick(): Promise<CounterEntry[]> {
    if (this.primed !== null) {
      const p = this.primed;
      this.primed = Promise.resolve();
      await p;
    }
    return await this.read();
  }

  private async read(): Promise<CounterEntry[]> {
    const now = this.now();
    if (this.needScan || now - this.lastScan >= (this.opts.rescanMs ?? 30_000)) await this.rescan(now);
    let read = await this.reader.read(this.targets);
    if (read.stale.length > 0) {
      // The process a netns was read through is gone or moved (it may have been a short-lived one): scan
      // again now and read those namespaces through another process, so the interval misses nothing.
      const gone = new Set(read.stale);
      await this.rescan(now);
      const retry = this.targets.filter((t) => gone.has(t.inode));
      const again = retry.length > 0 ? await this.reader.read(retry, { nics: false }) : null;
      if (again !== null) {
        const values = new Map(read.values);
        for (const [k, v] of again.values) values.set(k, v);
        read = { ...read, values, readable: new Set([...read.readable, ...again.readable]) };
      }
      const still = new Set(again?.stale ?? []);
      this.targets = this.targets.filter((t) => !still.has(t.inode));
      this.needScan = still.size > 0;
    }
    this.readableFiles = read.readable;
    const out: CounterEntry[] = [];
    for (const d of this.deltas.next(read.values)) {
      const owner = d.netns === null ? HOST_OWNER : this.opts.resolver.resolve(d.netns, 0);
      const direction = /^rx[_-]/.test(d.counter) ? 'receive' : /^tx[_-]/.test(d.counter) ? 'transmit' : null;
      out.push({ file: d.file, counter: d.counter, iface: d.iface, direction, netns: d.netns, owner, count: d.delta });
    }
    return out.sort((a, b) => b.count - a.count || compareText(a.counter, b.counter));
  }

  /** Closes the counter files held open between ticks (each holds its netns). */
  close(): void {
    this.reader.close();
  }

  private async rescan(now: number): Promise<void> {
    try {
      const scan = await this.scan(this.opts.paths.proc);
      this.targets = [...scan.netnsPids].map(([inode, pid]) => ({ inode, pid }));
      this.lastScan = now;
      this.needScan = false;
    } catch (err) {
      log.debug({ err: String(err) }, 'proc scan for counters failed');
    }
  }

  /** Namespaces read at the last tick. */
  netnsCount(): number {
    return this.targets.length;
  }

  /** What the last read of the NICs' queue stats found. */
  qstatsStatus(): QstatsStatus {
    return this.reader.qstatsStatus();
  }

  /** Which counter files answered at the last tick. */
  readable(): ReadonlySet<CounterFile> {
    return this.readableFiles;
  }
}
