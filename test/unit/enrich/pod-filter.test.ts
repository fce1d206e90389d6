import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { parsePodRef, podFilter } from '../../../src/enrich/pod-filter.js';

test('podFilter keeps only the named pod', () => {
  const keep = podFilter('default/web-0');
  assert.equal(keep({ scope: 'pod', namespace: 'default', pod: 'web-0', podUid: 'u' }), true);
  assert.equal(keep({ scope: 'pod', namespace: 'other', pod: 'web-0', podUid: 'u' }), false);
  assert.equal(keep({ scope: 'pod', namespace: 'default', pod: 'web-1', podUid: 'u' }), false);
  assert.equal(keep({ scope: 'host', namespace: null, pod: null, podUid: null }), false);
  assert.equal(keep({ scope: 'netns', namespace: null, pod: null, podUid: null }), false);
});

test('parsePodRef accepts NAMESPACE/NAME with dotted names', () => {
  assert.deepEqual(parsePodRef('kube-system/etcd-node1.example'), { namespace: 'kube-system', name: 'etcd-node1.example' });
});

for (const bad of ['web-0', 'a/b/c', '/web', 'default/', 'Default/web', 'ns/Web', '']) {
  test(`parsePodRef rejects ${JSON.stringify(bad)} with CONFIG`, () => {
    assert.throws(() => parsePodRef(bad), (e: unknown) => isKdropError(e, ErrorCodes.CONFIG));
  });
}
