/**
 * The monitors compared by the benchmark. Each starts as a child process, says when it is attached,
 * and on stop returns how many drops it counted for the benchmark's network namespace.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { onPath } from './on-path.js';
import { probePath } from '../../src/source/bpf/locate.js';
import { dropFunction } from '../../test/helpers/running-kernel.js';

export interface MonitorContext {
  /** netns inode the load runs in */
  readonly netns: number;
  /** node binary (Node 24) and the built CLI */
  readonly node: string;
  readonly cli: string;
}

export interface Running {
  readonly pid: number;
  /** ms from spawn until the monitor reported it is attached */
  readonly readyMs: number;
  /** ms from spawn until its first report containing a drop (null: reports only at exit) */
  firstReportMs(): number | null;
  /** Stops it; resolves with the count for the netns, lost events it reported, and extra CPU (post-processing) */
  stop(): Promise<{ counted: number; lost: number; postCpuS: number }>;
}

export interface Monitor {
  readonly name: string;
  readonly note: string;
  /** Runs a BPF program: the harness reads its in-kernel cost per event from bpf_stats. */
  readonly bpf?: boolean;
  /** null when it can run here, else why not */
  skipReason(ctx: MonitorContext): string | null;
  start(ctx: MonitorContext): Promise<Running>;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}


