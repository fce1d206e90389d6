/**
 * One measurement of the kernel drop counters' cost, in a process of its own (started by
 * bench/lib/counters.ts with --expose-gc): the collector as watch and agent run it (with the NICs' queue
 * stats through kdrop-probe --qstats where it is built), over every netns of this host. Prints one JSON line.
 * The queue stats' loader is a child process: its CPU is read from this process's cutime + cstime
 * (/proc/self/stat, children waited for), not from process.cpuUsage().
 *
 *   node --expose-gc dist/bench/counters-child.js TICKS
 */
import { CounterCollector } from '../src/enrich/counter-collector.js';
import { HostNetnsResolver } from '../src/enrich/host-resolver.js';
import { scanProc } from '../src/enrich/proc-scan.js';
import { readFileSync } from 'node:fs';
import { probePath } from '../src/source/bpf/index.js';
import { runQstats } from '../src/source/counters/index.js';

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
const collector = new CounterCollector({ paths, resolver, rescanMs: 3_600_000, qstatsProbe: probePath() });
/** CPU ms of the children waited for (cutime + cstime, fields 16 and 17 of /proc/self/stat, in 100 Hz ticks). */
const childCpuMs = (): number => {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
};
await collector.prime();
const perTick: { cpuMs: number; wallMs: number }[] = [];
const child0 = childCpuMs();
for (let i = 0; i < ticks; i++) {
  const c0 = cpuMs();
  const w0 = performance.now();
  await collector.tick();
  perTick.push({ cpuMs: cpuMs() - c0, wallMs: performance.now() - w0 });
  await new Promise((r) => setTimeout(r, 50));
}
const tickChildCpuMs = (childCpuMs() - child0) / ticks;
// The queue stats read alone (what it adds to a tick): this process's CPU (spawn, parse), the loader's, wall.
const qs = { cpuMs: [] as number[], wallMs: [] as number[], devices: 0, state: collector.qstatsStatus().state as string };
const qChild0 = childCpuMs();
for (let i = 0; i < ticks && qs.state === 'read'; i++) {
  const c0 = cpuMs();
  const w0 = performance.now();
  const r = await runQstats(probePath());
  qs.cpuMs.push(cpuMs() - c0);
  qs.wallMs.push(performance.now() - w0);
  qs.devices = r.available ? r.devices.length : 0;
}
const qstatsChildCpuMs = qs.cpuMs.length > 0 ? (childCpuMs() - qChild0) / qs.cpuMs.length : 0;
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
    tickChildCpuMs,
    qstats: qs.state,
    qstatsDevices: qs.devices,
    qstatsCpuMs: qs.cpuMs.length > 0 ? median(qs.cpuMs) : null,
    qstatsChildCpuMs: qs.cpuMs.length > 0 ? qstatsChildCpuMs : null,
    qstatsWallMs: qs.wallMs.length > 0 ? median(qs.wallMs) : null,
    scanCpuMs: median(scans),
    heapBytes: heap1 - heap0,
    rssBytes: rss1 - rss0,
    rssTotalBytes: rss1,
  })}\n`,
);
