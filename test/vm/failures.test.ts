/**
 * The VM matrix's bad input: a guest that hangs, a kernel that panics, and a kernel download that fails each
 * end with a clear error naming the kernel (or package) with the tail of its console (or apt's output), bounded
 * by timeouts. Real QEMU and a real kernel of the matrix with a tiny initramfs (busybox and a one-line init).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeCpio } from './cpio.js';
import { bootVm, VmError, type VmKernel } from './qemu.js';
import { prepareMatrix, type Matrix } from './matrix.js';
import { REPO } from './initramfs.js';
import { probeSkipReason } from '../helpers/probe.js';

const run = promisify(execFile);
const skip = probeSkipReason() ?? false;
const dir = mkdtempSync(join(tmpdir(), 'kdrop-vm-fail-'));
let m: Matrix;
let kernel: VmKernel;
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  m = await prepareMatrix((k) => k.arch === 'amd64');
  kernel = m.kernels[0]!;
}, { timeout: 1_800_000 });

async function tinyInitramfs(name: string, init: string): Promise<string> {
  const file = join(dir, `${name}.cpio`);
  await writeCpio(file, [
    { kind: 'dir', path: 'bin' },
    { kind: 'file', path: 'bin/busybox', from: m.arches.get('amd64')!.busybox },
    { kind: 'data', path: 'init', data: `#!/bin/busybox sh\n${init}\n`, mode: 0o755 },
  ]);
  return file;
}

const boot = (initramfs: string, timeoutMs: number) => bootVm(kernel, { qemu: m.arches.get('amd64')!.qemu, initramfs, cpus: 1, memoryMb: 256, mode: 'matrix', timeoutMs });

test('a guest that hangs: QEMU killed at the timeout, the error names the kernel and shows the console tail', { skip, timeout: 300_000 }, async () => {
  const img = await tinyInitramfs('hang', 'echo kdrop-test-hanging-now; /bin/busybox sleep 100000');
  const t0 = Date.now();
  await assert.rejects(boot(img, 45_000), (err: Error) => {
    assert.ok(err instanceof VmError);
    assert.match(err.message, new RegExp(`VM of kernel ${kernel.release.replace(/[.+]/g, '\\$&')} .* hung: no power-off within 45 s, QEMU killed`));
    assert.match(err.message, /--- console tail ---[\s\S]*kdrop-test-hanging-now/);
    return true;
  });
  assert.ok(Date.now() - t0 < 90_000, 'bounded by the timeout');
});

test('a kernel panic (init exits): the error names the kernel, says the guest never reported, shows the panic', { skip, timeout: 300_000 }, async () => {
  const img = await tinyInitramfs('panic', 'echo kdrop-test-init-exits; exit 3');
  await assert.rejects(boot(img, 240_000), (err: Error) => {
    assert.ok(err instanceof VmError);
    assert.match(err.message, /ended without the guest's exit line \(QEMU exit \d+; a kernel panic or crash\?\)/);
    assert.match(err.message, /--- console tail ---[\s\S]*kdrop-test-init-exits[\s\S]*Kernel panic/);
    assert.ok(err.message.includes(kernel.release));
    return true;
  });
});

test('a kernel pin that Debian does not publish: vm-kernels.sh fails naming the package, within its timeout', { skip, timeout: 300_000 }, async () => {
  // The matrix's kernels are linked into a scratch cache, so only the bad pin is fetched.
  const cache = join(dir, 'cache');
  const real = join(process.env['KDROP_TOOLS_CACHE'] ?? '/var/cache/kdrop-tools', 'vm-kernels');
  await run('mkdir', ['-p', join(cache, 'vm-kernels')]);
  for (const d of readdirSync(real).filter((n) => !n.startsWith('.'))) symlinkSync(join(real, d), join(cache, 'vm-kernels', d));
  const bad = 'linux-image-0.0.0-0-cloud-amd64=0.0.0-1';
  const err = await run('bash', [join(REPO, 'scripts/tools/vm-kernels.sh')], {
    env: { ...process.env, KDROP_TOOLS_CACHE: cache, KDROP_VM_KERNEL_BAD: `bullseye-security:${bad}` },
    timeout: 240_000,
  }).then(
    () => null,
    (e: { code?: number; stderr?: string }) => e,
  );
  assert.ok(err, 'vm-kernels.sh failed');
  assert.notEqual(err.code, 0);
  assert.match(err.stderr ?? '', new RegExp(`cannot download ${bad.replace(/[.+]/g, '\\$&')} from bullseye-security`));
});