/** kdrop watch --json, counting the NDJSON records of the benchmark's netns (or function+reason for tracefs). */
function kdropWatch(name: string, source: 'bpf' | 'bpftrace' | 'tracefs', env: Record<string, string> = {}, skip?: () => string | null): Monitor {
  return {
    name,
    note: `kdrop watch --source ${source} --json --interval 1s`,
    bpf: source !== 'tracefs',
    skipReason: (ctx) => (existsSync(ctx.cli) ? (skip?.() ?? sourceSkip(source, env)) : `${ctx.cli} not built`),
    async start(ctx) {
      const t0 = performance.now();
      // tracefs has no netns: count NO_SOCKET drops at the UDPv4 receive function (__udp4_lib_rcv; udp_rcv
      // on 7.x; the benchmark runs alone).
      const filter = source !== 'tracefs' ? ['--netns', String(ctx.netns), '--all'] : ['--function', dropFunction('udp4'), '--reason', 'NO_SOCKET'];
      const child = spawn(ctx.node, [ctx.cli, 'watch', '--source', source, '--json', '--interval', '1s', ...filter], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, KDROP_LOG_LEVEL: 'info', ...env },
      });
      let counted = 0;
      let lost = 0;
      let first: number | null = null;
      let ready = -1;
      let stderr = '';
      const readyP = new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stderr! }).on('line', (line) => {
          stderr += `${line}\n`;
          try {
            const rec = JSON.parse(line) as { msg?: string; lostEvents?: number };
            if (rec.msg === 'watching skb:kfree_skb' && ready < 0) {
              ready = performance.now() - t0;
              resolve();
            }
            // Per-interval reports of new losses (other lines, e.g. the source's stop line, carry totals).
            if (rec.msg === 'drop events lost by the tracer' && typeof rec.lostEvents === 'number') lost += rec.lostEvents;
          } catch {
            /* not a log line */
          }
        });
        child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready: ${stderr.slice(-500)}`)));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const rec = JSON.parse(line) as { count: number };
        counted += rec.count;
        first ??= performance.now() - t0;
      });
      await readyP;
      return {
        pid: child.pid!,
        readyMs: ready,
        firstReportMs: () => first,
        async stop() {
          child.kill('SIGINT');
          await waitExit(child, 20000);
          return { counted, lost, postCpuS: 0 };
        },
      };
    },
  };
}

/** Sum of kdrop_packet_drops_total for one netns from the agent's Prometheus endpoint. */
async function scrapeDrops(port: number, netns: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('kdrop_packet_drops_total{') && line.includes(`kdrop_netns_inode="${netns}"`)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** Why a kdrop source cannot run here, or null. */
function sourceSkip(source: 'bpf' | 'bpftrace' | 'tracefs', env: Record<string, string>): string | null {
  if (source === 'bpftrace' && !onPath('bpftrace') && !env['KDROP_BPFTRACE']) return 'bpftrace not installed';
  if (source === 'bpf' && !existsSync(probePath())) return `kdrop-probe not built at ${probePath()} (scripts/build-probe.sh)`;
  return null;
}

/**
 * `n` network namespaces (unshare --net, loopback up), each with a bash loop sending a UDP datagram to a
 * closed port twice a second: n netns series beside the load's (as n pods would make with pod labels).
 */
function seriesNamespaces(n: number): { stop(): void } {
  const loop = 'ip link set lo up && while :; do printf x > /dev/udp/127.0.0.1/9 2>/dev/null; sleep 0.5; done';
  const kids = Array.from({ length: n }, () => spawn('unshare', ['--net', 'bash', '-c', loop], { stdio: 'ignore' }));
  return {
    stop() {
      for (const k of kids) k.kill('SIGKILL');
    },
  };
}

/**
 * The process environment the image gives the agent (the Dockerfile's `ENV MALLOC_ARENA_MAX=`): the agent
 * scenarios measure the agent as it runs in its container. Empty if the Dockerfile sets none.
 */
export function imageAgentEnv(dockerfile = new URL('../../../Dockerfile', import.meta.url)): Record<string, string> {
  const m = /^ENV MALLOC_ARENA_MAX=(\d+)\s*$/m.exec(readFileSync(dockerfile, 'utf8'));
  return m === null ? {} : { MALLOC_ARENA_MAX: m[1]! };
}

/** kdrop agent, counting from its Prometheus endpoint; with `netnsSeries`, that many more netns series. */
function kdropAgent(source: 'bpf' | 'bpftrace', netnsSeries = 0): Monitor {
  const port = 19000 + (process.pid % 1000) + (source === 'bpf' ? 1 : 0) + (netnsSeries > 0 ? 2 : 0);
  return {
    name: `kdrop agent ${source}${netnsSeries > 0 ? ` ${netnsSeries} netns` : ''}`,
    note: `kdrop agent --source ${source} --interval 1s --labels +kdrop.netns.inode, read from /metrics, with the image's ${Object.entries(imageAgentEnv()).map(([k, v]) => `${k}=${v}`).join(' ') || '(no) environment'}${netnsSeries > 0 ? `; ${netnsSeries} more netns dropping 2/s each (${netnsSeries} series more per metric, as many pods would make)` : ''}`,
    bpf: true,
    skipReason: (ctx) => (!existsSync(ctx.cli) ? `${ctx.cli} not built` : netnsSeries > 0 && !onPath('unshare') ? 'unshare not installed' : sourceSkip(source, {})),
    async start(ctx) {
      const series = netnsSeries > 0 ? seriesNamespaces(netnsSeries) : null;
      const t0 = performance.now();
      const child = spawn(
        ctx.node,
        [ctx.cli, 'agent', '--source', source, '--interval', '1s', '--metrics-address', `127.0.0.1:${port}`, '--otlp-endpoint', 'off', '--labels', '+kdrop.netns.inode', '--final-scrape-wait', '0'],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...imageAgentEnv(), KDROP_LOG_LEVEL: 'info' } },
      );
      let stderr = '';
      let ready = -1;
      let first: number | null = null;
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stderr! }).on('line', (line) => {
          stderr += `${line}\n`;
          if (ready < 0 && line.includes('"msg":"kdrop agent started"')) {
            ready = performance.now() - t0;
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`agent exited (${code}) before it was ready: ${stderr.slice(-500)}`)));
      });
      // First report: the first scrape that shows a drop of the load (which starts right after this).
      const poll = setInterval(() => {
        void scrapeDrops(port, ctx.netns).then((n) => {
          if (n > 0 && first === null) {
            first = performance.now() - t0;
            clearInterval(poll); // found: stop adding scrape load to the measurement
          }
        }, () => undefined);
      }, 100);
      return {
        pid: child.pid!,
        readyMs: ready,
        firstReportMs: () => first,
        async stop() {
          clearInterval(poll);
          await new Promise((r) => setTimeout(r, 1500)); // one more interval read
          const counted = await scrapeDrops(port, ctx.netns);
          const lostLine = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).split('\n').find((l) => l.startsWith('kdrop_tracer_lost_events_total'));
          child.kill('SIGTERM');
          await waitExit(child, 20000);
          series?.stop();
          return { counted, lost: lostLine ? Number(lostLine.slice(lostLine.lastIndexOf(' ') + 1)) : 0, postCpuS: 0 };
        },
      };
    },
  };
}

