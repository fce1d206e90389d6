/**
 * One measurement of the kernel drop counters' cost, in a process of its own (started by
 * bench/lib/counters.ts with --expose-gc): the collector as watch and agent run it, over every netns of
 * this host. Prints one JSON line.
 *
 *   node --expose-gc dist/bench/counters-child.js TICKS
 */
import { CounterCollector } from '../src/enrich/counter-collector.js';
import { HostNetnsResolver } from '../src/enrich/host-resolver.js';
import { scanProc } from '../src/enrich/proc-scan.js';

const ticks = Number(process.argv[2] ?? '20');
const paths = { proc: '/proc', sys: '/sys', tracefs: null };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

gc();
const heap0 = process.memoryUsage().heapUsed;
const rss0 = process.memoryUsage().rss;
const resolver = await HostNetnsResolver.create(paths);
const collector = new CounterCollector({ paths, resolver, rescanMs: 3_600_000 });
await collector.prime();
const perTick: { cpuMs: number; wallMs: number }[] = [];
for (let i = 0; i < ticks; i++) {
  const c0 = cpuMs();
  const w0 = performance.now();
  await collector.tick();
  perTick.push({ cpuMs: cpuMs() - c0, wallMs: performance.now() - w0 });
  await new Promise((r) => setTimeout(r, 50));
}
gc();
const heap1 = process.memoryUsage().heapUsed;
const rss1 = process.memoryUsage().rss;
// The /proc scan that finds one pid per netns (every 30 s, and when a pid is gone).
const scans: number[] = [];
let processes = 0;
for (let i = 0; i < 3; i++) {
  const c0 = cpuMs();
  processes = (await scanProc('/proc')).processes;
  scans.push(cpuMs() - c0);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({
    netns: collector.netnsCount(),
    processes,
    tickCpuMs: median(perTick.map((t) => t.cpuMs)),
    tickCpuMsMax: Math.max(...perTick.map((t) => t.cpuMs)),
    tickWallMs: median(perTick.map((t) => t.wallMs)),
    scanCpuMs: median(scans),
    heapBytes: heap1 - heap0,
    rssBytes: rss1 - rss0,
    rssTotalBytes: rss1,
  })}\n`,
);
