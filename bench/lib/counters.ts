/**
 * `npm run bench -- --counters`: what reading the kernel drop counters costs with 1, 50 and 200 network
 * namespaces (each held by a `sleep` in its own netns, made with util-linux `unshare --net`), at the
 * agent's 5 s interval. Each size is measured in a child process (bench/counters-child.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CounterBenchRow {
  /** Namespaces made for this run (the host's own and any others on the machine are read too). */
  made: number;
  /** Namespaces the collector read. */
  netns: number;
  processes: number;
  tickCpuMs: number;
  tickCpuMsMax: number;
  tickWallMs: number;
  /** CPU of the children a tick waited for (kdrop-probe --qstats), mean per tick. */
  tickChildCpuMs: number;
  /** The queue stats read alone: its state (read, unavailable, error, not read), devices dumped, and per read this process's CPU, the loader's CPU and wall ms (null when not read). */
  qstats: string;
  qstatsDevices: number;
  qstatsCpuMs: number | null;
  qstatsChildCpuMs: number | null;
  qstatsWallMs: number | null;
  scanCpuMs: number;
  /** % of one core at the interval: a tick per interval plus a /proc scan every 30 s. */
  corePct: number;
  heapBytes: number;
  rssBytes: number;
  rssTotalBytes: number;
}

const inodeOf = (pid: number): number | null => {
  try {
    return Number(/net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]);
  } catch {
    return null;
  }
};

async function holders(n: number): Promise<ChildProcess[]> {
  const self = inodeOf(process.pid);
  const ps = Array.from({ length: n }, () => spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' }));
  for (const p of ps) {
    for (let i = 0; i < 200 && (p.pid === undefined || inodeOf(p.pid) === self || inodeOf(p.pid) === null); i++) await new Promise((r) => setTimeout(r, 10));
  }
  return ps;
}

export async function counterBench(node: string, child: string, sizes: readonly number[], intervalS: number, ticks: number): Promise<CounterBenchRow[]> {
  const rows: CounterBenchRow[] = [];
  for (const made of sizes) {
    process.stderr.write(`bench: counters with ${made} netns\n`);
    const ps = await holders(made);
    try {
      const { stdout } = await run(node, ['--expose-gc', child, String(ticks)], { maxBuffer: 1 << 20 });
      const r = JSON.parse(stdout) as Omit<CounterBenchRow, 'made' | 'corePct'>;
      rows.push({ made, ...r, corePct: ((r.tickCpuMs + r.tickChildCpuMs + (r.scanCpuMs * intervalS) / 30) / (intervalS * 1000)) * 100 });
    } finally {
      for (const p of ps) p.kill('SIGKILL');
    }
  }
  return rows;
}

export function renderCounterMarkdown(meta: Record<string, unknown>, rows: readonly CounterBenchRow[], intervalS: number): string {
  const head = '| netns made | netns read | processes | CPU ms per tick (median, max) | wall ms per tick | /proc scan CPU ms | % of one core at ' + intervalS + ' s | heap growth KiB | RSS growth MiB | RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n';
  const body = rows
    .map((r) => `| ${r.made} | ${r.netns} | ${r.processes} | ${r.tickCpuMs.toFixed(1)} (${r.tickCpuMsMax.toFixed(1)}) | ${r.tickWallMs.toFixed(1)} | ${r.scanCpuMs.toFixed(1)} | ${r.corePct.toFixed(3)} | ${(r.heapBytes / 1024).toFixed(0)} | ${(r.rssBytes / 2 ** 20).toFixed(1)} | ${(r.rssTotalBytes / 2 ** 20).toFixed(1)} |`)
    .join('\n');
  const q = rows.find((r) => r.qstatsWallMs !== null);
  const qline =
    q === undefined ? `The NICs' queue stats were not read (${rows[0]?.qstats ?? 'no run'}).`
    : `The NICs' queue stats (kdrop-probe --qstats, once per tick, ${q.qstatsDevices} device(s) dumped): per read ${q.qstatsCpuMs?.toFixed(2)} ms CPU in kdrop (spawn, parse), ${q.qstatsChildCpuMs?.toFixed(2)} ms CPU in the loader (cutime+cstime, 10 ms resolution, mean), ${q.qstatsWallMs?.toFixed(1)} ms wall (median): ${(((q.qstatsCpuMs ?? 0) + (q.qstatsChildCpuMs ?? 0)) / (intervalS * 10)).toFixed(3)} % of one core at ${intervalS} s, included in the ticks above (the loader's CPU in the % column).`;
  return `## kdrop kernel drop counters\n\n${meta['date']} on ${meta['host']}: kernel ${meta['kernel']}, ${meta['cpus']}; ${meta['ticks']} ticks per size.\n\n${head}${body}\n\nA tick reads net/netstat, net/dev and net/stat/nf_conntrack of every netns (one pid each) plus the NICs' sysfs statistics and queue stats; the /proc scan that finds the pids runs every 30 s (amortized in the % column). Target: 200 netns at a 5 s interval at most 2 % of one core.\n\n${qline}\n`;
}
