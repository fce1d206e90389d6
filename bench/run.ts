/**
 * `npm run bench`: what does kdrop cost the node, and does it miss anything? Every scenario runs in one
 * process on the same machine, interleaved, and is reported as ratios against the untraced baseline.
 *
 *   npm run bench -- [--seconds 5] [--repeat 3] [--only NAME,NAME] [--scale [--senders N]] [--out DIR]
 *                    [--cli bundle|tree] [--image NAME[,NAME]]
 *   npm run bench -- --counters [--counters-netns 1,50,200] [--out DIR]   (the kernel drop counters' cost)
 *
 * kdrop runs from the bundle the image ships (dist/bundle/kdrop.mjs, `npm run bundle`) unless --cli tree
 * (the compiled dist/src/cli.js with node_modules). The report's header carries the size of the images
 * NAME,... (default localhost/kdrop:dev and localhost/kdrop:dev-arm64, built by scripts/image/build.sh and
 * scripts/image/build.sh --arch arm64) as buildah gives it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchNetns, type BenchNetns } from './lib/netns.js';
import { allMonitors, type Monitor, type MonitorContext } from './lib/monitors.js';
import { processTree, rssPeakSampler, treeCpuSeconds } from './lib/proc-tree.js';
import { spread, type Spread } from './lib/stats.js';
import { renderMarkdown, renderSvg, type ScenarioResult } from './lib/report.js';
import { programStats, withBpfStats } from './lib/bpf-stats.js';
import { counterBench, renderCounterMarkdown } from './lib/counters.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '3' },
    only: { type: 'string' },
    scale: { type: 'boolean', default: false },
    senders: { type: 'string' },
    out: { type: 'string', default: join(root, 'bench', 'results') },
    counters: { type: 'boolean', default: false },
    'counters-netns': { type: 'string', default: '1,50,200' },
    cli: { type: 'string', default: 'bundle' },
    image: { type: 'string', default: 'localhost/kdrop:dev,localhost/kdrop:dev-arm64' },
  },
});
const seconds = Number(args.seconds);
const repeat = Number(args.repeat);
const senders = args.scale ? Number(args.senders ?? Math.max(1, cpus().length - 1)) : 1;
if (!(seconds > 0) || !(repeat >= 1) || !(senders >= 1) || !['bundle', 'tree'].includes(args.cli!)) {
  process.stderr.write(`bench: expected --seconds > 0, --repeat >= 1, --senders >= 1; --cli bundle|tree; found ${args.seconds}, ${args.repeat}, ${args.senders}, ${args.cli}\n`);
  process.exit(2);
}

function buildDropgen(): string {
  // A prebuilt binary for hosts without a compiler (KDROP_DROPGEN), else compiled here.
  const prebuilt = process.env['KDROP_DROPGEN'];
  if (prebuilt) return prebuilt;
  const out = join(root, 'dist', 'bench', 'dropgen');
  execFileSync('gcc', ['-O2', '-Wall', '-o', out, join(root, 'bench', 'dropgen.c')]);
  return out;
}

/** "NAME: SIZE" from `buildah images` (SI units, as docker prints them), or why there is none. */
function imageSize(name: string): string {
  try {
    const out = execFileSync('buildah', ['images', '--json', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const size = (JSON.parse(out) as { size?: string }[])[0]?.size;
    return size ? `${name} ${size}` : `${name}: not built`;
  } catch {
    return `${name}: not built (scripts/image/build.sh${name.endsWith('-arm64') ? ' --arch arm64' : ''} --tag ${name}) or no buildah`;
  }
}

interface Load {
  sent: number;
  seconds: number;
  rate: number;
  /** the senders' CPU seconds (the receive path and the drop run in their context) */
  cpu_s: number;
}

/** Runs `senders` dropgen processes in the netns, each pinned to its own core (core 0 left to the monitor when possible). */
async function load(ns: BenchNetns, dropgen: string, loadSeconds = seconds): Promise<Load> {
  const n = cpus().length;
  const runs = Array.from({ length: senders }, (_, i) => {
    const core = n > 1 ? 1 + (i % (n - 1)) : 0;
    return new Promise<Load>((resolve, reject) => {
      const [cmd = '', ...rest] = [...ns.prefix, 'taskset', '-c', String(core), dropgen, '--seconds', String(loadSeconds), '--lo-up', ns.loUp ? '1' : '0'];
      const c = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code, signal) => { // 'close': stdout fully read ('exit' can come first)
        try {
          if (code !== 0) throw new Error(`exit code ${code}, signal ${signal}`);
          resolve(JSON.parse(out) as Load);
        } catch (err) {
          reject(new Error(`dropgen on core ${core} failed (${(err as Error).message}); its output: ${JSON.stringify(out)}`));
        }
      });
    });
  });
  const all = await Promise.all(runs);
  return { sent: all.reduce((a, r) => a + r.sent, 0), seconds: Math.max(...all.map((r) => r.seconds)), rate: all.reduce((a, r) => a + r.rate, 0), cpu_s: all.reduce((a, r) => a + (r.cpu_s ?? Number.NaN), 0) };
}

