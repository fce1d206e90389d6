/**
 * In the VM: the running kernel's own facts, read the way a test must (never constants): the kfree_skb format
 * (fields, the reason names and codes of its print fmt), whether qdisc:qdisc_drop exists, kallsyms, netns
 * inodes.
 */
import { readFileSync, readlinkSync, existsSync, readdirSync } from 'node:fs';

export const TRACEFS = '/sys/kernel/tracing';

export interface GuestFacts {
  readonly release: string;
  readonly cpus: number;
  readonly fields: string[];
  readonly hasReason: boolean;
  readonly hasRxSk: boolean;
  /** Reason name -> code, from the format's __print_symbolic (empty where the kernel has no reason). */
  readonly reasons: Record<string, number>;
  readonly qdiscDrop: boolean;
  readonly initNetns: number;
}

export function readFacts(cpus: number): GuestFacts {
  const format = readFileSync(`${TRACEFS}/events/skb/kfree_skb/format`, 'utf8');
  const fields = [...format.matchAll(/field:[^;]*?(\w+)(?:\[\d*\])?;/g)].map((m) => m[1]!);
  const reasons: Record<string, number> = {};
  const fmt = format.slice(format.indexOf('print fmt:'));
  for (const m of fmt.matchAll(/\{\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*"(\w+)"\s*\}/g)) reasons[m[2]!] = Number(m[1]);
  return {
    release: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    cpus,
    fields,
    hasReason: fields.includes('reason'),
    hasRxSk: fields.includes('rx_sk'),
    reasons,
    qdiscDrop: existsSync(`${TRACEFS}/events/qdisc/qdisc_drop/format`),
    initNetns: Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))![1]),
  };
}

let symbols: Set<string> | undefined;
/** Whether the kernel's kallsyms has this function name. */
export function inKallsyms(name: string): boolean {
  symbols ??= new Set(readFileSync('/proc/kallsyms', 'utf8').split('\n').map((l) => l.split(/\s+/)[2] ?? ''));
  return symbols.has(name);
}

/** The qdisc_drop event's reason names (where it has a reason field with __print_symbolic). */
export function qdiscReasons(): Record<string, number> {
  const p = `${TRACEFS}/events/qdisc/qdisc_drop/format`;
  if (!existsSync(p)) return {};
  const format = readFileSync(p, 'utf8');
  const out: Record<string, number> = {};
  for (const m of format.slice(format.indexOf('print fmt:')).matchAll(/\{\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*"(\w+)"\s*\}/g)) out[m[2]!] = Number(m[1]);
  return out;
}

/** The pids of the loaders (`kdrop-probe` processes, not its one-shot `--qstats` reads) whose parent is `parent`. */
export function loaderPids(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      // Not the counters' one-shot queue-stats read (`kdrop-probe --qstats`, once per interval), nor a process
      // that is exiting (its cmdline reads empty then: a --qstats read that ended would pass for a new loader).
      if (m && m[1] === 'kdrop-probe' && Number(m[2]) === parent) {
        const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        if (argv[0] !== '' && !argv.includes('--qstats')) out.push(Number(d));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}
