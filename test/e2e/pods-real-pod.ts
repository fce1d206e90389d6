/**
 * "Pods" built for real on this machine, the way kubelet and a container runtime would leave them: a Pod object
 * in the API (nodeName, uid, containerStatuses[].containerID, hostNetwork), a network namespace, a cgroup named
 * after the pod UID and container ID, and a long-running process inside both. Needs root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';

export type CgroupStyle =
  /** cgroup v2, systemd driver, containerd: kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/cri-containerd-<id>.scope */
  | 'systemd-v2-containerd'
  /** cgroup v2, systemd driver, CRI-O: .../kubepods-burstable-pod<uid_>.slice/crio-<id>.scope */
  | 'systemd-v2-crio'
  /** cgroup v1 (pids hierarchy), cgroupfs driver, containerd/Docker: kubepods/besteffort/pod<uid>/<id> */
  | 'cgroupfs-v1';

export interface Mounts {
  readonly v2: string | null;
  readonly v1pids: string | null;
}

export async function cgroupMounts(): Promise<Mounts> {
  const text = await readFile('/proc/self/mounts', 'utf8');
  let v2: string | null = null;
  let v1pids: string | null = null;
  for (const line of text.split('\n')) {
    const [, dir, type, options] = line.split(' ');
    if (type === 'cgroup2' && dir) v2 ??= dir;
    if (type === 'cgroup' && dir && options?.split(',').includes('pids')) v1pids ??= dir;
  }
  return { v2, v1pids };
}

export interface RealPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly containerId: string;
  /** null for hostNetwork pods. */
  readonly netns: TestNetns | null;
  readonly pid: number;
  readonly cgroupDir: string;
  /** Kills the process, removes the cgroup directories it created and the netns. Idempotent. */
  cleanup(): Promise<void>;
}

export async function makeRealPod(
  api: CoreV1Api,
  opts: { namespace: string; name: string; nodeName: string; hostNetwork: boolean; style: CgroupStyle; mounts: Mounts },
): Promise<RealPod> {
  const { namespace, name } = opts;
  const containerId = randomBytes(32).toString('hex');
  const created: V1Pod = await api.createNamespacedPod({
    namespace,
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: { nodeName: opts.nodeName, hostNetwork: opts.hostNetwork, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    },
  });
  const uid = created.metadata?.uid;
  if (!uid) throw new Error('created pod has no uid');
  const madeDirs: string[] = [];
  let netns: TestNetns | null = null;
  let child: ChildProcess | null = null;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const c = child;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL');
      await exited;
    }
    await netns?.remove();
    await removeCgroupDirs(madeDirs);
  };
  try {
    const dir = cgroupPath(opts.style, opts.mounts, uid, containerId);
    await mkdirTracked(dir, madeDirs);
    // Parents made by an earlier pod are shared: this pod removes only what it made, the rest goes last.
    if (!opts.hostNetwork) netns = await createNetns('kdroppod');
    const argv = netns === null ? ['sleep', '600'] : ['ip', 'netns', 'exec', netns.name, 'sleep', '600'];
    child = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot spawn ${argv.join(' ')}`);
    await writeFile(join(dir, 'cgroup.procs'), `${pid}\n`);
    // `ip netns exec` joins the netns and then execs sleep under the same pid: wait for that.
    const want = netns === null ? await readlink('/proc/self/ns/net') : `net:[${netns.inode}]`;
    if (!(await waitFor(async () => (await readlink(`/proc/${pid}/ns/net`).catch(() => '')) === want, 10_000, 20))) {
      throw new Error(`process ${pid} did not enter the pod's netns`);
    }
    const fresh = await api.readNamespacedPod({ namespace, name });
    fresh.status = {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'app',
          image: 'registry.k8s.io/pause:3.10',
          imageID: 'registry.k8s.io/pause@sha256:' + '0'.repeat(64),
          containerID: `${opts.style === 'systemd-v2-crio' ? 'cri-o' : 'containerd'}://${containerId}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: new Date() } },
        },
      ],
    };
    await api.replaceNamespacedPodStatus({ namespace, name, body: fresh });
    return { namespace, name, uid, containerId, netns, pid, cgroupDir: dir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function cgroupPath(style: CgroupStyle, mounts: Mounts, uid: string, id: string): string {
  const u = uid.replaceAll('-', '_');
  switch (style) {
    case 'systemd-v2-containerd':
      if (mounts.v2 === null) throw new Error('no cgroup2 mount');
      return join(mounts.v2, 'kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${u}.slice`, `cri-containerd-${id}.scope`);
    case 'systemd-v2-crio':
      if (mounts.v2 === null) throw new Error('no cgroup2 mount');
      return join(mounts.v2, 'kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${u}.slice`, `crio-${id}.scope`);
    case 'cgroupfs-v1': {
      // Pure cgroup v2 hosts have no v1 hierarchy: the same cgroupfs-driver names under cgroup2.
      const root = mounts.v1pids ?? mounts.v2;
      if (root === null) throw new Error('no cgroup mount');
      return join(root, 'kubepods', 'besteffort', `pod${uid}`, id);
    }
  }
}

/** Every cgroup directory made by makeRealPod and not removed yet (parents may be shared by several pods). */
const allMade = new Set<string>();

/** rmdir deepest first; a directory still holding another pod's cgroup is left for removeLeftoverCgroups(). */
async function removeCgroupDirs(dirs: readonly string[]): Promise<void> {
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    // rmdir works once the cgroup has no process left; the kernel may need a moment after the exit.
    const ok = await waitFor(
      () =>
        rmdir(d).then(
          () => true,
          (e: NodeJS.ErrnoException) => e.code === 'ENOENT' || e.code === 'ENOTEMPTY' || (e.code === 'EBUSY' && hasChildDir(d)),
        ),
      10_000,
      50,
    );
    if (ok && !(await exists(d))) allMade.delete(d);
  }
}

function hasChildDir(d: string): boolean {
  for (const other of allMade) if (other.startsWith(d + '/')) return true;
  return false;
}

async function exists(d: string): Promise<boolean> {
  return readFile(join(d, 'cgroup.procs')).then(() => true, () => false);
}

/** Removes the shared parent cgroups left after every pod's cleanup. */
export async function removeLeftoverCgroups(): Promise<string[]> {
  await removeCgroupDirs([...allMade]);
  return [...allMade];
}

async function mkdirTracked(dir: string, made: string[]): Promise<void> {
  const parts = dir.split('/').filter((p) => p !== '');
  let cur = '';
  for (const p of parts) {
    cur += `/${p}`;
    try {
      await mkdir(cur);
      made.push(cur);
      allMade.add(cur);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
