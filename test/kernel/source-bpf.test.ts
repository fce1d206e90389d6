/**
 * BpfSource against the real kernel and the real kdrop-probe (scripts/build-probe.sh). Drops are made in
 * fresh network namespaces so the counts for their netns inodes are exact.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmdirSync, utimesSync } from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { DropSample } from '../../src/source/types.js';
import { DeltaTracker } from '../../src/source/delta.js';
import { BpfSource, checkProbe, type AttachType } from '../../src/source/bpf/index.js';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { processGone } from '../helpers/tracer.js';
import { startCli, sumRecords, type CliProcess } from '../helpers/cli.js';
import { PIN_ROOT, PROBE, kernelTakesAtomics, pinsOf, probeSkipReason } from '../helpers/probe.js';
import { reasonCode } from '../helpers/running-kernel.js';

const skip = probeSkipReason();
// The running kernel's codes (numbering drifts between kernels); unused when skipped.
const NO_SOCKET = skip === null ? reasonCode('NO_SOCKET') : -1;
const NETFILTER_DROP = skip === null ? reasonCode('NETFILTER_DROP') : -1;
const RESTART = { maxRestarts: 3, initialDelayMs: 100, maxDelayMs: 1000 };

function sum(samples: readonly DropSample[], netns: number, reasonCode: number | null, protocol: number): number {
  return samples.filter((s) => s.netns === netns && (reasonCode === null || s.reasonCode === reasonCode) && s.protocol === protocol).reduce((a, s) => a + s.count, 0);
}

/** Collects until the total for (netns, reason, protocol) reaches `want` (never decreasing), then once more. */
async function waitTotal(src: BpfSource, netns: number, reason: number, protocol: number, want: number): Promise<number> {
  let last = 0;
  await waitFor(
    async () => {
      const t = sum(await src.collect(), netns, reason, protocol);
      assert.ok(t >= last, `total went backwards: ${last} -> ${t}`);
      last = t;
      return t >= want;
    },
    30_000,
    100,
  );
  await new Promise((r) => setTimeout(r, 200));
  const t = sum(await src.collect(), netns, reason, protocol);
  assert.ok(t >= last, `total went backwards: ${last} -> ${t}`);
  return t;
}

const namespaces: TestNetns[] = [];
async function newNs(): Promise<TestNetns> {
  const ns = await createNetns('kdropbpf');
  namespaces.push(ns);
  return ns;
}
after(async () => {
  for (const ns of namespaces) await ns.remove();
});

describe('kdrop-probe --check', { skip: skip ?? false }, () => {
  test('tp_btf, raw_tp and the classic tracepoint all load and attach on this kernel', async () => {
    const { results } = await checkProbe(PROBE);
    assert.deepEqual(
      results.map((r) => [r.attach, r.ok]),
      [
        ['tp_btf', true],
        ['raw_tp', true],
        ['tracepoint', true],
      ],
    );
  });

  test('--no-atomics: the pre-5.12 object (no BPF atomics but add) loads and attaches with all three too', async () => {
    const { stdout } = await promisify(execFile)(PROBE, ['--check', '--no-atomics']);
    assert.deepEqual(stdout.trim().split('\n'), ['W the pre-5.12 object is checked (--no-atomics)', 'CHECK tp_btf ok', 'CHECK raw_tp ok', 'CHECK tracepoint ok']);
  });

  /** The READY line of a loader started with `args`, then stopped. */
  async function readyLine(args: readonly string[]): Promise<string> {
    const child = spawn(PROBE, ['--no-samples', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      for await (const line of createInterface({ input: child.stdout })) if (line.startsWith('READY ')) return line;
      throw new Error('kdrop-probe exited without READY');
    } finally {
      child.stdin.end('stop\n');
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    }
  }

  test('READY says which object is loaded: atomics=1 where the kernel takes compare-and-swap (5.12+), atomics=0 when forced', async () => {
    assert.match(await readyLine([]), new RegExp(` atomics=${kernelTakesAtomics() ? 1 : 0} `));
    assert.match(await readyLine(['--no-atomics']), / attach=tp_btf .* atomics=0 /);
  });

  test('READY says qdisc=1 (qdisc:qdisc_drop joined) exactly where the running kernel has that tracepoint, with either object', async () => {
    // The loader asks BTF (btf_trace_qdisc_drop); the test asks tracefs.
    const has = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].some((t) => existsSync(`${t}/events/qdisc/qdisc_drop/format`));
    assert.match(await readyLine([]), new RegExp(` qdisc=${has ? 1 : 0}$`));
    assert.match(await readyLine(['--no-atomics']), new RegExp(` atomics=0 qdisc=${has ? 1 : 0}$`));
  });
});

