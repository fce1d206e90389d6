/**
 * The VM matrix on the host: the pinned kernels and QEMU from the tools cache (fetched by
 * scripts/tools/vm-kernels.sh and vm-qemu.sh when missing: a cold cache fetches them here, bounded by a timeout),
 * the initramfs, and the boots, at most KDROP_VM_PARALLEL (default 2) at a time: each TCG VM takes about one
 * host core.
 */
import { execFile } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildInitramfs, REPO } from './initramfs.js';
import { bootVm, type VmKernel, type VmRun } from './qemu.js';

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

export interface Matrix {
  readonly kernels: VmKernel[];
  readonly qemuDir: string;
  readonly initramfs: string;
  readonly initramfsBuilt: boolean;
  readonly initramfsBytes: number;
  readonly prepareSeconds: number;
}

export async function prepareMatrix(): Promise<Matrix> {
  const t0 = Date.now();
  const kernels = (await tool('vm-kernels.sh')).map((dir): VmKernel => ({
    release: readFileSync(join(dir, 'release'), 'utf8').trim(),
    pin: readFileSync(join(dir, 'pin'), 'utf8').trim(),
    vmlinuz: join(dir, 'vmlinuz'),
    config: join(dir, 'config'),
    modules: join(dir, 'modules'),
  }));
  const qemuDir = (await tool('vm-qemu.sh')).at(-1)!;
  const busybox = join(qemuDir, 'bin', 'busybox');
  if (!existsSync(busybox)) throw new Error(`no busybox at ${busybox} (scripts/tools/vm-qemu.sh)`);
  const img = await buildInitramfs({ busybox, configs: new Map(kernels.map((k) => [k.release, k.config])), modules: new Map(kernels.map((k) => [k.release, k.modules])) });
  return { kernels, qemuDir, initramfs: img.path, initramfsBuilt: img.built, initramfsBytes: img.bytes, prepareSeconds: (Date.now() - t0) / 1000 };
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
function keep(r: VmRun): VmRun {
  mkdirSync(join(REPO, '.cache', 'vm'), { recursive: true });
  writeFileSync(join(REPO, '.cache', 'vm', `results-${r.mode}-${r.kernel.release}.json`), JSON.stringify({ seconds: r.seconds, checks: Object.fromEntries(r.checks) }, null, 1));
  return r;
}

export function bootAll(m: Matrix, jobs: readonly VmJob[], parallel = Number(process.env['KDROP_VM_PARALLEL'] ?? 2)): Promise<VmRun>[] {
  const timeoutMs = Number(process.env['KDROP_VM_TIMEOUT_S'] ?? 600) * 1000;
  return limited(
    parallel,
    jobs.map((j) => async () => keep(await bootVm(j.kernel, { qemuDir: m.qemuDir, initramfs: m.initramfs, cpus: j.cpus, memoryMb: j.cpus > 2 ? 3072 : 2048, mode: j.mode, timeoutMs }))),
  );
}
