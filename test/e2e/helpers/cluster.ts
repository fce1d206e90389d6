/**
 * The one-node test cluster of scripts/cluster.sh (kubelet, containerd, runc, CNI plugins, kube-proxy and the
 * control plane built from their Go modules into the tools cache; Debian's etcd) for e2e tests: skip reasons,
 * up/down, kubectl/ctr/helm with its kubeconfig, and the host state `down` must leave as it was.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { repoRoot } from './deploy-helm.js';
import { toolVersion } from '../../helpers/tool-versions.js';

const run = promisify(execFile);
const clusterScript = `${repoRoot}scripts/cluster.sh`;
export const CLUSTER_DIR = process.env['KDROP_CLUSTER_DIR'] ?? '/var/lib/kdrop-cluster';
export const CLUSTER_RUN = '/run/kdrop-cluster';
export const BRIDGE = 'kdrop-br0';
export const NODE_IP = '10.87.0.1';
export const NODE_NAME = 'kdrop-node';
/** The sysctls scripts/cluster.sh saves and restores (kubelet, CNI bridge, kube-proxy). */
export const CLUSTER_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
];
/** Host directories kubelet/containerd/CNI write (restored by `down`). */
export const CLUSTER_HOST_DIRS = ['/var/lib/kubelet', '/var/log/pods', '/var/log/containers', '/run/containerd', '/var/lib/cni'];
const cache = process.env['KDROP_TOOLS_CACHE'] ?? '/var/cache/kdrop-tools';

function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(`${d}/${tool}`));
}

/** The tools scripts/cluster.sh builds, as cache paths (present or not). */
export function clusterBinaries(): Record<string, string> {
  const k8s = toolVersion('KUBERNETES_VERSION');
  const bins: Record<string, string> = {
    runc: `${cache}/runc-${toolVersion('RUNC_VERSION')}/runc`,
    containerd: `${cache}/containerd-${toolVersion('CONTAINERD_VERSION')}/containerd`,
    ctr: `${cache}/containerd-${toolVersion('CONTAINERD_VERSION')}/ctr`,
    shim: `${cache}/containerd-${toolVersion('CONTAINERD_VERSION')}/containerd-shim-runc-v2`,
    bridge: `${cache}/cni-plugins-${toolVersion('CNI_PLUGINS_VERSION')}/bridge`,
  };
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl']) {
    bins[c] = `${cache}/${c}-${k8s}/${c}`;
  }
  return bins;
}

