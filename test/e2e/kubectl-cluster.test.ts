/**
 * `kubectl kdrop` on the real one-node cluster (scripts/cluster.sh; run it under `flock /tmp/kdrop-cluster.lock`):
 * the chart with the samples API (trusting the API server's address, 10.87.0.1) and the user role bound to a
 * ServiceAccount; a workload pod's N UDP datagrams to a closed port; `kubectl kdrop trace --pod` shows its flow
 * (127.0.0.1 -> 127.0.0.1:9, NO_SOCKET) streamed through the API server proxy, `kubectl kdrop top` shows the
 * pod on its node with the same total as the agent's /metrics and exactly N NO_SOCKET drops; the bound user
 * may run top, a user without the role is refused with KDROP_E_KUBE_FORBIDDEN naming the permission.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildImage, imageSkipReason } from './helpers/deploy-image.js';
import { chartDir, helm, helmSkipReason } from './helpers/deploy-helm.js';
import { NODE_IP, NODE_NAME, clusterBinaries, clusterDown, clusterImages, clusterSkipReason, clusterUp, cmd, must } from './helpers/cluster.js';

const skip = imageSkipReason() ?? helmSkipReason() ?? clusterSkipReason() ?? false;
const IMAGE_TAG = 'kubectl-e2e';
const IMAGE = `localhost/kdrop:${IMAGE_TAG}`;
const RELEASE = 'kdrop';
const NS = 'kdrop-system';
const WORKLOAD_NS = `kdrop-kubectl-${process.pid}`;
const WORKLOAD = 'udp-burst';
const N = 23;
const CLI = fileURLToPath(new URL('../../src/kubectl-cli.js', import.meta.url));
const NODE = process.execPath;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

/** Runs `kubectl kdrop ARGS` to the end. */
function plugin(args: readonly string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function sumMetrics(metrics: string, want: Record<string, string>): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    const m = /^kdrop_packet_drops_total\{(.*)\} (\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) total += Number(m[2]);
  }
  return total;
}

