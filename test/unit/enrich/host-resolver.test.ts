import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostNetnsResolver } from '../../../src/enrich/host-resolver.js';
import { createResolver } from '../../../src/enrich/create-resolver.js';
import { FIXTURE_PROC, HOST_NS, NS_A } from './fixture.js';

test('HostNetnsResolver: root netns host, others netns, null unattributed', async () => {
  const r = await HostNetnsResolver.create({ proc: FIXTURE_PROC, sys: '/sys', tracefs: null });
  assert.deepEqual(r.resolve(HOST_NS), { scope: 'host', namespace: null, pod: null, podUid: null });
  assert.deepEqual(r.resolve(NS_A), { scope: 'netns', namespace: null, pod: null, podUid: null });
  assert.equal(r.unattributed(), 0);
  r.resolve(null);
  assert.equal(r.unattributed(), 1);
});

test('HostNetnsResolver without a readable root netns: everything is netns', async () => {
  const r = await HostNetnsResolver.create({ proc: '/nonexistent/proc', sys: '/sys', tracefs: null });
  assert.equal(r.resolve(HOST_NS).scope, 'netns');
});

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
