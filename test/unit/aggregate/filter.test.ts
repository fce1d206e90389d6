import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFilter, normalizeReason, type EntryFilterSpec } from '../../../src/aggregate/filter.js';
import type { DropEntry } from '../../../src/enrich/types.js';

const base: EntryFilterSpec = { reasons: [], excludeReasons: [], functions: [], netns: [], all: false };
function entry(reason: string | null, fn: string | null, netns: number | null, pod?: string): DropEntry {
  return {
    address: 1n, function: fn, offset: 0, module: null, location: fn ?? '0x1', reasonCode: reason === null ? null : 1, reason,
    protocol: 2048, networkType: 'ipv4', netns, count: 1, bytes: 1,
    owner: pod ? { scope: 'pod', namespace: 'default', pod, podUid: 'u' } : { scope: 'netns', namespace: null, pod: null, podUid: null },
  };
}

test('routine reasons are hidden by default and shown with --all or when asked for', () => {
  assert.equal(buildFilter(base)(entry('QUEUE_PURGE', 'f', 1)), false);
  assert.equal(buildFilter(base)(entry('SOCKET_CLOSE', 'f', 1)), false);
  assert.equal(buildFilter(base)(entry('NO_SOCKET', 'f', 1)), true);
  assert.equal(buildFilter({ ...base, all: true })(entry('QUEUE_PURGE', 'f', 1)), true);
  assert.equal(buildFilter({ ...base, reasons: ['queue_purge'] })(entry('QUEUE_PURGE', 'f', 1)), true);
});

test('--class keeps only those classes; benign stays hidden unless asked for by class, by name or --all', () => {
  const errors = buildFilter({ ...base, classes: ['error'] });
  assert.equal(errors(entry('NO_SOCKET', 'f', 1)), true);
  assert.equal(errors(entry('NETFILTER_DROP', 'f', 1)), false);
  assert.equal(errors(entry(null, 'f', 1)), false, 'an entry without reason has no class');
  const policyOrCongestion = buildFilter({ ...base, classes: ['policy', 'congestion'] });
  assert.equal(policyOrCongestion(entry('NETFILTER_DROP', 'f', 1)), true);
  assert.equal(policyOrCongestion(entry('SOCKET_RCVBUFF', 'f', 1)), true);
  assert.equal(policyOrCongestion(entry('TCP_CSUM', 'f', 1)), false);
  assert.equal(buildFilter({ ...base, classes: ['benign'] })(entry('SOCKET_CLOSE', 'f', 1)), true);
  assert.equal(buildFilter({ ...base, classes: ['benign'] })(entry('TCP_OLD_DATA', 'f', 1)), true);
  assert.equal(buildFilter(base)(entry('TCP_OLD_DATA', 'f', 1)), false, 'every benign reason is hidden by default, not just two names');
  assert.equal(buildFilter({ ...base, reasons: ['TCP_OLD_DATA'] })(entry('TCP_OLD_DATA', 'f', 1)), true);
  assert.equal(buildFilter({ ...base, classes: ['unknown'] })(entry('UNKNOWN_999', 'f', 1)), true);
  assert.equal(buildFilter(base)(entry('UNKNOWN_999', 'f', 1)), true, 'unknown is not hidden');
});

test('reason, exclude, function, netns and owner filters', () => {
  const f = buildFilter({ ...base, reasons: ['SKB_DROP_REASON_NO_SOCKET', 'NETFILTER_DROP'] });
  assert.equal(f(entry('NO_SOCKET', 'a', 1)), true);
  assert.equal(f(entry('NETFILTER_DROP', 'a', 1)), true);
  assert.equal(f(entry('TCP_CSUM', 'a', 1)), false);
  assert.equal(f(entry(null, 'a', 1)), false, 'an entry without reason does not match a reason filter');
  assert.equal(buildFilter({ ...base, excludeReasons: ['no_socket'] })(entry('NO_SOCKET', 'a', 1)), false);
  assert.equal(buildFilter({ ...base, functions: ['nf_hook_slow'] })(entry('NO_SOCKET', 'a', 1)), false);
  assert.equal(buildFilter({ ...base, functions: ['nf_hook_slow'] })(entry('NO_SOCKET', 'nf_hook_slow', 1)), true);
  assert.equal(buildFilter({ ...base, netns: [7] })(entry('NO_SOCKET', 'a', 1)), false);
  assert.equal(buildFilter({ ...base, netns: [7] })(entry('NO_SOCKET', 'a', 7)), true);
  assert.equal(buildFilter({ ...base, netns: [7] })(entry('NO_SOCKET', 'a', null)), false);
  const web = buildFilter({ ...base, owner: (o) => o.pod === 'web-0' });
  assert.equal(web(entry('NO_SOCKET', 'a', 1, 'web-0')), true);
  assert.equal(web(entry('NO_SOCKET', 'a', 1, 'db-0')), false);
  assert.equal(web(entry('NO_SOCKET', 'a', 1)), false);
});

test('entries without reason pass when no reason filter is set', () => {
  assert.equal(buildFilter(base)(entry(null, 'a', 1)), true);
});

test('normalizeReason', () => {
  assert.equal(normalizeReason(' skb_drop_reason_no_socket '), 'NO_SOCKET');
});

test('unknownReasons: names the kernel does not have, in the user\'s spelling normalized', async () => {
  const { unknownReasons } = await import('../../../src/aggregate/filter.js');
  const kernel = new Map([[3, 'NO_SOCKET'], [12, 'NETFILTER_DROP']]);
  assert.deepEqual(unknownReasons({ reasons: ['no_socket', 'NO_SOKET'], excludeReasons: ['SKB_DROP_REASON_NETFILTER_DROP', 'bogus'] }, kernel), ['NO_SOKET', 'BOGUS']);
  assert.deepEqual(unknownReasons({ reasons: ['UNKNOWN_999'], excludeReasons: [] }, kernel), [], 'UNKNOWN_<code> is what kdrop prints for unnamed codes');
  assert.deepEqual(unknownReasons({ reasons: ['UNKNOWN_OPENVSWITCH_7', 'unknown_subsys9_1', 'UNKNOWN_X'], excludeReasons: [] }, kernel), ['UNKNOWN_X']);
});
