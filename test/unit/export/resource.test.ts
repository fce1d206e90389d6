import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kdropResource, kdropVersion, resourceAttributesFromEnv } from '../../../src/export/resource.js';

test('OTEL_RESOURCE_ATTRIBUTES parsing: percent-decoding, malformed pairs skipped, OTEL_SERVICE_NAME', () => {
  assert.deepEqual(resourceAttributesFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'a=1, b = x%20y ,bad,=v,c=%E0%A4%A', OTEL_SERVICE_NAME: 'drops' }), {
    a: '1',
    b: 'x y',
    'service.name': 'drops',
  });
  assert.deepEqual(resourceAttributesFromEnv({}), {});
});

test('kdrop resource: service.name, service.version, host.name, k8s.node.name from NODE_NAME', () => {
  const r = kdropResource({ version: '1.2.3', nodeName: 'n1', hostName: 'h1', env: {} });
  assert.deepEqual(r.attributes, { 'service.name': 'kdrop', 'service.version': '1.2.3', 'host.name': 'h1', 'k8s.node.name': 'n1' });
  const noNode = kdropResource({ version: '1.2.3', nodeName: undefined, hostName: 'h1', env: { OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=c1' } });
  assert.equal(noNode.attributes['k8s.node.name'], undefined);
  assert.equal(noNode.attributes['k8s.cluster.name'], 'c1');
});

test('kdropVersion reads package.json', () => {
  assert.match(kdropVersion(), /^\d+\.\d+\.\d+/);
  assert.notEqual(kdropVersion(), '0.0.0');
});