describe('kubectl kdrop on a real one-node cluster', { skip, timeout: 60 * 60_000 }, () => {
  const bins = clusterBinaries();
  let kubeconfig = '';
  let helmBin = '';
  let up = false;
  let installed = false;
  let tmp = '';
  let podIP = '';
  let agentIP = '';
  const kubectl = (args: readonly string[], timeoutMs = 120_000): Promise<string> => must(bins['kubectl']!, ['--kubeconfig', kubeconfig, ...args], { timeoutMs });
  const ctr = (args: readonly string[]): Promise<string> => must(bins['ctr']!, ['--address', '/run/kdrop-cluster/containerd/containerd.sock', '-n', 'k8s.io', ...args], { timeoutMs: 10 * 60_000 });

  /** A kubeconfig for a ServiceAccount's token, with the admin kubeconfig's cluster. */
  async function saKubeconfig(sa: string): Promise<string> {
    const token = (await kubectl(['-n', NS, 'create', 'token', sa, '--duration=1h'])).trim();
    const admin = JSON.parse(await kubectl(['config', 'view', '--raw', '-o', 'json'])) as { clusters: { name: string; cluster: Record<string, string> }[] };
    const c = admin.clusters[0]!;
    const file = `${tmp}/${sa}.kubeconfig`;
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [c], users: [{ name: sa, user: { token } }], contexts: [{ name: sa, context: { cluster: c.name, user: sa } }], 'current-context': sa }),
    );
    return file;
  }

  before(async () => {
    helmBin = await helm();
    const [image] = await Promise.all([buildImage({ tag: IMAGE }), clusterImages()]);
    up = true;
    kubeconfig = await clusterUp();
    tmp = mkdtempSync('/tmp/kdrop-kubectl-test-');
    await must('buildah', ['push', '--quiet', image, `docker-archive:${tmp}/kdrop.tar:${IMAGE}`], { timeoutMs: 10 * 60_000 });
    await ctr(['images', 'import', `${tmp}/kdrop.tar`]);
    rmSync(`${tmp}/kdrop.tar`, { force: true });
  }, { timeout: 50 * 60_000 });

  after(async () => {
    if (installed) await cmd(helmBin, ['--kubeconfig', kubeconfig, 'uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '2m']);
    if (up) {
      const down = await clusterDown();
      if (down.code !== 0) console.error(`scripts/cluster.sh down failed:\n${down.stderr}`);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('installs the chart with the samples API and the user role; a workload pod runs', async () => {
    await must(helmBin, [
      '--kubeconfig', kubeconfig, 'install', RELEASE, chartDir, '--namespace', NS, '--create-namespace',
      '--set', 'image.repository=localhost/kdrop', '--set', `image.tag=${IMAGE_TAG}`, '--set', 'image.pullPolicy=Never',
      '--set', 'agent.samplesApi.enabled=true', '--set', `agent.samplesApi.trustedProxies={${NODE_IP}}`,
      '--set', 'kubectlRbac.create=true',
      '--set', 'kubectlRbac.subjects[0].kind=ServiceAccount', '--set', 'kubectlRbac.subjects[0].name=kdrop-e2e-viewer', '--set', `kubectlRbac.subjects[0].namespace=${NS}`,
      '--wait', '--timeout', '5m',
    ], { timeoutMs: 8 * 60_000 });
    installed = true;
    await kubectl(['-n', NS, 'rollout', 'status', `daemonset/${RELEASE}`, '--timeout=180s'], 190_000);
    await kubectl(['-n', NS, 'create', 'serviceaccount', 'kdrop-e2e-viewer']);
    await kubectl(['-n', NS, 'create', 'serviceaccount', 'kdrop-e2e-nobody']);
    agentIP = JSON.parse(await kubectl(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=agent', '-o', 'json'])).items[0].status.podIP as string;
    const images = await clusterImages();
    await kubectl(['create', 'namespace', WORKLOAD_NS]);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: WORKLOAD, namespace: WORKLOAD_NS },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: WORKLOAD, image: images.udpBurst, imagePullPolicy: 'Never', ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 65534 } }],
      },
    };
    writeFileSync(`${tmp}/pod.json`, JSON.stringify(pod));
    await kubectl(['apply', '-f', `${tmp}/pod.json`]);
    await kubectl(['-n', WORKLOAD_NS, 'wait', '--for=condition=Ready', `pod/${WORKLOAD}`, '--timeout=120s'], 130_000);
    podIP = (JSON.parse(await kubectl(['-n', WORKLOAD_NS, 'get', 'pod', WORKLOAD, '-o', 'json'])) as { status: { podIP: string } }).status.podIP;
    // Let the agent learn the pod before the drops (two read intervals).
    await sleep(12_000);
  });

  it(`trace --pod streams the pod's flow (NO_SOCKET to 127.0.0.1:9) through the API server proxy`, async () => {
    assert.ok(podIP, 'workload running');
    const run = plugin(['--kubeconfig', kubeconfig, 'trace', '--pod', `${WORKLOAD_NS}/${WORKLOAD}`, '--port', '9', '-c', '1'], 90_000);
    // The stream is open once the agent has a subscriber; then the burst.
    await sleep(5000);
    assert.equal(await trigger(podIP, N), `sent ${N}`);
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`tracing pod ${WORKLOAD_NS}/${WORKLOAD} on node ${NODE_NAME}`));
    assert.match(r.stdout.trim(), new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} pod ${WORKLOAD_NS}/${WORKLOAD} NO_SOCKET \\S+ udp 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:9 on lo`));
  });

  it(`top -A shows the pod on its node with the agent's /metrics total; -n -g reason shows exactly ${N} NO_SOCKET`, async () => {
    // The agent reads every 5 s: wait until the burst is in its counts, then one more interval.
    const want = { k8s_namespace_name: WORKLOAD_NS, k8s_pod_name: WORKLOAD, kdrop_reason: 'NO_SOCKET' };
    for (let i = 0; i < 60 && sumMetrics(await (await fetch(`http://${agentIP}:9464/metrics`)).text(), want) < N; i++) await sleep(1000);
    await sleep(6000);
    const metrics = await (await fetch(`http://${agentIP}:9464/metrics`)).text();
    const podTotal = sumMetrics(metrics, { k8s_namespace_name: WORKLOAD_NS, k8s_pod_name: WORKLOAD });
    assert.equal(sumMetrics(metrics, want), N);
    const top = await plugin(['--kubeconfig', kubeconfig, 'top', '-A', '--plain', '-c', '1']);
    assert.equal(top.code, 0, top.stderr);
    const row = top.stdout.split('\n').find((l) => l.startsWith(`${WORKLOAD_NS}/${WORKLOAD} `));
    assert.ok(row, top.stdout);
    assert.deepEqual([row.split(/\s{2,}/)[1], row.split(/\s{2,}/)[3]], [NODE_NAME, String(podTotal)]);
    assert.match(top.stdout, /agents 1\/1/);
    const byReason = await plugin(['--kubeconfig', kubeconfig, '-n', WORKLOAD_NS, 'top', '-g', 'reason', '--plain', '-c', '1']);
    const noSocket = byReason.stdout.split('\n').find((l) => l.startsWith('NO_SOCKET '));
    assert.equal(noSocket?.split(/\s{2,}/)[3], String(N), byReason.stdout);
  });

  it('a user with the chart role may run top; one without is refused with KDROP_E_KUBE_FORBIDDEN naming the permission', async () => {
    const viewer = await plugin(['--kubeconfig', await saKubeconfig('kdrop-e2e-viewer'), 'top', '--plain', '-c', '1']);
    assert.equal(viewer.code, 0, viewer.stderr);
    assert.ok(viewer.stdout.includes(`${WORKLOAD_NS}/${WORKLOAD} `), viewer.stdout);
    const nobody = await plugin(['--kubeconfig', await saKubeconfig('kdrop-e2e-nobody'), 'top', '--plain', '-c', '1']);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /\[KDROP_E_KUBE_FORBIDDEN\]/);
    assert.match(nobody.stderr, new RegExp(`missing permission list pods in namespace ${NS}`));
    assert.match(nobody.stderr, /system:serviceaccount:kdrop-system:kdrop-e2e-nobody/);
  });
});