/** `perf record -e skb:kfree_skb -a` + `perf script` aggregation: the net_dropmonitor way. */
const perfMonitor: Monitor = {
  name: 'perf record + script',
  note: 'perf record -e skb:kfree_skb -a; perf script; count location=<UDPv4 receive function>+ lines (__udp4_lib_rcv; udp_rcv on 7.x)',
  skipReason: () => (onPath('perf') ? null : 'perf not installed (Debian linux-perf)'),
  async start() {
    const dir = mkdtempSync(join(tmpdir(), 'kdrop-bench-perf-'));
    const data = join(dir, 'perf.data');
    const t0 = performance.now();
    const child = spawn('perf', ['record', '-q', '-e', 'skb:kfree_skb', '-a', '-o', data], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // perf record prints nothing when attached: wait for its perf_event file descriptors.
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (child.exitCode !== null) throw new Error(`perf record exited: ${stderr}`);
      try {
        const fds = execFileSync('sh', ['-c', `ls -l /proc/${child.pid}/fd 2>/dev/null | grep -c perf_event || true`]).toString().trim();
        if (Number(fds) > 0) break;
      } catch {
        /* retry */
      }
    }
    const readyMs = performance.now() - t0;
    return {
      pid: child.pid!,
      readyMs,
      firstReportMs: () => null,
      async stop() {
        child.kill('SIGINT');
        await waitExit(child, 30000);
        const script = `perf script -i ${data} -F trace 2>/dev/null | grep -c 'location=${dropFunction('udp4')}+' ; read -r l < /proc/$$/stat; echo "$l" >&2`;
        const r = spawnCapture('bash', ['-c', script]);
        const out = await r;
        // perf's own account of events it could not write (ring buffer full): LOST / LOST_SAMPLES records.
        const stats = (await spawnCapture('perf', ['report', '-i', data, '--stats'])).stdout;
        const lost = [...stats.matchAll(/LOST(?:_SAMPLES)? events:\s+(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
        rmSync(dir, { recursive: true, force: true });
        return { counted: Number(out.stdout.trim()), lost, postCpuS: childCpuFromStat(out.stderr) };
      },
    };
  },
};

/**
 * The kernel probe's static loader alone (no Node): its own attach time, RSS and exactness; counting only
 * (--no-samples), or with the default sampling (1/s per key, burst 3) and its ring buffer read; `pre512`: the
 * object built for kernels before 5.12 (no BPF atomics but add), forced with --no-atomics; `floor`: --floor, a
 * program that returns at once on the same attach point (what bpf_stats give for an empty program on this
 * machine, their own clock reads included: the floor of every kernel ns/event here; it counts nothing).
 */
function probeAlone(samples: boolean, pre512 = false, floor = false): Monitor {
  const args = [...(samples ? ['--interval', '1000'] : ['--interval', '1000', '--no-samples']), ...(pre512 ? ['--no-atomics'] : []), ...(floor ? ['--floor'] : [])];
  return {
    name: floor ? 'empty program (floor)' : `${samples ? 'kdrop-probe samples' : 'kdrop-probe alone'}${pre512 ? ' pre-5.12' : ''}`,
    note: floor
      ? `kdrop-probe ${args.join(' ')}: the same attach point with a program that returns at once (counts nothing)`
      : `kdrop-probe ${args.join(' ')} (the static loader without Node), summing its D lines for the netns${samples ? '; S lines read and discarded' : ''}`,
    bpf: true,
    skipReason: () => sourceSkip('bpf', {}),
    async start(ctx) {
      const t0 = performance.now();
      const child = spawn(probePath(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let counted = 0;
      let lost = 0;
      let first: number | null = null;
      let ready = -1;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const readyP = new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const f = line.split(' ');
          if (f[0] === 'READY' && ready < 0) {
            ready = performance.now() - t0;
            resolve();
          } else if (f[0] === 'D' && f[5] === String(ctx.netns)) {
            counted += Number(f[6]);
            first ??= performance.now() - t0;
          } else if (f[0] === 'END') {
            const n = (k: string): number => Number(/=(\d+)/.exec(f.find((x) => x.startsWith(`${k}=`)) ?? '')?.[1] ?? 0);
            lost = n('lost') + n('misses');
          }
        });
        child.once('exit', (code) => reject(new Error(`kdrop-probe exited (${code}) before it was ready: ${stderr.slice(-500)}`)));
      });
      await readyP;
      return {
        pid: child.pid!,
        readyMs: ready,
        firstReportMs: () => first,
        async stop() {
          child.stdin!.write('stop\n');
          await waitExit(child, 20000);
          return { counted: floor ? Number.NaN : counted, lost, postCpuS: 0 };
        },
      };
    },
  };
}

/** A plain bpftrace one-liner counting by location, printed at exit. */
const bpftraceOneLiner: Monitor = {
  name: 'bpftrace one-liner',
  note: "bpftrace -e 'tracepoint:skb:kfree_skb { @[ksym(args->location)] = count(); }'",
  bpf: true,
  skipReason: () => (onPath('bpftrace') ? null : 'bpftrace not installed'),
  async start() {
    const t0 = performance.now();
    const child = spawn('bpftrace', ['-f', 'json', '-e', 'tracepoint:skb:kfree_skb { @[ksym(args->location)] = count(); }'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let ready = -1;
    const readyP = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (ready < 0 && out.includes('attached_probes')) {
          ready = performance.now() - t0;
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`bpftrace exited (${code})`)));
    });
    await readyP;
    return {
      pid: child.pid!,
      readyMs: ready,
      firstReportMs: () => null,
      async stop() {
        child.kill('SIGINT');
        await waitExit(child, 20000);
        let counted = 0;
        for (const line of out.split('\n')) {
          if (!line.includes('"type": "map"')) continue;
          const m = JSON.parse(line) as { data: Record<string, Record<string, number>> };
          for (const map of Object.values(m.data)) counted += map[dropFunction('udp4')] ?? 0;
        }
        return { counted, lost: 0, postCpuS: 0 };
      },
    };
  },
};

