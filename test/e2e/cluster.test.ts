/**
 * The chart on a real one-node cluster (scripts/cluster.sh: kubelet, containerd + runc with seccomp, CNI bridge,
 * kube-proxy in nftables mode, the control plane; all built from their Go modules, Debian's etcd): the image
 * built with buildah and imported into containerd, `helm install` with the default values but the image
 * reference, the DaemonSet Ready under the runtime's default seccomp profile and the chart's capabilities, a
 * workload pod's N UDP drops counted exactly under its namespace and name, its series expired after the pod
 * is deleted, `helm test`, `helm uninstall` leaving nothing behind, and `down` restoring the host.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import { buildImage, chartCapabilities, imageSkipReason } from './helpers/deploy-image.js';
import { chartDir, helm, helmSkipReason } from './helpers/deploy-helm.js';
import {
  BRIDGE,
  clusterBinaries,
  clusterDown,
  clusterImages,
  clusterMounts,
  clusterProcesses,
  clusterSkipReason,
  clusterUp,
  cmd,
  hostSnapshot,
  must,
  type HostSnapshot,
} from './helpers/cluster.js';

const skip = imageSkipReason() ?? helmSkipReason() ?? clusterSkipReason() ?? false;
const IMAGE_TAG = 'cluster-e2e';
const IMAGE = `localhost/kdrop:${IMAGE_TAG}`;
const RELEASE = 'kdrop';
const NS = 'kdrop-system';
const WORKLOAD_NS = `kdrop-e2e-${process.pid}`;
const WORKLOAD = 'udp-burst';
/** Datagrams the workload sends to a closed port: exactly this many NO_SOCKET drops. */
const N = 37;
/** Linux capability numbers (include/uapi/linux/capability.h), by name without CAP_. */
const CAP_NUMBERS: Record<string, number> = Object.fromEntries(
  ('CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE ' +
    'NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT ' +
    'SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL ' +
    'SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE')
    .split(' ')
    .map((name, i) => [name, i]),
);

interface PodJson {
  metadata: { name: string; namespace: string; uid: string };
  status?: { podIP?: string; phase?: string; containerStatuses?: { containerID?: string; ready?: boolean }[] };
}

/** Where the kernel probe pins on the host (the chart mounts only this directory into the agent). */
const PIN_ROOT = '/sys/fs/bpf/kdrop';
/** statfs f_type of bpffs (include/uapi/linux/magic.h). */
const BPF_FS_MAGIC = 0xcafe4a11;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs / 1000}s${last ? ` (${String(last)})` : ''}`);
    await sleep(1000);
  }
}

/** Sum of kdrop_packet_drops_total samples whose labels include all of `want`. */
function dropsFor(metrics: string, want: Record<string, string>): { total: number; series: number } {
  let total = 0;
  let series = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('kdrop_packet_drops_total{')) continue;
    const m = /^kdrop_packet_drops_total\{(.*)\} (\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) {
      total += Number(m[2]);
      series++;
    }
  }
  return { total, series };
}

/** Asks the workload pod to send `n` datagrams; resolves with its answer. */
function trigger(podIP: string, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: podIP, port: 8080, timeout: 15_000 });
    let answer = '';
    sock.on('connect', () => sock.write(`${n}\n`));
    sock.on('data', (d) => (answer += d.toString()));
    sock.on('end', () => resolve(answer.trim()));
    sock.on('timeout', () => sock.destroy(new Error('timeout')));
    sock.on('error', reject);
  });
}

/** One HTTPS GET verifying the agent's certificate with `ca` for `serverName` (the agents are reached by pod IP). */
function tlsGet(host: string, port: number, path: string, ca: string, serverName: string, bearer?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host, port, path, ca, servername: serverName, agent: false, timeout: 15_000, checkServerIdentity: (_h, cert) => checkServerIdentity(serverName, cert), headers: bearer ? { authorization: `Bearer ${bearer}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** pid and start time of every process in a container's cgroup (found through /proc/<pid>/cgroup). */
function containerProcesses(containerId: string): { pid: string; start: string }[] {
  const out: { pid: string; start: string }[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerId)) continue;
      const start = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? '';
      out.push({ pid, start });
    } catch {
      /* gone */
    }
  }
  return out;
}