describe('BpfSource (tp_btf): exact counts', { skip: skip ?? false, timeout: 240_000 }, () => {
  let src: BpfSource | undefined;
  before(async () => {
    src = new BpfSource({ hasReason: true, probe: PROBE, readIntervalMs: 500, restart: RESTART });
    await src.start();
  });
  after(async () => {
    await src?.stop();
  });

  test('attached through tp_btf, maps and link pinned under a directory named after this process', () => {
    assert.equal(src!.programStats().attach, 'tp_btf');
    const dir = src!.pins;
    assert.ok(dir?.startsWith(`${PIN_ROOT}/${process.pid}-`), `pinned at ${dir}`);
    assert.deepEqual(readdirSync(dir!).sort(), ['buckets', 'counts0', 'counts1', 'ctl', 'global_bucket', 'last', 'link', 'lost', 'sample_stats', 'samples', 'stacks']);
  });

  test('IPv4 UDP to a closed port: exactly N with NO_SOCKET for the netns, bytes counted', async () => {
    const ns = await newNs();
    await ns.sendUdp(37, { family: 4, port: 9, size: 16 });
    assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x0800, 37), 37);
    const s = (await src!.collect()).filter((x) => x.netns === ns.inode);
    assert.ok(s.every((x) => x.address > 0xffff000000000000n), 'kernel text addresses');
    assert.ok(s.every((x) => x.bytes !== null && x.bytes >= x.count * 16), 'bytes include the payload');
  });

  test('IPv6 UDP to a closed port: exactly N with NO_SOCKET, protocol 0x86dd', async () => {
    const ns = await newNs();
    await ns.sendUdp(23, { family: 6, port: 9 });
    assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x86dd, 23), 23);
  });

  test("keys alternating drop by drop, then one key flooding across reads: exact per key (each CPU's last-key slot)", async () => {
    const ns = await newNs();
    // Every drop changes key: the slot moves each time, and its first drop goes to the hash directly.
    await ns.sendUdp(300, { family: 'alt', port: 9 });
    // One key for ~1 s while the source reads every 500 ms: the slot holds uncounted drops at each read.
    await ns.sendUdp(20_000, { family: 6, port: 9 });
    assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x0800, 300), 300);
    assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x86dd, 20_300), 20_300);
  });

  test('nftables drop rule: exactly N with NETFILTER_DROP', async () => {
    const ns = await newNs();
    await ns.exec(['nft', 'table inet kdroptest { chain input { type filter hook input priority 0; policy accept; udp dport 4242 drop; }; }']);
    await ns.sendUdp(19, { family: 4, port: 4242 });
    assert.equal(await waitTotal(src!, ns.inode, NETFILTER_DROP, 0x0800, 19), 19);
    assert.equal(sum(await src!.collect(), ns.inode, NO_SOCKET, 0x0800), 0);
  });

  test('loader SIGKILLed during a flood, twice: restarted on the pinned maps, counted == sent', async () => {
    const ns = await newNs();
    const N = 400_000;
    let flooding = true;
    const flood = ns.sendUdp(N, { family: 4, port: 9 }).finally(() => {
      flooding = false;
    });
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 400));
      assert.ok(flooding, 'the flood is still running when the loader is killed');
      const pid = src!.pid;
      assert.ok(pid !== undefined, 'a loader is running');
      process.kill(pid, 'SIGKILL');
      assert.ok(await waitFor(() => src!.pid !== undefined && src!.pid !== pid, 20_000, 20), 'loader restarted');
    }
    await flood;
    assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x0800, N), N);
    assert.equal(src!.stats().restarts, 2);
    assert.equal(src!.stats().lostEvents, 0);
  });

  test('stop(): final counts kept without a collect, pins removed, loader gone', async () => {
    const ns = await newNs();
    const pid = src!.pid!;
    const dir = src!.pins!;
    await ns.sendUdp(11, { family: 4, port: 9 });
    await src!.stop();
    assert.equal(sum(await src!.collect(), ns.inode, NO_SOCKET, 0x0800), 11);
    assert.equal(existsSync(dir), false, 'pins removed');
    assert.ok(await processGone(pid));
    assert.equal(src!.stats().badLines, 0);
  });
});

