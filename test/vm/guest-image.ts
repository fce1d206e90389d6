/**
 * In the VM, mode `image` (test/vm/image-arm64.test.ts): kdrop as the container image ships it. The image's root
 * (its files, as built by scripts/image/build.sh) is at /image in the initramfs; it runs in a chroot of it shaped
 * like the container (read-only, a tmpfs /tmp, the VM's /proc, /sys with tracefs and bpffs, and /dev bound in;
 * as root with every capability: the chart's capability set is checked on the amd64 image), started through the
 * image's entrypoint: the image's tini, the image's Node with the image's glibc and libstdc++, the bundle at
 * /app/dist and the image's probe at /app/build/probe. This harness (guest.js) runs outside, on the VM's own Node,
 * and makes the drops in fresh network namespaces.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { cleanup, finish, fourCases, netns, startWatch, type Kdrop } from './guest-drops.js';

const run = promisify(execFile);
const flowSender = fileURLToPath(new URL('../helpers/flow-sender.js', import.meta.url));

export const IMAGE_ROOT = '/image';
/** The environment the image sets (Dockerfile ENV) and its entrypoint (Dockerfile ENTRYPOINT), in a chroot. */
const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', NODE_ENV: 'production', HOME: '/tmp', KDROP_LOG_LEVEL: 'info' };
export const imageKdrop: Kdrop = { command: ['chroot', IMAGE_ROOT, '/usr/bin/tini', '-s', '--', 'node', '/app/dist/kdrop.mjs'], env };

/**
 * The image's root as the chart's container has it: read-only (readOnlyRootFilesystem), a tmpfs /tmp (emptyDir),
 * and the VM's /proc, /sys (with tracefs and bpffs under it) and /dev bound in.
 */
export async function mountImageRoot(): Promise<void> {
  await run('mount', ['-o', 'bind', IMAGE_ROOT, IMAGE_ROOT]);
  await run('mount', ['-o', 'remount,bind,ro', IMAGE_ROOT]);
  for (const d of ['proc', 'sys', 'dev']) await run('mount', ['-o', 'rbind', `/${d}`, `${IMAGE_ROOT}/${d}`]);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=1777', 'tmpfs', `${IMAGE_ROOT}/tmp`]);
}

/** Whether the image's root refuses a write (the read-only bind holds). */
function rootReadOnly(): boolean {
  try {
    writeFileSync(`${IMAGE_ROOT}/.kdrop-write-test`, '');
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/** The image's Node, run directly in the chroot: its version and architecture, and whether a loader cache exists. */
export async function imageNodeCheck(): Promise<Record<string, unknown>> {
  const { stdout } = await run('chroot', [IMAGE_ROOT, '/usr/local/bin/node', '-p', 'JSON.stringify({ version: process.version, arch: process.arch, glibc: process.report.getReport().header.glibcVersionRuntime })'], { env, timeout: 120_000 });
  return { ...(JSON.parse(stdout) as Record<string, unknown>), ldSoCache: existsSync(`${IMAGE_ROOT}/etc/ld.so.cache`), readOnlyRoot: rootReadOnly() };
}

/**
 * The image's `kdrop watch --json` through its entrypoint: UDP v4 and v6 and TCP SYNs to closed ports and an
 * nftables drop, each in a fresh netns, in the record shape of the matrix's watch check (assertions.ts assertWatch).
 */
export async function imageWatchCheck(): Promise<Record<string, unknown>> {
  const [u4, u6, tcp, nft] = [await netns(), await netns(), await netns(), await netns()];
  await nft.addNftDrop(4242);
  const s = await startWatch([], imageKdrop);
  try {
    const sent = { udp4: 37, udp6: 23, tcp: 5, nft: 19 };
    await u4.sendUdp(sent.udp4, { family: 4, port: 9 });
    await u6.sendUdp(sent.udp6, { family: 6, port: 9 });
    let refused = 0;
    for (let i = 0; i < sent.tcp; i++) refused += Number((await tcp.exec([process.execPath, flowSender, 'tcp', '4', String(40500 + i), '7'])).stdout.trim());
    await nft.sendUdp(sent.nft, { family: 4, port: 4242 });
    const want = new Map([[u4.inode, sent.udp4], [u6.inode, sent.udp6], [tcp.inode, sent.tcp], [nft.inode, sent.nft]]);
    const { code, recs, stderrTail } = await finish(s, want);
    return {
      source: s.source, attach: s.attach, exitCode: code, stderrTail, tcpRefused: refused,
      cases: fourCases(recs, { u4, u6, tcp, nft }, sent),
    };
  } finally {
    await s.w.stop('SIGKILL');
    await cleanup();
  }
}
