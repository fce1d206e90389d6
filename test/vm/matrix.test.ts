/**
 * The VM matrix (issue 18): kdrop (Node 24, dist, the probe) inside QEMU VMs booted from Debian's own kernels,
 * 5.10 to 7.x on amd64 and 6.12 on arm64 (issue 21: qemu-system-aarch64, the cross-built arm64 probe, arm64 Node
 * and userland; pins in scripts/tools/versions.env), one guest run per kernel doing every check
 * (test/vm/guest.ts), plus one VM with 8 vCPUs on the newest kernel. Expectations come from each kernel's own
 * facts (its kfree_skb format, kallsyms, netns inodes read in the guest), never constants. Also runnable alone:
 * `npm run test:vm`; KDROP_VM_KERNELS=6.1,7 picks kernels by release prefix (or arm64: by architecture), KDROP_VM_PARALLEL (default 2)
 * VMs at a time, KDROP_VM_TIMEOUT_S (default 600) per boot. KDROP_VM_UPDATE_DOCS=1 rewrites the table of
 * docs/kernels.md from this run; otherwise the table is checked against it.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { prepareMatrix, bootAll, type Matrix } from './matrix.js';
import type { VmKernel, VmRun } from './qemu.js';
import { probeSkipReason } from '../helpers/probe.js';
import { kernelRows, checkDocs } from './kernel-table.js';
import { assertWatch, assertTrace, assertKill, assertDoctor, assertExplain, assertQdisc, assertCounters, assertCpus } from './assertions.js';

const skip = probeSkipReason();
const picks = (process.env['KDROP_VM_KERNELS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
/** KDROP_VM_KERNELS: release prefixes (6.1 takes 6.1.x; 6.12 both 6.12 kernels) or an architecture (arm64). */
const picked = (k: VmKernel): boolean => picks.length === 0 || picks.some((p) => k.release.startsWith(p) || k.arch === p);
const HOOK = { timeout: 3_600_000 };

let matrix: Promise<Matrix> | undefined;
let runs: Map<string, Promise<VmRun>> | undefined;
const versionKey = (k: VmKernel): number[] => k.release.split(/[.-]/).slice(0, 3).map(Number);
const newer = (a: VmKernel, b: VmKernel): number => {
  const [x, y] = [versionKey(a), versionKey(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};

/** Starts every boot once (at most KDROP_VM_PARALLEL at a time); each describe awaits its own. */
async function start(): Promise<{ m: Matrix; runs: Map<string, Promise<VmRun>> }> {
  matrix ??= prepareMatrix(picked);
  const m = await matrix;
  if (!runs) {
    const kernels = [...m.kernels].sort(newer);
    // The 8-vCPU VM: the newest amd64 kernel (an arm64 one only where the run picked no amd64 kernel).
    const newest = kernels.filter((k) => k.arch === 'amd64').at(-1) ?? kernels.at(-1)!;
    // The longest first, so they overlap the others: the 8-vCPU VM, then the arm64 ones (arm64 under TCG on an
    // x86 host takes about twice as long as an amd64 VM).
    const slowFirst = [...kernels.filter((k) => k.arch !== 'amd64'), ...kernels.filter((k) => k.arch === 'amd64')];
    const jobs = [{ kernel: newest, mode: 'cpus' as const, cpus: 8 }, ...slowFirst.map((kernel) => ({ kernel, mode: 'matrix' as const, cpus: 2 }))];
    const promises = bootAll(m, jobs);
    for (const p of promises) p.catch(() => undefined); // each describe reports its own failure
    runs = new Map(jobs.map((j, i) => [`${j.mode}:${j.kernel.release}`, promises[i]!]));
  }
  return { m, runs };
}


describe('VM matrix: kdrop on Debian kernels 5.10 to 7.x (amd64) and 6.12 (arm64)', { skip: skip ?? false }, () => {
  let m: Matrix;
  let all: Map<string, Promise<VmRun>>;
  before(async () => {
    ({ m, runs: all } = await start());
  }, HOOK);

  const get = async (key: string): Promise<VmRun> => {
    const p = all.get(key);
    assert.ok(p, `no VM run ${key}`);
    return p;
  };
  const perKernel = (name: string, f: (r: VmRun, newest: boolean) => void): void => {
    test(name, HOOK, async (t) => {
      const kernels = [...all.keys()].filter((k) => k.startsWith('matrix:'));
      const newest = [...m.kernels].filter((k) => kernels.includes(`matrix:${k.release}`)).sort(newer).at(-1)!.release;
      for (const key of kernels) {
        await t.test(key.slice('matrix:'.length), HOOK, async () => {
          const r = await get(key);
          f(r, r.kernel.release === newest);
        });
      }
    });
  };

  perKernel('watch --json (default source) is exact per fresh netns: UDP v4, UDP v6, TCP SYN to closed ports, an nftables drop', (r) => assertWatch(r));
  perKernel('trace shows the sampled flow (5-tuple, netns, reason)', (r) => assertTrace(r));
  perKernel('the loader SIGKILLed twice during a flood: nothing lost', (r) => assertKill(r));
  perKernel('doctor: ready, the probe and the tracepoint ok', (r) => assertDoctor(r));
  perKernel('explain answers for every reason of the kernel (its format), through the CLI too', (r) => assertExplain(r));
  perKernel('qdisc drops (pfifo limit 0) counted exactly with their reasons where qdisc:qdisc_drop exists', (r, newest) => assertQdisc(r, newest));
  perKernel('kernel drop counters: ListenOverflows of a flooded netns == its /proc/net/netstat delta (no kfree_skb drop), veth tx_dropped == its statistics, kdrop-probe --qstats as kallsyms says', (r) => assertCounters(r));

  test('8 vCPUs, one sender on every CPU, each in its own netns: exact through rotation', HOOK, async () => {
    const key = [...all.keys()].find((k) => k.startsWith('cpus:'))!;
    assertCpus(await get(key));
  });

  test('docs/kernels.md: the supported-kernels table is what this run verified', HOOK, async () => {
    const settled = await Promise.allSettled([...all].filter(([k]) => k.startsWith('matrix:')).map(([, p]) => p));
    const done = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    assert.equal(done.length, settled.length, 'every kernel of the matrix booted and reported');
    checkDocs(kernelRows(done), picks.length === 0);
  });
});