for (const attach of ['raw_tp', 'tracepoint'] as AttachType[]) {
  test(`BpfSource (${attach}): exactly N with NO_SOCKET and the netns`, { skip: skip ?? false, timeout: 60_000 }, async () => {
    const src = new BpfSource({ hasReason: true, probe: PROBE, attach, readIntervalMs: 0 });
    await src.start();
    try {
      assert.equal(src.programStats().attach, attach);
      const ns = await newNs();
      await ns.sendUdp(29, { family: 4, port: 9 });
      await ns.sendUdp(7, { family: 6, port: 9 });
      assert.equal(await waitTotal(src, ns.inode, NO_SOCKET, 0x0800, 29), 29);
      assert.equal(sum(await src.collect(), ns.inode, NO_SOCKET, 0x86dd), 7);
    } finally {
      await src.stop();
    }
  });
}

describe('bounded memory', { skip: skip ?? false, timeout: 240_000 }, () => {
  test('key churn over 3x the map size: exact per netns, kernel maps rotated, Node keeps only recent keys', async () => {
    const src = new BpfSource({ hasReason: true, probe: PROBE, maxKeys: 16, readIntervalMs: 0, idleCollects: 1 });
    await src.start();
    const deltas = new DeltaTracker();
    const counted = new Map<number, number>();
    const take = async (): Promise<void> => {
      for (const d of deltas.next(await src.collect())) if (d.netns !== null) counted.set(d.netns, (counted.get(d.netns) ?? 0) + d.count);
    };
    const sent = new Map<number, number>();
    let maxHeld = 0;
    try {
      // 12 netns x 4 keys (IPv4/IPv6 x NO_SOCKET/NETFILTER_DROP) = 48 keys, 8 per interval.
      for (let round = 0; round < 6; round++) {
        for (let j = 0; j < 2; j++) {
          const ns = await newNs();
          await ns.exec(['nft', 'table inet kdroptest { chain input { type filter hook input priority 0; policy accept; udp dport 4242 drop; }; }']);
          const n = 3 + round + j;
          await ns.sendUdp(n, { family: 4, port: 9 });
          await ns.sendUdp(n, { family: 6, port: 9 });
          await ns.sendUdp(n, { family: 4, port: 4242 });
          await ns.sendUdp(n, { family: 6, port: 4242 });
          sent.set(ns.inode, 4 * n);
        }
        await take();
        maxHeld = Math.max(maxHeld, src.keysHeld);
      }
      await take();
      await take();
      for (const [inode, n] of sent) assert.equal(counted.get(inode), n, `netns ${inode}`);
      assert.equal(src.stats().lostEvents, 0, 'no key was refused by a full map');
      // Kept: keys that grew within the last idleCollects+1 collects (8 of ours per interval, plus host noise).
      assert.ok(maxHeld < 48, `Node held ${maxHeld} keys at most`);
      assert.ok(src.keysHeld < 16, `Node holds ${src.keysHeld} keys after the churn`);
    } finally {
      await src.stop();
    }
  });

  test('more keys in one interval than the map holds: the refused drops are counted as lost', async () => {
    const src = new BpfSource({ hasReason: true, probe: PROBE, maxKeys: 2, readIntervalMs: 0 });
    await src.start();
    try {
      await src.collect(); // empty the map of host noise
      const ns = await newNs();
      await ns.exec(['nft', 'table inet kdroptest { chain input { type filter hook input priority 0; policy accept; udp dport 4242 drop; }; }']);
      await ns.sendUdp(10, { family: 4, port: 9 });
      await ns.sendUdp(10, { family: 6, port: 9 });
      await ns.sendUdp(10, { family: 4, port: 4242 });
      await ns.sendUdp(10, { family: 6, port: 4242 });
      const all = await src.collect();
      const counted = all.filter((s) => s.netns === ns.inode).reduce((a, s) => a + s.count, 0);
      const lost = src.stats().lostEvents;
      assert.ok(counted <= 20, `at most 2 keys of 10 fit, counted ${counted}`);
      assert.ok(lost >= 40 - counted, `lost ${lost} >= ${40 - counted}`);
    } finally {
      await src.stop();
    }
  });
});

