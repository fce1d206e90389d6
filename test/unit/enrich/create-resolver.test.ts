import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostNetnsResolver } from '../../../src/enrich/host-resolver.js';
import { PodNetnsResolver } from '../../../src/enrich/pod-resolver.js';
import { createResolver } from '../../../src/enrich/create-resolver.js';
import { FIXTURE_PROC, HOST_NS, NS_A } from './fixture.js';

test('createResolver without Kubernetes configuration gives host/netns attribution', async () => {
  const r = await createResolver({ paths: { proc: FIXTURE_PROC, sys: '/sys', tracefs: null }, inCluster: false });
  assert.ok(r instanceof HostNetnsResolver);
  assert.equal(r.resolve(HOST_NS).scope, 'host');
});

test('createResolver in cluster without the service environment falls back to host/netns', async () => {
  const saved = process.env['KUBERNETES_SERVICE_HOST'];
  delete process.env['KUBERNETES_SERVICE_HOST'];
  try {
    const r = await createResolver({ paths: { proc: FIXTURE_PROC, sys: '/sys', tracefs: null }, inCluster: true, nodeName: 'n1' });
    assert.ok(r instanceof HostNetnsResolver);
  } finally {
    if (saved !== undefined) process.env['KUBERNETES_SERVICE_HOST'] = saved;
  }
});

test('createResolver with an unreadable kubeconfig falls back to host/netns', async () => {
  const r = await createResolver({
    paths: { proc: FIXTURE_PROC, sys: '/sys', tracefs: null },
    inCluster: false,
    kubeconfig: '/nonexistent/kubeconfig',
    nodeName: 'n1',
  });
  assert.ok(r instanceof HostNetnsResolver);
});

test('createResolver with an unreachable API: netns-only attribution now, pod resolver retrying behind it', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-kc-'));
  const kubeconfig = join(dir, 'kubeconfig');
  // Port 9 (discard) on loopback: nothing listens there.
  await writeFile(kubeconfig, [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: c, cluster: {server: "http://127.0.0.1:9", insecure-skip-tls-verify: true}}]',
    'users: [{name: u, user: {token: t}}]',
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
    '',
  ].join('\n'));
  const r = await createResolver({ paths: { proc: FIXTURE_PROC, sys: '/sys', tracefs: null }, inCluster: false, kubeconfig, nodeName: 'n1', syncTimeoutMs: 500 });
  try {
    assert.ok(r instanceof PodNetnsResolver);
    assert.equal(r.resolve(HOST_NS).scope, 'host');
    assert.equal(r.resolve(NS_A).scope, 'netns', 'pods unknown without the API');
  } finally {
    await r.close?.();
    await rm(dir, { recursive: true, force: true });
  }
});