interface Sample {
  rate: number;
  /** drops per sender CPU second */
  cpuRate: number;
  sent: number;
  counted: number;
  lost: number;
  cpuPerLoadS: number;
  postCpuS: number;
  rssBytes: number;
  rootRssBytes: number;
  readyMs: number;
  firstReportMs: number | null;
  /** In-kernel ns per program run (bpf_stats, measured on a separate 1 s load); NaN when not a BPF monitor. */
  kernelNsPerEvent: number;
}

async function runOnce(m: Monitor | null, ctx: MonitorContext, ns: BenchNetns, dropgen: string): Promise<Sample> {
  if (m === null) {
    const l = await load(ns, dropgen);
    return { rate: l.rate, cpuRate: l.sent / l.cpu_s, sent: l.sent, counted: Number.NaN, lost: 0, cpuPerLoadS: 0, postCpuS: 0, rssBytes: 0, rootRssBytes: 0, readyMs: 0, firstReportMs: null, kernelNsPerEvent: Number.NaN };
  }
  const running = await m.start(ctx);
  // Monitor on core 0, senders on the others: the kernel's per-drop cost stays in the sender's
  // context, and the monitor's userspace work does not steal the sender's core.
  if (cpus().length > 1) {
    for (const p of processTree(running.pid)) {
      try {
        execFileSync('taskset', ['-a', '-p', '-c', '0', String(p.pid)], { stdio: 'ignore' });
      } catch {
        /* a short-lived helper process may be gone already */
      }
    }
  }
  const rss = rssPeakSampler(running.pid);
  const cpu0 = treeCpuSeconds(running.pid);
  const l = await load(ns, dropgen);
  const cpu1 = treeCpuSeconds(running.pid);
  // The in-kernel cost per event, on a separate short load with bpf_stats on (the stats' own clock reads
  // would otherwise slow the throughput run); its drops count towards `sent` too.
  let kernelNsPerEvent = Number.NaN;
  let extraSent = 0;
  if (m.bpf) {
    const pids = new Set(processTree(running.pid).map((p) => p.pid));
    await withBpfStats(async () => {
      const s0 = programStats(pids);
      const l2 = await load(ns, dropgen, 1);
      const s1 = programStats(pids);
      extraSent = l2.sent;
      if (s1.cnt > s0.cnt) kernelNsPerEvent = (s1.ns - s0.ns) / (s1.cnt - s0.cnt);
    });
  }
  await new Promise((r) => setTimeout(r, 1500)); // let the monitor read its last interval
  const peak = rss.stop();
  const res = await running.stop();
  return {
    rate: l.rate,
    cpuRate: l.sent / l.cpu_s,
    sent: l.sent + extraSent,
    counted: res.counted,
    lost: res.lost,
    cpuPerLoadS: (cpu1 - cpu0) / l.seconds,
    postCpuS: res.postCpuS,
    rssBytes: peak.tree,
    rootRssBytes: peak.root,
    readyMs: running.readyMs,
    firstReportMs: running.firstReportMs(),
    kernelNsPerEvent,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces, tracing)');
  const dropgen = buildDropgen();
  const ns = await benchNetns();
  const cli = args.cli === 'tree' ? join(root, 'dist', 'src', 'cli.js') : join(root, 'dist', 'bundle', 'kdrop.mjs');
  const ctx: MonitorContext = { netns: ns.inode, node: process.execPath, cli };
  const only = args.only ? new Set(args.only.split(',')) : null;
  const monitors = allMonitors().filter((m) => !only || only.has(m.name));
  const skipped: { name: string; why: string }[] = [];
  const active = monitors.filter((m) => {
    const why = m.skipReason(ctx);
    if (why) skipped.push({ name: m.name, why });
    return !why;
  });
  const samples = new Map<string, Sample[]>([['baseline', []], ...active.map((m) => [m.name, []] as [string, Sample[]])]);
  try {
    for (let r = 0; r < repeat; r++) {
      // Interleave scenarios (baseline between each) so drift on a shared machine hits all alike.
      for (const m of [null, ...active]) {
        const name = m?.name ?? 'baseline';
        process.stderr.write(`bench: round ${r + 1}/${repeat} ${name}\n`);
        samples.get(name)!.push(await runOnce(m, ctx, ns, dropgen));
      }
    }
  } finally {
    await ns.remove();
  }
  const base = spread(samples.get('baseline')!.map((s) => s.rate)).median;
  const cpuBase = spread(samples.get('baseline')!.map((s) => s.cpuRate)).median;
  const results: ScenarioResult[] = [...samples].map(([name, ss]) => ({
    name,
    note: monitors.find((m) => m.name === name)?.note ?? 'no tracing',
    rate: spread(ss.map((s) => s.rate)),
    throughputRatio: spread(ss.map((s) => s.rate / base)),
    cpuThroughputRatio: spread(ss.map((s) => s.cpuRate / cpuBase)),
    exactness: spread(ss.map((s) => s.counted / s.sent)),
    lost: spread(ss.map((s) => s.lost)),
    cpuPct: spread(ss.map((s) => s.cpuPerLoadS * 100)),
    postCpuS: spread(ss.map((s) => s.postCpuS)),
    rssMiB: spread(ss.map((s) => s.rssBytes / 2 ** 20)),
    rootRssMiB: spread(ss.map((s) => s.rootRssBytes / 2 ** 20)),
    readyS: spread(ss.map((s) => s.readyMs / 1000)),
    firstReportS: spread(ss.map((s) => (s.firstReportMs === null ? Number.NaN : s.firstReportMs / 1000))),
    kernelNs: spread(ss.map((s) => s.kernelNsPerEvent)),
  }));
  const meta = {
    date: new Date().toISOString(),
    host: hostname(),
    kernel: release(),
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    seconds,
    repeat,
    senders,
    bpftrace: (() => {
      try {
        return execFileSync('bpftrace', ['--version']).toString().trim();
      } catch {
        return 'absent';
      }
    })(),
    cli: args.cli,
    image: args.image!.split(',').filter(Boolean).map(imageSize).join(', '),
    skipped,
  };
  mkdirSync(args.out!, { recursive: true });
  const stem = args.scale ? 'bench-scale' : 'bench';
  writeFileSync(join(args.out!, `${stem}.json`), `${JSON.stringify({ meta, results }, null, 2)}\n`);
  const md = renderMarkdown(meta, results);
  writeFileSync(join(args.out!, `${stem}.md`), md);
  writeFileSync(join(args.out!, `${stem}.svg`), renderSvg(results));
  process.stdout.write(md);
  process.stdout.write(`\nwritten: ${join(args.out!, `${stem}.{md,json,svg}`)}\n`);
}

/** `--counters`: the kernel drop counters' cost per number of netns, at the agent's default 5 s interval. */
async function mainCounters(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the counters benchmark needs root (network namespaces, other processes\' /proc/PID/net)');
  const sizes = args['counters-netns']!.split(',').map(Number);
  const ticks = 20;
  const rows = await counterBench(process.execPath, join(root, 'dist', 'bench', 'counters-child.js'), sizes, 5, ticks);
  const meta = { date: new Date().toISOString(), host: hostname(), kernel: release(), cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`, ticks };
  mkdirSync(args.out!, { recursive: true });
  writeFileSync(join(args.out!, 'bench-counters.json'), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  const md = renderCounterMarkdown(meta, rows, 5);
  writeFileSync(join(args.out!, 'bench-counters.md'), md);
  process.stdout.write(`${md}\nwritten: ${join(args.out!, 'bench-counters.{md,json}')}\n`);
}

export type { Spread };
await (args.counters ? mainCounters() : main());