describe('pins', { skip: skip ?? false, timeout: 60_000 }, () => {
  test('pins nobody holds the lock of are removed at start; others are kept', async () => {
    // The first source makes sure bpffs is mounted (the loader mounts it where it is not).
    const first = new BpfSource({ hasReason: true, probe: PROBE, readIntervalMs: 0 });
    const second = new BpfSource({ hasReason: true, probe: PROBE, readIntervalMs: 0 });
    const dead = `${PIN_ROOT}/${process.pid}-1-0`; // our pid with another start time: a previous run
    try {
      await first.start();
      mkdirSync(dead, { recursive: true });
      // An empty directory is left for a minute (its creator may be about to lock it): this one is older.
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(dead, old, old);
      await second.start();
      assert.equal(existsSync(dead), false, 'stale pins removed');
      assert.ok(existsSync(first.pins!), "a live source's pins kept");
      assert.ok(existsSync(second.pins!), 'own pins kept');
      // The first stops: its directory goes, the shared root stays for the second.
      await first.stop();
      assert.equal(existsSync(first.pins!), false);
      assert.ok(existsSync(PIN_ROOT), 'the root stays while another kdrop pins there');
      await second.stop();
      // The last one out removes the root too (unless a kdrop outside this test pins there).
      const left = existsSync(PIN_ROOT) ? readdirSync(PIN_ROOT) : null;
      assert.ok(left === null || left.length > 0, `${PIN_ROOT} is removed with the last pins, not left empty`);
    } finally {
      await first.stop();
      await second.stop();
      if (existsSync(dead)) rmdirSync(dead);
    }
  });
});

describe('kdrop watch --source bpf killed and restarted', { skip: skip ?? false, timeout: 180_000 }, () => {
  const started: CliProcess[] = [];
  after(async () => {
    for (const w of started) await w.stop('SIGKILL');
  });
  const watch = (netns: number): CliProcess => {
    const w = startCli(['watch', '--source', 'bpf', '--json', '--interval', '1s', '--netns', String(netns)], { KDROP_PROBE: PROBE });
    started.push(w);
    return w;
  };

  test('SIGKILL of kdrop: its loader unpins and exits; the next kdrop counts only its own drops, exactly', async () => {
    const ns = await newNs();
    const first = watch(ns.inode);
    await first.waitForLog('watching skb:kfree_skb', 60_000);
    const pid = first.child.pid!;
    assert.equal(pinsOf(pid).length, 1, 'one pin directory while running');
    await ns.sendUdp(31, { family: 4, port: 9 });
    assert.ok(await waitFor(() => sumRecords(first.stdoutLines, (r) => r['netns'] === ns.inode) >= 31, 30_000, 100));
    await ns.sendUdp(5, { family: 4, port: 9 }); // counted in the kernel, never reported: kdrop dies now
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(await waitFor(() => pinsOf(pid).length === 0, 20_000, 50), 'the loader removed its pins when its parent died');
    assert.equal(sumRecords(first.stdoutLines, (r) => r['netns'] === ns.inode), 31);

    const second = watch(ns.inode);
    await second.waitForLog('watching skb:kfree_skb', 60_000);
    await ns.sendUdp(17, { family: 4, port: 9 });
    assert.ok(await waitFor(() => sumRecords(second.stdoutLines, (r) => r['netns'] === ns.inode) >= 17, 30_000, 100));
    const spid = second.child.pid!;
    assert.equal(await second.stop('SIGINT'), 0);
    assert.equal(sumRecords(second.stdoutLines, (r) => r['netns'] === ns.inode && r['reason'] === 'NO_SOCKET'), 17, 'no double count of the first run');
    assert.deepEqual(pinsOf(spid), [], 'a clean stop unpins');
    assert.deepEqual(pinsOf(pid), []);
  });
});

describe('--source auto', { skip: skip ?? false, timeout: 120_000 }, () => {
  const sourceOf = (lines: readonly string[]): unknown => {
    for (const l of lines) {
      try {
        const r = JSON.parse(l) as { msg?: string; source?: unknown };
        if (r.msg === 'watching skb:kfree_skb') return r.source;
      } catch {
        /* not a log line */
      }
    }
    return undefined;
  };

  test('takes the kernel probe when it loads', async () => {
    const w = startCli(['watch', '--json', '--interval', '1s', '--count', '1'], { KDROP_PROBE: PROBE });
    assert.equal(await w.exited, 0, w.stderrLines.join('\n'));
    assert.equal(sourceOf(w.stderrLines), 'bpf');
  });

  test('without a loader: says why (KDROP_E_PROBE_MISSING) and falls back to the next source', async () => {
    const w = startCli(['watch', '--json', '--interval', '1s', '--count', '1'], { KDROP_PROBE: '/nonexistent/kdrop-probe' });
    assert.equal(await w.exited, 0, w.stderrLines.join('\n'));
    const line = w.stderrLines.find((l) => l.includes('bpf source unavailable, trying the next one'));
    assert.ok(line?.includes('KDROP_E_PROBE_MISSING') && line.includes('/nonexistent/kdrop-probe'), line);
    assert.ok(['bpftrace', 'tracefs'].includes(sourceOf(w.stderrLines) as string));
  });
});
