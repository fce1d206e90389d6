import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { podInfo } from '../../../src/enrich/pod-cache.js';

const ID1 = 'a'.repeat(64);
const ID2 = 'b'.repeat(64);

test('podInfo reads uid, name, namespace, hostNetwork and container IDs', () => {
  const info = podInfo({
    metadata: { uid: '8DC2D2F4-3F5E-4C3B-9A1D-6E7F8A9B0C1D', name: 'web-0', namespace: 'default' },
    spec: { hostNetwork: false },
    status: {
      initContainerStatuses: [{ containerID: `containerd://${ID2}` }],
      containerStatuses: [{ containerID: `containerd://${ID1}` }, {}],
    },
  });
  assert.deepEqual(info, {
    uid: '8dc2d2f4-3f5e-4c3b-9a1d-6e7f8a9b0c1d',
    namespace: 'default',
    name: 'web-0',
    hostNetwork: false,
    runtimeUid: null,
  });
});

test('podInfo: mirror pod carries its runtime UID, hostNetwork true', () => {
  const info = podInfo({
    metadata: {
      uid: '3f1e9a52-0000-4000-8000-000000000001',
      name: 'etcd-n1',
      namespace: 'kube-system',
      annotations: { 'kubernetes.io/config.mirror': '6b4f2d5d0c2f5a9d2a7d0d1c1e3b3c4a' },
    },
    spec: { hostNetwork: true },
  });
  assert.equal(info.runtimeUid, '6b4f2d5d0c2f5a9d2a7d0d1c1e3b3c4a');
  assert.equal(info.hostNetwork, true);
});

for (const [name, obj] of [
  ['no metadata', {}],
  ['no uid', { metadata: { name: 'a', namespace: 'b' } }],
  ['no namespace', { metadata: { uid: 'u', name: 'a' } }],
] as const) {
  test(`podInfo rejects a Pod with ${name} (ENRICH_PARSE)`, () => {
    assert.throws(() => podInfo(obj), (e: unknown) => isKdropError(e, ErrorCodes.ENRICH_PARSE));
  });
}