/** Why the test cluster cannot run here, or null. */
export function clusterSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (kubelet, containerd, network setup)';
  for (const [tool, pkg] of [['etcd', 'etcd-server'], ['nft', 'nftables'], ['ip', 'iproute2'], ['openssl', 'openssl'], ['curl', 'curl']] as const) {
    if (!onPath(tool)) return `needs ${tool} (Debian package ${pkg}; scripts/setup.sh --test)`;
  }
  const missing = Object.values(clusterBinaries()).filter((b) => !existsSync(b));
  if (missing.length > 0 && !onPath('go')) return `needs go to build ${missing.join(', ')} (scripts/tools/)`;
  const cgroupV2Memory = existsSync('/sys/fs/cgroup/cgroup.controllers') && readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('memory');
  if (!existsSync('/sys/fs/cgroup/memory') && !cgroupV2Memory) return 'no memory cgroup controller mounted (kubelet needs it)';
  if (!existsSync('/sys/fs/cgroup/cpu') && !existsSync('/sys/fs/cgroup/cpu,cpuacct') && !cgroupV2Memory) return 'no cpu cgroup controller mounted';
  if (existsSync(`/sys/class/net/${BRIDGE}`) || existsSync(`${CLUSTER_DIR}/saved/complete`)) {
    return `a test cluster is already up on this machine (${BRIDGE} or ${CLUSTER_DIR}/saved exists): scripts/cluster.sh down`;
  }
  return null;
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws on a non-zero exit. */
export async function cmd(file: string, args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CmdResult> {
  try {
    const { stdout, stderr } = await run(file, args, {
      maxBuffer: 256 << 20,
      timeout: opts.timeoutMs ?? 120_000,
      env: { ...process.env, ...opts.env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

/** Runs a command and returns its stdout; throws with the tail of its output on failure. */
export async function must(file: string, args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await cmd(file, args, opts);
  if (r.code !== 0) {
    throw new Error(`${file.split('/').at(-1)} ${args.join(' ')} failed (${r.code}):\n${(r.stdout + r.stderr).split('\n').slice(-30).join('\n')}`);
  }
  return r.stdout;
}

/** `scripts/cluster.sh up`: builds what is missing (minutes when cold) and returns the kubeconfig path. */
export async function clusterUp(): Promise<string> {
  const out = await must('bash', [clusterScript, 'up'], { timeoutMs: 60 * 60_000 });
  const kubeconfig = out.trim().split('\n').at(-1) ?? '';
  if (!existsSync(kubeconfig)) throw new Error(`cluster.sh up printed no kubeconfig: ${out}`);
  return kubeconfig;
}

export async function clusterDown(): Promise<CmdResult> {
  return cmd('bash', [clusterScript, 'down'], { timeoutMs: 5 * 60_000 });
}

/** The directory of the cluster's own images (scripts/tools/cluster-images.sh) and the workload image name. */
export async function clusterImages(): Promise<{ dir: string; udpBurst: string }> {
  const out = await must('bash', [`${repoRoot}scripts/tools/cluster-images.sh`], { timeoutMs: 10 * 60_000 });
  const dir = out.trim().split('\n').at(-1) ?? '';
  const tag = dir.split('/').at(-1)?.replace(/^cluster-images-/, '') ?? '';
  return { dir, udpBurst: `localhost/kdrop-udp-burst:${tag}` };
}

export function sysctl(name: string): string | null {
  try {
    return readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** What `down` must leave as it was: sysctls, nft tables, host directories (and their entries). */
export interface HostSnapshot {
  sysctls: Record<string, string | null>;
  nftTables: string[];
  dirs: Record<string, string[] | null>;
  /** kubelet's kubepods cgroups, in every hierarchy. */
  cgroups: string[];
}

export async function hostSnapshot(): Promise<HostSnapshot> {
  const sysctls: Record<string, string | null> = {};
  for (const s of CLUSTER_SYSCTLS) sysctls[s] = sysctl(s);
  const nft = await cmd('nft', ['list', 'tables']);
  const dirs: Record<string, string[] | null> = {};
  for (const d of CLUSTER_HOST_DIRS) dirs[d] = existsSync(d) ? readdirSync(d).sort() : null;
  const cgroups = readdirSync('/sys/fs/cgroup')
    .map((h) => `/sys/fs/cgroup/${h}/kubepods`)
    .concat(['/sys/fs/cgroup/kubepods'])
    .filter((d) => existsSync(d));
  return { sysctls, nftTables: nft.stdout.split('\n').filter((l) => l.startsWith('table ')).sort(), dirs, cgroups };
}

/** Processes whose executable is one of the cluster's binaries (or etcd with the cluster's data dir). */
export function clusterProcesses(): string[] {
  const bins = new Set(Object.values(clusterBinaries()));
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      let exe = '';
      try {
        exe = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        /* gone */
      }
      const first = cmdline.split(' ')[0] ?? '';
      if (bins.has(first) || (exe === 'etcd' && cmdline.includes(CLUSTER_DIR))) found.push(`${pid} ${cmdline.slice(0, 120)}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Mount points under the cluster's directories. */
export function clusterMounts(): string[] {
  const roots = [CLUSTER_DIR, CLUSTER_RUN, '/var/lib/kubelet', '/run/containerd'];
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => roots.some((r) => m === r || m.startsWith(`${r}/`)));
}