function alive(p: { pid: string; start: string }): boolean {
  try {
    return (readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? '') === p.start;
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

describe('the chart on a real one-node cluster (scripts/cluster.sh)', { skip, timeout: 90 * 60_000 }, () => {
  const t0 = Date.now();
  const bins = clusterBinaries();
  let before0: HostSnapshot;
  let kubeconfig = '';
  let helmBin = '';
  let up = false;
  let installed = false;
  let tmp = '';
  let agentPod: PodJson | undefined;
  let agentContainerId = '';
  let setupMs = 0;

  const kubectl = (args: readonly string[], timeoutMs = 120_000): Promise<string> =>
    must(bins['kubectl']!, ['--kubeconfig', kubeconfig, ...args], { timeoutMs });
  const helmRun = (args: readonly string[], timeoutMs = 8 * 60_000): Promise<string> =>
    must(helmBin, ['--kubeconfig', kubeconfig, ...args], { timeoutMs });
  const ctr = (args: readonly string[], timeoutMs = 10 * 60_000): Promise<string> =>
    must(bins['ctr']!, ['--address', '/run/kdrop-cluster/containerd/containerd.sock', '-n', 'k8s.io', ...args], { timeoutMs });
  const agentMetrics = async (): Promise<string> => {
    const res = await fetch(`http://${agentPod!.status!.podIP}:9464/metrics`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    return res.text();
  };

  before(async () => {
    before0 = await hostSnapshot();
    helmBin = await helm();
    // The image the way the image test builds it; the cluster (tools built on first use, cached after).
    const [image] = await Promise.all([buildImage({ tag: IMAGE }), clusterImages()]);
    up = true; // from here on, `after` takes the cluster down whatever happens
    kubeconfig = await clusterUp();
    tmp = mkdtempSync('/tmp/kdrop-cluster-test-');
    await must('buildah', ['push', '--quiet', image, `docker-archive:${tmp}/kdrop.tar:${IMAGE}`], { timeoutMs: 10 * 60_000 });
    await ctr(['images', 'import', `${tmp}/kdrop.tar`]);
    rmSync(`${tmp}/kdrop.tar`, { force: true });
    setupMs = Date.now() - t0;
  }, { timeout: 70 * 60_000 });

  after(async () => {
    if (installed) await cmd(helmBin, ['--kubeconfig', kubeconfig, 'uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '2m']);
    if (up) {
      const down = await clusterDown();
      if (down.code !== 0) console.error(`scripts/cluster.sh down failed:\n${down.stderr}`);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`# cluster test wall time: ${((Date.now() - t0) / 1000).toFixed(0)} s (setup: image, tools, cluster up, import: ${(setupMs / 1000).toFixed(0)} s)`);
  });

  it('helm install with the default values but the image: the DaemonSet becomes Ready', async () => {
    await helmRun([
      'install', RELEASE, chartDir, '--namespace', NS, '--create-namespace',
      '--set', 'image.repository=localhost/kdrop', '--set', `image.tag=${IMAGE_TAG}`, '--set', 'image.pullPolicy=Never',
      '--wait', '--timeout', '5m',
    ]);
    installed = true;
    // helm's --wait does not wait for the DaemonSet's pods to be Ready: rollout status does.
    await kubectl(['-n', NS, 'rollout', 'status', `daemonset/${RELEASE}`, '--timeout=180s'], 190_000);
    const ds = JSON.parse(await kubectl(['-n', NS, 'get', 'daemonset', RELEASE, '-o', 'json'])) as { status: Record<string, number> };
    assert.equal(ds.status['desiredNumberScheduled'], 1, JSON.stringify(ds.status));
    assert.equal(ds.status['numberReady'], 1, JSON.stringify(ds.status));
    const pods = JSON.parse(await kubectl(['-n', NS, 'get', 'pods', '-l', `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=agent`, '-o', 'json'])) as { items: PodJson[] };
    assert.equal(pods.items.length, 1);
    agentPod = pods.items[0]!;
    agentContainerId = (agentPod.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^containerd:\/\//, '');
    assert.match(agentContainerId, /^[0-9a-f]{64}$/);
    assert.ok(agentPod.status?.podIP, 'the agent pod has an IP on the bridge');
  });

  it("the agent runs under the runtime's default seccomp profile with exactly the chart's capabilities", async () => {
    assert.ok(agentContainerId, 'installed');
    const tasks = await ctr(['tasks', 'ls']);
    const pid = tasks.split('\n').find((l) => l.startsWith(agentContainerId))?.split(/\s+/)[1];
    assert.ok(pid && /^\d+$/.test(pid), `agent task in:\n${tasks}`);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string): string => new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
    assert.equal(field('Seccomp'), '2', 'seccomp filter mode (RuntimeDefault)');
    assert.equal(field('NoNewPrivs'), '1', 'allowPrivilegeEscalation: false');
    let want = 0n;
    for (const c of chartCapabilities()) {
      assert.ok(CAP_NUMBERS[c] !== undefined, `capability number of ${c}`);
      want |= 1n << BigInt(CAP_NUMBERS[c]!);
    }
    assert.equal(BigInt(`0x${field('CapEff')}`), want, `CapEff ${field('CapEff')} vs the chart's ${chartCapabilities().join(',')}`);
    assert.equal(BigInt(`0x${field('CapBnd')}`), want, 'bounding set');
    const ready = await fetch(`http://${agentPod!.status!.podIP}:9464/readyz`);
    const text = await ready.text();
    assert.equal(ready.status, 200, text);
    assert.match(text, /^ok: \d+ intervals read/);
  });

  it("the agent sees only kdrop's own bpffs directory, and pins there", async () => {
    assert.ok(agentContainerId, 'installed');
    const procs = containerProcesses(agentContainerId);
    // The pin directory is named after the agent's Node process (host pid: hostPID), whichever of the
    // container's processes that is (tini, node, its re-executed child with runtime flags, kdrop-probe).
    const ours = listDir(PIN_ROOT).filter((d) => procs.some((p) => d.startsWith(`${p.pid}-`)));
    assert.equal(ours.length, 1, `one pin directory of the agent's processes (${procs.map((p) => p.pid).join(', ')}) in ${PIN_ROOT}: ${listDir(PIN_ROOT).join(', ')}`);
    const pid = procs[0]!.pid;
    // In the container, /sys/fs/bpf is not the host's bpffs: other components' pins are out of reach.
    const root = `/proc/${pid}/root`;
    assert.notEqual(statfsSync(`${root}/sys/fs/bpf`).type, BPF_FS_MAGIC, "the host's bpffs is not mounted at /sys/fs/bpf in the agent");
    assert.deepEqual(listDir(`${root}/sys/fs/bpf`), [], "nothing of the host's bpffs is visible there");
    const pinRoot = `${root}/run/kdrop/bpffs`;
    assert.equal(statfsSync(pinRoot).type, BPF_FS_MAGIC, 'the pin directory is on bpffs');
    assert.ok(listDir(pinRoot).includes(ours[0]!), 'the same directory seen from the agent');
    assert.ok(listDir(`${PIN_ROOT}/${ours[0]}`).includes('link'), 'the link is pinned');
  });

  it("the agent reads the node's NICs from its pod (not the pod's own devices): `kdrop doctor` in its container names them", async () => {
    assert.ok(agentContainerId, 'installed');
    // This node's physical NICs: the interfaces of the host's netns with a device link.
    const nics = listDir('/sys/class/net').filter((n) => existsSync(`/sys/class/net/${n}/device`));
    assert.ok(nics.length > 0, 'this node has a NIC with a device link');
    // In the pod's own network namespace there is none (its /sys shows only its veth and lo).
    const pid = containerProcesses(agentContainerId)[0]!.pid;
    assert.deepEqual(listDir(`/proc/${pid}/root/sys/class/net`).filter((n) => nics.includes(n) && existsSync(`/proc/${pid}/root/sys/class/net/${n}/device`)), []);
    // doctor with the container's own environment (ctr exec keeps the container's process spec but the command).
    const out = await ctr(['tasks', 'exec', '--exec-id', `kdrop-doctor-${process.pid}`, agentContainerId, 'node', '/app/dist/kdrop.mjs', 'doctor']).catch((err: Error) => err.message);
    // "NIC rx_missed_errors, rx_fifo_errors, rx_dropped, tx_dropped on eth0" (without: "... (no physical NIC with statistics in sysfs)").
    const read = /\bNIC (?:[a-z_]+, )*[a-z_]+ on ([^;\n]+)/.exec(out)?.[1]?.split(', ');
    assert.ok(read, `doctor names the NICs whose statistics it reads:\n${out}`);
    assert.deepEqual(read.sort(), [...nics].sort(), `doctor in the agent's container reads the node's NICs:\n${out}`);
  });

  it(`a workload pod's ${N} UDP datagrams to a closed port: exactly ${N} NO_SOCKET drops under its namespace and name`, async (t) => {
    assert.ok(agentPod, 'installed');
    const images = await clusterImages();
    await kubectl(['create', 'namespace', WORKLOAD_NS]);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: WORKLOAD, namespace: WORKLOAD_NS },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: WORKLOAD,
            image: images.udpBurst,
            imagePullPolicy: 'Never',
            ports: [{ containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 65534 },
          },
        ],
      },
    };
    writeFileSync(`${tmp}/pod.json`, JSON.stringify(pod));
    await kubectl(['apply', '-f', `${tmp}/pod.json`]);
    await kubectl(['-n', WORKLOAD_NS, 'wait', '--for=condition=Ready', `pod/${WORKLOAD}`, '--timeout=120s'], 130_000);
    const p = JSON.parse(await kubectl(['-n', WORKLOAD_NS, 'get', 'pod', WORKLOAD, '-o', 'json'])) as PodJson;
    const podIP = p.status?.podIP ?? '';
    assert.match(podIP, /^10\.87\.0\.\d+$/);
    // Let the agent learn the pod (API watch) before the drops: two read intervals.
    await sleep(12_000);
    const want = { k8s_namespace_name: WORKLOAD_NS, k8s_pod_name: WORKLOAD, kdrop_reason: 'NO_SOCKET' };
    assert.equal(dropsFor(await agentMetrics(), want).total, 0, 'no drops of the pod before it sends');
    assert.equal(await trigger(podIP, N), `sent ${N}`);
    let lastMetrics = '';
    const got = await until('the pod series', 60_000, async () => {
      lastMetrics = await agentMetrics();
      const d = dropsFor(lastMetrics, want);
      return d.total >= N ? d : null;
    }).catch(async (err: Error) => {
      const logs = await kubectl(['-n', NS, 'logs', `pod/${agentPod!.metadata.name}`, '--tail=30']).catch((e: Error) => e.message);
      const drops = lastMetrics.split('\n').filter((l) => l.startsWith('kdrop_packet_drops_total{') && l.includes('NO_SOCKET'));
      throw new Error(`${err.message}\nNO_SOCKET series:\n${drops.join('\n')}\nagent log:\n${logs}`);
    });
    assert.equal(got.total, N, `exactly ${N} drops`);
    // Still exactly N after two more read intervals (nothing counted twice, nothing late).
    await sleep(11_000);
    const metrics = await agentMetrics();
    assert.equal(dropsFor(metrics, want).total, N);
    assert.equal(dropsFor(metrics, { ...want, kdrop_scope: 'pod', network_type: 'ipv4' }).total, N, 'scope pod, ipv4');
    // A measurement, not a limit (docs/performance.md): the agent's memory in a pod, with its pod watch running.
    const rss = containerProcesses(agentContainerId).map(({ pid }) => {
      try {
        return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      } catch {
        return 0;
      }
    });
    t.diagnostic(`agent container RSS: ${(rss.reduce((a, b) => a + b, 0) / 1024).toFixed(1)} MiB in ${rss.length} processes`);
  });

  it("deleting the pod expires its series (after the agent's grace period)", async () => {
    assert.ok(agentPod, 'installed');
    assert.ok(dropsFor(await agentMetrics(), { k8s_pod_name: WORKLOAD, k8s_namespace_name: WORKLOAD_NS }).series > 0, 'the pod has series before');
    await kubectl(['-n', WORKLOAD_NS, 'delete', 'pod', WORKLOAD, '--wait=true', '--timeout=60s'], 70_000);
    await until('the series of the deleted pod to expire', 180_000, async () =>
      dropsFor(await agentMetrics(), { k8s_pod_name: WORKLOAD, k8s_namespace_name: WORKLOAD_NS }).series === 0,
    );
    await kubectl(['delete', 'namespace', WORKLOAD_NS, '--wait=false']);
  });

  it('helm test passes (without cluster DNS)', async () => {
    assert.ok(installed, 'installed');
    // No --logs: the hook pod is deleted when it succeeds (hook-delete-policy hook-succeeded).
    const out = await helmRun(['test', RELEASE, '-n', NS, '--timeout', '3m']);
    assert.match(out, /TEST SUITE:\s+kdrop-test-metrics[\s\S]*Phase:\s+Succeeded/);
  });

  it('auth.enabled: over HTTPS, a ServiceAccount bound to the documented reader role reads /metrics and /api/v1/drops; one without it gets 403, no token 401', async () => {
    assert.ok(installed, 'installed');
    const authNs = `kdrop-e2e-auth-${process.pid}`;
    await kubectl(['create', 'namespace', authNs]);
    for (const sa of ['reader', 'stranger']) await kubectl(['-n', authNs, 'create', 'serviceaccount', sa]);
    // The chart's documented RBAC: the ClusterRole <release>-reader, bound through auth.readers.
    await helmRun([
      'upgrade', RELEASE, chartDir, '--namespace', NS, '--reuse-values',
      '--set', 'auth.enabled=true',
      '--set', 'auth.readers[0].kind=ServiceAccount', '--set', 'auth.readers[0].name=reader', '--set', `auth.readers[0].namespace=${authNs}`,
      '--wait', '--timeout', '5m',
    ]);
    await kubectl(['-n', NS, 'rollout', 'status', `daemonset/${RELEASE}`, '--timeout=180s'], 190_000);
    const pods = JSON.parse(await kubectl(['-n', NS, 'get', 'pods', '-l', `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=agent`, '-o', 'json'])) as { items: PodJson[] };
    const running = pods.items.filter((p) => p.status?.containerStatuses?.[0]?.ready === true);
    assert.equal(running.length, 1, 'the upgraded agent is Ready (HTTPS probes)');
    agentPod = running[0]!;
    agentContainerId = (agentPod.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^containerd:\/\//, '');
    const ca = Buffer.from(await kubectl(['-n', NS, 'get', 'secret', `${RELEASE}-tls`, '-o', 'jsonpath={.data.ca\\.crt}']), 'base64').toString();
    assert.match(ca, /BEGIN CERTIFICATE/);
    const token = async (sa: string): Promise<string> => (await kubectl(['-n', authNs, 'create', 'token', sa, '--duration=10m'])).trim();
    const [reader, stranger] = [await token('reader'), await token('stranger')];
    const ip = agentPod.status!.podIP!;
    const serverName = `${RELEASE}.${NS}.svc`;
    const get = (path: string, bearer?: string) => tlsGet(ip, 9464, path, ca, serverName, bearer);

    await assert.rejects(fetch(`http://${ip}:9464/metrics`, { signal: AbortSignal.timeout(10_000) }), 'no plain HTTP any more');
    const health = await get('/readyz');
    assert.equal(health.status, 200, `the kubelet's probes need no token: ${health.body}`);
    const metrics = await until('the reader to be admitted', 60_000, async () => {
      const r = await get('/metrics', reader);
      return r.status === 200 ? r : null;
    });
    assert.match(metrics.body, /^kdrop_packet_drops_total\{/m, 'the reader gets the drop counters');
    const drops = await get('/api/v1/drops', reader);
    assert.equal(drops.status, 200, drops.body);
    assert.ok(Array.isArray((JSON.parse(drops.body) as { series?: unknown }).series), 'the drops API document');
    // Not admitted by the API server's default roles: system:discovery opens the non-resource URLs /api/* to
    // every authenticated user, so the drops API is authorized as the resource drops.kdrop.dev.
    const forbidden = await get('/metrics', stranger);
    assert.equal(forbidden.status, 403, forbidden.body);
    assert.match(forbidden.body, new RegExp(`system:serviceaccount:${authNs}:stranger may not get /metrics`));
    assert.equal((await get('/api/v1/drops', stranger)).status, 403);
    const anonymous = await get('/metrics');
    assert.equal(anonymous.status, 401, anonymous.body);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="kdrop"');
    assert.equal((await get('/metrics', `${reader.slice(0, -4)}AAAA`)).status, 401, 'a tampered token');
    // The helm test pod, over HTTPS: /readyz, and /metrics refused without a token.
    const out = await helmRun(['test', RELEASE, '-n', NS, '--timeout', '3m']);
    assert.match(out, /Phase:\s+Succeeded/);
    await kubectl(['delete', 'namespace', authNs, '--wait=false']);
  });

  it('helm uninstall leaves no processes, tracefs instances or BPF pins of the agent', async () => {
    assert.ok(installed && agentContainerId, 'installed');
    const procs = containerProcesses(agentContainerId);
    assert.ok(
      procs.some((p) => listDir(PIN_ROOT).some((d) => d.startsWith(`${p.pid}-`))),
      `before the uninstall, the agent's pins are in ${PIN_ROOT} (${listDir(PIN_ROOT).join(', ')}): the check below can fail`,
    );
    assert.ok(procs.length >= 2, `tini, node and bpftrace in the agent container: ${JSON.stringify(procs)}`);
    const pids = procs.map((p) => p.pid);
    await helmRun(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '2m']);
    installed = false;
    await until('agent processes to exit', 60_000, async () => procs.every((p) => !alive(p)));
    // The agent names what it makes in the kernel after its pid (host pid namespace: hostPID).
    const ours = (name: string): boolean => pids.some((pid) => name.includes(`-${pid}-`) || name.endsWith(`-${pid}`));
    const tracefs = existsSync('/sys/kernel/tracing/instances') ? '/sys/kernel/tracing/instances' : '/sys/kernel/debug/tracing/instances';
    assert.deepEqual(listDir(tracefs).filter(ours), [], 'tracefs instances');
    assert.deepEqual(listDir(PIN_ROOT).filter(ours), [], 'bpffs pins');
  });

  it('scripts/cluster.sh down leaves no process, mount, bridge, nft table, cgroup, host directory or changed sysctl', async () => {
    const down = await clusterDown();
    assert.equal(down.code, 0, down.stderr);
    up = false;
    assert.deepEqual(clusterProcesses(), [], 'cluster processes');
    assert.deepEqual(clusterMounts(), [], 'mounts');
    assert.equal(existsSync(`/sys/class/net/${BRIDGE}`), false, 'bridge');
    const now = await hostSnapshot();
    assert.deepEqual(now.sysctls, before0.sysctls, 'sysctls');
    const kube = (t: string[]): string[] => t.filter((x) => /kube|kdrop-cluster/.test(x));
    assert.deepEqual(kube(now.nftTables), kube(before0.nftTables), 'nft tables');
    assert.deepEqual(now.dirs, before0.dirs, 'host directories');
    assert.deepEqual(now.cgroups, before0.cgroups, "kubelet's kubepods cgroups");
  });
});
