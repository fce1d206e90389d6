/**
 * Reads the kernel drop counters of each network namespace through one of its processes
 * (/proc/PID/net/{netstat,dev,stat/nf_conntrack}), and the node's physical NICs' statistics from sysfs.
 * One read per file per namespace per call, asynchronous, with bounded concurrency. The pid is checked
 * after the reads (its ns/net link still names the inode), so a pid reused in another namespace is never
 * read as this one's.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isKdropError } from '../../errors.js';
import { logger } from '../../log.js';
import { netstatCounters } from './parse-netstat.js';
import { netDevCounters } from './parse-net-dev.js';
import { conntrackCounters } from './parse-conntrack.js';
import { parseStatisticsValue } from './parse-nic.js';
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
}

interface CounterReadResult {
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

export class CounterReader {
  private readonly concurrency: number;
  private readonly loggedBad = new Set<string>();

  constructor(private readonly opts: CounterReaderOptions) {
    this.concurrency = Math.max(1, opts.concurrency ?? 16);
  }

  async read(targets: readonly NetnsTarget[]): Promise<CounterReadResult> {
    const values = new Map<number | null, CounterValue[]>();
    const stale: number[] = [];
    const readable = new Set<CounterFile>();
    let malformed = 0;
    const jobs = targets.map((t) => async () => {
      const got: CounterValue[] = [];
      for (const [file, rel, parse] of PROC_FILES) {
        const text = await readText(join(this.opts.proc, String(t.pid), rel));
        if (text === null) continue;
        try {
          got.push(...parse(text));
          readable.add(file);
        } catch (err) {
          malformed++;
          this.logBad(rel, err);
        }
      }
      const link = await readlink(join(this.opts.proc, String(t.pid), 'ns', 'net')).catch(() => null);
      if (link !== `net:[${t.inode}]`) stale.push(t.inode);
      else values.set(t.inode, got);
    });
    if (this.opts.nics !== false) jobs.push(async () => {
      const nic = await this.readNics();
      if (nic.length > 0) readable.add('nic');
      values.set(null, nic);
    });
    await runBounded(jobs, Math.max(1, Math.floor(this.concurrency / 3)));
    return { values, stale, malformed, readable };
  }

  /** Interfaces with a `device` link (backed by hardware or a paravirtual device: not veth, bridge, lo). */
  private async readNics(): Promise<CounterValue[]> {
    const base = join(this.opts.sys, 'class', 'net');
    const names = await readdir(base).catch(() => [] as string[]);
    const out: CounterValue[] = [];
    for (const iface of names) {
      if ((await readlink(join(base, iface, 'device')).catch(() => null)) === null) continue;
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
    return out;
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

/** Runs the jobs, at most `limit` at a time. */
async function runBounded(jobs: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      await job?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}
