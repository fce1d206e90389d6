/**
 * PodCache against servers speaking the list/watch protocol: the fake (always; over HTTPS with the pod's ServiceAccount,
 * as the agent runs in a cluster) and a real kube-apiserver (when built; through a kubeconfig file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inClusterEndpoint, kubeconfigEndpoint } from '../../src/enrich/kube-endpoint.js';
import { PodCache, type PodInfo } from '../../src/enrich/pod-cache.js';
import { selfSigned, ServiceAccountRoot, writeKubeconfig } from '../helpers/kube.js';
import { waitFor } from '../helpers/netns.js';
import { FakeApiServer } from './pods-fake-apiserver.js';
import { realApiServerSkipReason, startRealApiServer } from './pods-kube-apiserver.js';

const NODE = 'node-a';
const podBody = (name: string, node = NODE) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
});

test('PodCache: list, watch adds/updates/deletes, only this node, 410 Gone re-list, reconnect after an outage with a rotated token', { timeout: 120_000 }, async () => {
  const tls = selfSigned();
  const api = new FakeApiServer({ tls, token: 'sa-token-1' });
  await api.start();
  const sa = new ServiceAccountRoot(tls.cert, 'sa-token-1');
  let clock = Date.now();
  const endpoint = inClusterEndpoint({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(api.url).port }, root: sa.root, now: () => clock });
  const cache = new PodCache({ endpoint, nodeName: NODE, minBackoffMs: 100, maxBackoffMs: 500 });
  const added: PodInfo[] = [];
  const deleted: PodInfo[] = [];
  cache.onAdd((p) => added.push(p));
  cache.onDelete((p) => deleted.push(p));
  try {
    const p1 = api.createPod('default', podBody('p1'));
    const p2 = api.createPod('shop', podBody('p2'));
    api.createPod('default', podBody('elsewhere', 'node-b'));
    cache.start();
    assert.equal(await cache.waitForSync(30_000), true);
    assert.deepEqual(cache.pods().map((p) => `${p.namespace}/${p.name}`).sort(), ['default/p1', 'shop/p2']);
    assert.equal(cache.get(p1.metadata.uid)?.name, 'p1');

    // Live watch: a new pod, a deletion.
    const p3 = api.createPod('default', podBody('p3'));
    assert.ok(await waitFor(() => cache.get(p3.metadata.uid) !== undefined, 30_000), 'p3 added through the watch');
    api.deletePod('default', 'p1');
    assert.ok(await waitFor(() => deleted.some((d) => d.uid === p1.metadata.uid), 30_000), 'deletion seen');
    assert.equal(cache.get(p1.metadata.uid), undefined);

    assert.ok(api.requests.every((r) => r.authorization === 'Bearer sa-token-1'), "the ServiceAccount's token on every request");
    assert.equal(cache.lists, 1);

    // Outage: while the server is down, p2 goes away and p4 comes, and the history is compacted; kubelet rotates
    // the token, and the server takes only the new one from now on.
    await api.stop();
    sa.setToken('sa-token-2');
    api.setToken('sa-token-2');
    clock += 61_000;
    api.deletePod('shop', 'p2');
    const p4 = api.createPod('default', podBody('p4'));
    api.compact();
    const listsBefore = api.requests.filter((r) => r.kind === 'list').length;
    await api.start();
    assert.ok(await waitFor(() => cache.get(p4.metadata.uid) !== undefined, 60_000), 'p4 seen after reconnect');
    assert.ok(await waitFor(() => deleted.some((d) => d.uid === p2.metadata.uid), 30_000), 'p2 reported deleted by the re-list');
    assert.equal(cache.get(p2.metadata.uid), undefined);
    // It went through 410: a watch from an expired resourceVersion, then a fresh list.
    const after = api.requests.slice();
    assert.ok(after.filter((r) => r.kind === 'list').length > listsBefore, 're-listed');
    assert.ok(after.some((r) => r.kind === 'watch' && r.resourceVersion !== null && Number(r.resourceVersion) < Number(p4.metadata.resourceVersion)), 'watched from an expired resourceVersion');
    assert.deepEqual(cache.pods().map((p) => p.name).sort(), ['p3', 'p4']);
    assert.ok(added.some((a) => a.uid === p4.metadata.uid));
    assert.ok(cache.lists >= 2);
    assert.equal(api.requests.at(-1)?.authorization, 'Bearer sa-token-2', 'the rotated token read again from its file');
  } finally {
    await cache.close();
    await api.stop();
    sa.remove();
  }
});

test('PodCache: waitForSync gives false when the API is unreachable', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-kc-'));
  // Port 9 (discard) on loopback: nothing listens there.
  const cache = new PodCache({ endpoint: await kubeconfigEndpoint(writeKubeconfig(dir, 'http://127.0.0.1:9', 't')), nodeName: NODE, minBackoffMs: 100 });
  try {
    cache.start();
    assert.equal(await cache.waitForSync(1500), false);
    assert.match(String(cache.error()), /ECONNREFUSED/);
  } finally {
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('PodCache against a real kube-apiserver: list, watch, reconnect and re-sync after an apiserver restart', { skip: realApiServerSkipReason() ?? false, timeout: 300_000 }, async (t) => {
  const api = await startRealApiServer();
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  const core = kc.makeApiClient(CoreV1Api);
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-kc-'));
  await writeFile(join(dir, 'kubeconfig'), api.kubeconfig(), { mode: 0o600 });
  const cache = new PodCache({ endpoint: await kubeconfigEndpoint(join(dir, 'kubeconfig')), nodeName: NODE, minBackoffMs: 200, maxBackoffMs: 2000 });
  const deleted: string[] = [];
  cache.onDelete((p) => deleted.push(p.uid));
  try {
    t.diagnostic(`kube-apiserver ${api.version}`);
    const p1 = await core.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    await core.createNamespacedPod({ namespace: 'default', body: podBody('other-node', 'node-b') });
    cache.start();
    assert.equal(await cache.waitForSync(60_000), true);
    assert.deepEqual(cache.pods().map((p) => p.name), ['p1']);
    assert.equal(cache.get(p1.metadata?.uid ?? '')?.namespace, 'default');

    const p2 = await core.createNamespacedPod({ namespace: 'default', body: podBody('p2') });
    assert.ok(await waitFor(() => cache.get(p2.metadata?.uid ?? '') !== undefined, 30_000), 'p2 added through the watch');

    // kube-apiserver goes away for a while (etcd keeps the data) and comes back on the same address.
    await api.restart(1500);
    const p3 = await core.createNamespacedPod({ namespace: 'default', body: podBody('p3') });
    await core.deleteNamespacedPod({ namespace: 'default', name: 'p1', gracePeriodSeconds: 0 });
    assert.ok(await waitFor(() => cache.get(p3.metadata?.uid ?? '') !== undefined, 90_000), 'p3 seen after the restart');
    assert.ok(await waitFor(() => deleted.includes(p1.metadata?.uid ?? ''), 60_000), 'p1 deletion seen after the restart');
    assert.deepEqual(cache.pods().map((p) => p.name).sort(), ['p2', 'p3']);
  } finally {
    await cache.close();
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
