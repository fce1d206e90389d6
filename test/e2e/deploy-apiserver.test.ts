/**
 * The chart's rendered manifests, validated by a real kube-apiserver (v1.35, with etcd): server-side dry
 * run with strict field validation for the defaults and every ci/*-values.yaml, and Pod Security
 * admission: the agent pod needs the `privileged` level, the `helm test` pod passes `restricted`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { chartDir, helmSkipReason, one, path, render, runHelm, type K8sObject } from './helpers/deploy-helm.js';
import { apiRequest, dryRunCreate } from './helpers/deploy-apiserver.js';
import { realApiServerSkipReason, startRealApiServer, type RealApiServer } from './pods-kube-apiserver.js';

const skip = helmSkipReason() ?? realApiServerSkipReason() ?? false;
const NS = 'kdrop-system';
const ciValues = readdirSync(`${chartDir}/ci`).filter((f) => f.endsWith('-values.yaml')).sort();

describe('rendered chart against a real kube-apiserver', { skip, timeout: 10 * 60_000 }, () => {
  let api: RealApiServer | undefined;

  const createNamespace = async (name: string, psaLevel: string): Promise<void> => {
    const res = await apiRequest(`${api!.url}/api/v1/namespaces`, api!.token, 'POST', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': psaLevel } },
    });
    assert.ok(res.status === 201 || res.status === 409, `namespace ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  };

  /** A Pod built from the DaemonSet's template, as the DaemonSet controller would create it. */
  const agentPod = (objects: readonly K8sObject[], namespace: string): K8sObject => {
    const ds = one(objects, 'DaemonSet');
    const template = path(ds, 'spec.template') as { metadata: K8sObject['metadata']; spec: Record<string, unknown> };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...template.metadata, name: 'kdrop-agent-x', namespace },
      spec: { ...template.spec, nodeName: 'node-1' },
    };
  };

  before(async () => {
    api = await startRealApiServer();
    // The API server creates the system PriorityClasses in a post-start hook: wait for them.
    const pcUrl = `${api.url}/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical`;
    for (let i = 0; i < 60 && (await apiRequest(pcUrl, api.token, 'GET')).status !== 200; i++) await new Promise((r) => setTimeout(r, 500));
    await createNamespace(NS, 'privileged');
    await createNamespace('psa-baseline', 'baseline');
    await createNamespace('psa-restricted', 'restricted');
  }, { timeout: 5 * 60_000 });

  after(async () => {
    await api?.stop();
  });

  for (const file of ['(defaults)', ...ciValues]) {
    it(`every object of ${file} passes server-side validation (dry run, strict fields)`, async () => {
      const { objects } = await render(file === '(defaults)' ? { namespace: NS } : { namespace: NS, valuesFiles: [`${chartDir}/ci/${file}`] });
      const checked: string[] = [];
      for (const o of objects) {
        if (o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule') continue; // CRDs of prometheus-operator: not installed in this API server
        if (o.metadata.namespace && o.metadata.namespace !== NS) await createNamespace(o.metadata.namespace, 'privileged');
        const res = await dryRunCreate(api!.url, api!.token, o, NS);
        if (file === 'privileged-values.yaml' && ['DaemonSet', 'Pod'].includes(o.kind) && res.status === 422) {
          // This API server runs without --allow-privileged (its default); real clusters set it. Every
          // other check passed if privileged is the only complaint.
          assert.match(String(res.body['message']), /securityContext\.privileged: Forbidden: disallowed by cluster policy$/);
          assert.equal((path(res.body, 'details.causes') as unknown[]).length, 1, JSON.stringify(res.body));
          checked.push(o.kind);
          continue;
        }
        assert.equal(res.status, 201, `${o.kind}/${o.metadata.name}: ${res.status} ${JSON.stringify(res.body['message'] ?? res.body)}`);
        checked.push(o.kind);
      }
      assert.ok(checked.includes('DaemonSet'), checked.join(','));
      // The agent pod itself, as the DaemonSet controller would create it.
      if (file === 'privileged-values.yaml') return;
      const res = await dryRunCreate(api!.url, api!.token, agentPod(objects, NS), NS);
      assert.equal(res.status, 201, JSON.stringify(res.body['message'] ?? res.body));
    });
  }

  it('Pod Security: the agent pod is rejected at `baseline` (hostPID, added capabilities) and admitted at `privileged`', async () => {
    const { objects } = await render({ namespace: NS });
    const denied = await dryRunCreate(api!.url, api!.token, agentPod(objects, 'psa-baseline'), 'psa-baseline');
    assert.equal(denied.status, 403, JSON.stringify(denied.body));
    const message = String(denied.body['message']);
    assert.match(message, /hostPID/);
    assert.match(message, /capabilities/);
    const admitted = await dryRunCreate(api!.url, api!.token, agentPod(objects, NS), NS);
    assert.equal(admitted.status, 201);
  });

  it('Pod Security: the `helm test` pod passes `restricted`', async () => {
    const { objects } = await render({ namespace: 'psa-restricted' });
    const testPod = one(objects, 'Pod');
    const res = await dryRunCreate(api!.url, api!.token, testPod, 'psa-restricted');
    assert.equal(res.status, 201, JSON.stringify(res.body['message'] ?? res.body));
    assert.deepEqual(res.warnings, []);
  });

  it('a typo in the pod spec is refused by strict field validation (the check can fail)', async () => {
    const { objects } = await render({ namespace: NS, set: ['extraSecurityContext.readOnlyRootFilesytem=true'] });
    const res = await dryRunCreate(api!.url, api!.token, one(objects, 'DaemonSet'), NS);
    assert.notEqual(res.status, 201);
    assert.match(JSON.stringify(res.body), /readOnlyRootFilesytem/);
  });

  it('helm install with no values creates every object in the API server, prints the NOTES, and helm uninstall removes them', async () => {
    const dir = mkdtempSync('/tmp/kdrop-kubeconfig-');
    const kubeconfig = `${dir}/config`;
    writeFileSync(kubeconfig, api!.kubeconfig(), { mode: 0o600 });
    try {
      const install = await runHelm(['install', 'kdrop', chartDir, '--namespace', NS, '--kubeconfig', kubeconfig]);
      assert.equal(install.code, 0, install.stderr);
      assert.match(install.stdout, /STATUS: deployed/);
      assert.match(install.stdout, /runs on every Linux node as the DaemonSet kdrop-system\/kdrop/);
      assert.match(install.stdout, /not privileged; capabilities: drop ALL, add BPF, PERFMON, SYSLOG, SYS_PTRACE/);
      const ds = await apiRequest(`${api!.url}/apis/apps/v1/namespaces/${NS}/daemonsets/kdrop`, api!.token, 'GET');
      assert.equal(ds.status, 200);
      assert.deepEqual(path(ds.body, 'spec.template.spec.containers.0.securityContext.capabilities.add'), ['BPF', 'PERFMON', 'SYSLOG', 'SYS_PTRACE']);
      const role = await apiRequest(`${api!.url}/apis/rbac.authorization.k8s.io/v1/clusterroles/kdrop`, api!.token, 'GET');
      assert.deepEqual(role.body['rules'], [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
      const uninstall = await runHelm(['uninstall', 'kdrop', '--namespace', NS, '--kubeconfig', kubeconfig, '--wait']);
      assert.equal(uninstall.code, 0, uninstall.stderr);
      const gone = await apiRequest(`${api!.url}/apis/rbac.authorization.k8s.io/v1/clusterroles/kdrop`, api!.token, 'GET');
      assert.equal(gone.status, 404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