function spawnCapture(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', () => resolve({ stdout, stderr }));
  });
}

/** cutime + cstime (fields 16, 17) of a /proc/<pid>/stat line, in seconds. */
function childCpuFromStat(text: string): number {
  const line = text.trim().split('\n').at(-1) ?? '';
  const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const v = (Number(rest[13]) + Number(rest[14])) / 100;
  return Number.isFinite(v) ? v : 0;
}

/** bpftrace 0.23 from a Debian 13 chroot, when scripts/trixie-chroot.sh has built one. */
function trixieBpftrace(): Record<string, string> | null {
  const cmd = process.env['KDROP_BENCH_BPFTRACE_023'];
  return cmd ? { KDROP_BPFTRACE: cmd } : null;
}

export function allMonitors(): Monitor[] {
  const list: Monitor[] = [
    kdropAgent('bpf'),
    kdropAgent('bpf', 200),
    kdropWatch('kdrop watch bpf', 'bpf'),
    probeAlone(false),
    probeAlone(true),
    probeAlone(true, true),
    probeAlone(false, false, true),
    kdropAgent('bpftrace'),
    kdropWatch('kdrop watch bpftrace', 'bpftrace'),
    kdropWatch('kdrop watch tracefs', 'tracefs'),
    perfMonitor,
    bpftraceOneLiner,
  ];
  const t = trixieBpftrace();
  if (t) list.splice(4, 0, kdropWatch('kdrop watch bpftrace 0.23', 'bpftrace', t));
  return list;
}

