import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelPolicy, parseLabels } from '../../../src/aggregate/label-policy.js';
import { DEFAULT_LABELS } from '../../../src/vocabulary/attributes.js';
import type { DropEntry, NetnsOwner } from '../../../src/enrich/types.js';

const pod: NetnsOwner = { scope: 'pod', namespace: 'default', pod: 'web-0', podUid: 'uid-1' };
const host: NetnsOwner = { scope: 'host', namespace: null, pod: null, podUid: null };

function entry(over: Partial<DropEntry> = {}): DropEntry {
  return {
    address: 0xffffffff820490ccn,
    function: '__udp4_lib_rcv',
    offset: 0x4bc,
    module: null,
    location: '__udp4_lib_rcv+0x4bc',
    reasonCode: 3,
    reason: 'NO_SOCKET',
    protocol: 0x0800,
    networkType: 'ipv4',
    netns: 4026532000,
    owner: pod,
    count: 1,
    bytes: 100,
    ...over,
  };
}

test('default labels: reason, reason class, function, network.type, scope, namespace and pod for pods', () => {
  assert.deepEqual(labelPolicy().attributesOf(entry()), {
    'kdrop.reason': 'NO_SOCKET',
    'kdrop.reason.class': 'error',
    'kdrop.function': '__udp4_lib_rcv',
    'network.type': 'ipv4',
    'kdrop.scope': 'pod',
    'k8s.namespace.name': 'default',
    'k8s.pod.name': 'web-0',
  });
});

test('host scope has no k8s attributes; missing reason and unknown symbol are handled', () => {
  const a = labelPolicy().attributesOf(entry({ owner: host, reason: null, function: null, location: '0xffffffff820490cc' }));
  assert.deepEqual(a, { 'kdrop.function': '0xffffffff820490cc', 'network.type': 'ipv4', 'kdrop.scope': 'host' });
});

test('opt-in attributes appear only when selected', () => {
  const all = labelPolicy(parseLabels(['+kdrop.netns.inode', '+kdrop.location', '+k8s.pod.uid']).labels).attributesOf(entry());
  assert.equal(all['kdrop.netns.inode'], '4026532000');
  assert.equal(all['kdrop.location'], '__udp4_lib_rcv+0x4bc');
  assert.equal(all['k8s.pod.uid'], 'uid-1');
  assert.equal(labelPolicy().attributesOf(entry())['kdrop.netns.inode'], undefined);
});

test('parseLabels: a plain list replaces the defaults; +/- edit them; unknown names are reported', () => {
  assert.deepEqual(parseLabels(['kdrop.reason', 'kdrop.netns.inode']), { labels: ['kdrop.reason', 'kdrop.netns.inode'], unknown: [] });
  assert.deepEqual(parseLabels(['-kdrop.function', '+kdrop.netns.inode']).labels, [...DEFAULT_LABELS.filter((l) => l !== 'kdrop.function'), 'kdrop.netns.inode']);
  assert.deepEqual(parseLabels(['default', 'kdrop.location']).labels, [...DEFAULT_LABELS, 'kdrop.location']);
  assert.deepEqual(parseLabels(['kdrop.reason', 'pod', 'kdrop.bogus']).unknown, ['pod', 'kdrop.bogus']);
  assert.equal(labelPolicy(parseLabels(['-kdrop.reason.class']).labels).attributesOf(entry())['kdrop.reason.class'], undefined);
});

test('dropping labels merges series (fewer attributes)', () => {
  const p = labelPolicy(parseLabels(['kdrop.reason']).labels);
  assert.deepEqual(p.attributesOf(entry()), p.attributesOf(entry({ owner: host, function: 'nf_hook_slow' })));
});
