/**
 * The VM matrix on the host: the pinned kernels and QEMU from the tools cache (fetched by
 * scripts/tools/vm-kernels.sh, vm-qemu.sh and, for arm64 kernels, vm-arm64.sh when missing: a cold cache fetches
 * them here, bounded by a timeout), an initramfs per architecture, and the boots, at most KDROP_VM_PARALLEL
 * (default 2) at a time: each TCG VM takes about one host core.
 */
import { execFile } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { arm64Probe, buildInitramfs, REPO } from './initramfs.js';
import { bootVm, type Arch, type VmKernel, type VmRun } from './qemu.js';

const run = promisify(execFile);

async function tool(script: string): Promise<string[]> {
  try {
    const { stdout } = await run('bash', [join(REPO, 'scripts/tools', script)], { timeout: 900_000, maxBuffer: 1 << 20 });
    return stdout.trim().split('\n');
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/tools/${script} failed (a kernel or QEMU download?): ${e.message}\n${(e.stderr ?? '').split('\n').slice(-20).join('\n')}`);
  }
}

/** What boots the kernels of one architecture: its QEMU, busybox and initramfs. */
export interface ArchSetup {
  readonly qemu: string;
  readonly busybox: string;
  readonly initramfs: string;
  readonly initramfsBuilt: boolean;
  readonly initramfsBytes: number;
}

export interface Matrix {
  readonly kernels: VmKernel[];
  readonly arches: ReadonlyMap<Arch, ArchSetup>;
  readonly prepareSeconds: number;
}

/** The arm64 QEMU, busybox and guest userland (scripts/tools/vm-arm64.sh), fetched into the tools cache when missing. */
export async function arm64Tools(): Promise<{ qemu: string; busybox: string; userland: string }> {
  const dir = (await tool('vm-arm64.sh')).at(-1)!;
  return { qemu: join(dir, 'bin', 'qemu-system-aarch64'), busybox: join(dir, 'guest', 'bin', 'busybox'), userland: join(dir, 'guest') };
}

/** The QEMU, busybox and (arm64) userland of an architecture, fetched into the tools cache when missing. */
async function archTools(arch: Arch): Promise<{ qemu: string; busybox: string; userland?: string | undefined }> {
  if (arch === 'amd64') {
    const dir = (await tool('vm-qemu.sh')).at(-1)!;
    return { qemu: join(dir, 'bin', 'qemu-system-x86_64'), busybox: join(dir, 'bin', 'busybox') };
  }
  const t = await arm64Tools();
  // The arm64 probe, cross-built (make: only when probe/ changed; the arm64 libraries come from the tools cache),
  // unless KDROP_VM_ARM64_PROBE names another one to check.
  if (!process.env['KDROP_VM_ARM64_PROBE']) await run('bash', [join(REPO, 'scripts/build-probe.sh')], { env: { ...process.env, KDROP_PROBE_ARCH: 'arm64' }, timeout: 600_000 }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`KDROP_PROBE_ARCH=arm64 scripts/build-probe.sh failed: ${err.message}\n${err.stderr ?? ''}`);
  });
  if (!existsSync(arm64Probe())) throw new Error(`no arm64 probe at ${arm64Probe()} (KDROP_PROBE_ARCH=arm64 scripts/build-probe.sh, or KDROP_VM_ARM64_PROBE)`);
  return t;
}

/** A cached kernel's architecture (its arch file; amd64 when absent: cached before arm64 was added). */
function archOf(dir: string): Arch {
  const a = existsSync(join(dir, 'arch')) ? readFileSync(join(dir, 'arch'), 'utf8').trim() : 'amd64';
  if (a !== 'amd64' && a !== 'arm64') throw new Error(`${join(dir, 'arch')}: expected amd64 or arm64, found '${a}' (scripts/tools/vm-kernels.sh)`);
  return a;
}

/** Every pinned kernel of the matrix (scripts/tools/vm-kernels.sh, fetched into the tools cache when missing). */
export async function matrixKernels(): Promise<VmKernel[]> {
  return (await tool('vm-kernels.sh')).map((dir): VmKernel => ({
    arch: archOf(dir),
    release: readFileSync(join(dir, 'release'), 'utf8').trim(),
    pin: readFileSync(join(dir, 'pin'), 'utf8').trim(),
    vmlinuz: join(dir, 'vmlinuz'),
    config: join(dir, 'config'),
    modules: join(dir, 'modules'),
  }));
}

/** The matrix's kernels (those `pick` takes; all by default) and, for each of their architectures, what boots them. */
export async function prepareMatrix(pick: (k: VmKernel) => boolean = () => true): Promise<Matrix> {
  const t0 = Date.now();
  const kernels = (await matrixKernels()).filter(pick);
  const arches = new Map<Arch, ArchSetup>();
  for (const arch of [...new Set(kernels.map((k) => k.arch))].sort()) {
    const t = await archTools(arch);
    if (!existsSync(t.busybox)) throw new Error(`no busybox at ${t.busybox} (scripts/tools/vm-qemu.sh, vm-arm64.sh)`);
    const mine = kernels.filter((k) => k.arch === arch);
    const img = await buildInitramfs({ arch, busybox: t.busybox, userland: t.userland, configs: new Map(mine.map((k) => [k.release, k.config])), modules: new Map(mine.map((k) => [k.release, k.modules])) });
    arches.set(arch, { qemu: t.qemu, busybox: t.busybox, initramfs: img.path, initramfsBuilt: img.built, initramfsBytes: img.bytes });
  }
  return { kernels, arches, prepareSeconds: (Date.now() - t0) / 1000 };
}

/** Runs `jobs` with at most `limit` at a time; each promise settles on its own. */
export function limited<T>(limit: number, jobs: readonly (() => Promise<T>)[]): Promise<T>[] {
  let active = 0;
  const queue: (() => void)[] = [];
  const acquire = (): Promise<void> => (active < limit ? (active++, Promise.resolve()) : new Promise((r) => queue.push(r)));
  const release = (): void => {
    const next = queue.shift();
    if (next) next();
    else active--;
  };
  return jobs.map(async (job) => {
    await acquire();
    try {
      return await job();
    } finally {
      release();
    }
  });
}

export interface VmJob {
  readonly kernel: VmKernel;
  readonly mode: 'matrix' | 'cpus';
  readonly cpus: number;
}

/** Each run's results as JSON in .cache/vm/ (what the guest reported, for a failure's details). */
export function keep(r: VmRun): VmRun {
  mkdirSync(join(REPO, '.cache', 'vm'), { recursive: true });
  writeFileSync(join(REPO, '.cache', 'vm', `results-${r.mode}-${r.kernel.release}.json`), JSON.stringify({ seconds: r.seconds, checks: Object.fromEntries(r.checks) }, null, 1));
  return r;
}

export function bootAll(m: Matrix, jobs: readonly VmJob[], parallel = Number(process.env['KDROP_VM_PARALLEL'] ?? 2)): Promise<VmRun>[] {
  const timeoutMs = Number(process.env['KDROP_VM_TIMEOUT_S'] ?? 600) * 1000;
  return limited(
    parallel,
    jobs.map((j) => async () => {
      const a = m.arches.get(j.kernel.arch)!;
      return keep(await bootVm(j.kernel, { qemu: a.qemu, initramfs: a.initramfs, cpus: j.cpus, memoryMb: j.cpus > 2 ? 3072 : 2048, mode: j.mode, timeoutMs }));
    }),
  );
}
