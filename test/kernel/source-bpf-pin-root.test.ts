/**
 * The chart mounts only the host's /sys/fs/bpf/kdrop into the agent (a hostPath, DirectoryOrCreate), at a
 * path outside /sys (/run/kdrop/bpffs), and names it with KDROP_PIN_ROOT: the container's /sys/fs/bpf is
 * then sysfs's empty directory, not bpffs. This runs `kdrop watch --source bpf` the same way: in its own
 * mount namespace where /sys/fs/bpf is hidden under a tmpfs and only one bpffs directory is bind-mounted
 * elsewhere. The probe must pin there (seen on the host's bpffs), count exactly, and remove its pins when
 * it stops.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, readdirSync, rmdirSync, statfsSync } from 'node:fs';
import { cliPath, sumRecords } from '../helpers/cli.js';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { probeSkipReason } from '../helpers/probe.js';

/** statfs f_type of bpffs (include/uapi/linux/magic.h BPF_FS_MAGIC). */
const BPF_FS_MAGIC = 0xcafe4a11;
const bpffsSkip = (): string | null => {
  try {
    return statfsSync('/sys/fs/bpf').type === BPF_FS_MAGIC ? null : 'bpffs not mounted at /sys/fs/bpf';
  } catch {
    return 'no /sys/fs/bpf';
  }
};
const skip = probeSkipReason() ?? bpffsSkip();
const N = 173;

let ns: TestNetns | undefined;
const hostDir = `/sys/fs/bpf/kdrop-pinroot-test-${process.pid}`;
let mountPoint = '';
after(async () => {
  await ns?.remove();
  // Our own directory only: the loader removes its pin directory; what is left is the empty parent.
  try {
    rmdirSync(hostDir);
  } catch {
    /* already gone (the loader removes an empty parent) or never made */
  }
  // Empty on the host: the bind mount lived only in the child's mount namespace.
  if (mountPoint) rmdirSync(mountPoint);
});

test('with only one bpffs directory mounted (not /sys/fs/bpf), the probe pins there, counts exactly and unpins on stop', { skip: skip ?? false, timeout: 90_000 }, async () => {
  ns = await createNetns('kdroppinroot');
  mkdirSync(hostDir, { mode: 0o700 });
  mountPoint = mkdtempSync('/tmp/kdrop-pinroot-');
  // The container's view: the bpffs directory bind-mounted at KDROP_PIN_ROOT, /sys/fs/bpf not bpffs.
  const script = `mount --make-rprivate / && mount --bind "$1" "$2" && mount -t tmpfs -o size=1m none /sys/fs/bpf && shift 2 && exec "$@"`;
  const child = spawn(
    'unshare',
    ['--mount', 'sh', '-c', script, 'sh', hostDir, mountPoint, process.execPath, cliPath, 'watch', '--source', 'bpf', '--json', '--interval', '1s', '--netns', String(ns.inode)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDROP_LOG_LEVEL: 'info', KDROP_LOG_FORMAT: 'json', KDROP_PIN_ROOT: mountPoint } },
  );
  const out: string[] = [];
  const err: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => out.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => err.push(l));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const attached = await waitFor(() => err.some((l) => l.includes('kernel probe attached')) || child.exitCode !== null, 30_000);
    assert.ok(attached && child.exitCode === null, `the probe attached; stderr:\n${err.join('\n').slice(-2000)}`);
    const attachLine = JSON.parse(err.find((l) => l.includes('kernel probe attached'))!) as { pinned?: string | null };
    assert.equal(typeof attachLine.pinned, 'string', `pinned: ${JSON.stringify(attachLine)}`);
    assert.ok(attachLine.pinned!.startsWith(`${mountPoint}/${child.pid}-`), `pinned under KDROP_PIN_ROOT: ${attachLine.pinned}`);
    assert.ok(!err.some((l) => l.includes('bpffs not usable')), `no unpinned fallback:\n${err.join('\n')}`);
    // Seen from the host: the pins are on the host's bpffs, in the one directory that was mounted.
    const dirs = readdirSync(hostDir).filter((d) => d.startsWith(`${child.pid}-`));
    assert.equal(dirs.length, 1, `one pin directory of pid ${child.pid} in ${hostDir}: ${readdirSync(hostDir).join(', ')}`);
    const pins = readdirSync(`${hostDir}/${dirs[0]}`);
    for (const p of ['link', 'counts0', 'counts1']) assert.ok(pins.includes(p), `${p} pinned: ${pins.join(', ')}`);

    await ns.sendUdp(N, { family: 4, port: 9 });
    const inNs = (r: Record<string, unknown>): boolean => r['netns'] === ns!.inode && r['reason'] === 'NO_SOCKET' && r['network_type'] === 'ipv4';
    await waitFor(() => sumRecords(out, inNs) >= N, 20_000, 200);
    await new Promise((r) => setTimeout(r, 2200)); // two more intervals: nothing counted twice
    assert.equal(sumRecords(out, inNs), N, `exactly ${N} drops`);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
  const left = readdirSync(hostDir, { withFileTypes: true }).map((d) => d.name);
  assert.deepEqual(left.filter((d) => d.startsWith(`${child.pid}-`)), [], 'the pin directory is removed on stop');
});
