/**
 * `kdrop top --agent`: in every grouping the totals equal the sums of the agent's series (what /metrics
 * exports), including series that differ only in labels top does not key on; a paused top holds a
 * bounded number of intervals and loses no count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromDropsApi } from '../../../src/top/agent-feed.js';
import { TopModel } from '../../../src/top/model.js';
import { TopController } from '../../../src/top/controller.js';
import { GROUP_BYS, type GroupBy, type TopInterval } from '../../../src/top/types.js';
import type { DropsApiDocument } from '../../../src/agent/drops-api.js';

type Labels = Record<string, string>;
const pod = (ns: string, name: string, extra: Labels): Labels => ({ 'kdrop.scope': 'pod', 'k8s.namespace.name': ns, 'k8s.pod.name': name, ...extra });
const SERIES: Array<[Labels, number, number]> = [
  // one pod, one reason and function, over IPv4 and IPv6
  [pod('default', 'web-0', { 'kdrop.reason': 'NETFILTER_DROP', 'kdrop.function': 'nft_do_chain', 'network.type': 'ipv4' }), 10, 2],
  [pod('default', 'web-0', { 'kdrop.reason': 'NETFILTER_DROP', 'kdrop.function': 'nft_do_chain', 'network.type': 'ipv6' }), 7, 1],
  // two locations in one function
  [pod('default', 'web-0', { 'kdrop.reason': 'NO_SOCKET', 'kdrop.function': '__udp4_lib_rcv', 'network.type': 'ipv4', 'kdrop.location': '__udp4_lib_rcv+0x1' }), 5, 5],
  [pod('default', 'web-0', { 'kdrop.reason': 'NO_SOCKET', 'kdrop.function': '__udp4_lib_rcv', 'network.type': 'ipv4', 'kdrop.location': '__udp4_lib_rcv+0x2' }), 3, 0],
  // a pod deleted and made again under the same name
  [pod('shop', 'db-0', { 'kdrop.reason': 'NO_SOCKET', 'kdrop.function': 'tcp_v4_rcv', 'network.type': 'ipv4', 'k8s.pod.uid': 'u1' }), 4, 0],
  [pod('shop', 'db-0', { 'kdrop.reason': 'NO_SOCKET', 'kdrop.function': 'tcp_v4_rcv', 'network.type': 'ipv4', 'k8s.pod.uid': 'u2' }), 6, 6],
  [{ 'kdrop.scope': 'host', 'kdrop.reason': 'NO_SOCKET', 'kdrop.function': 'tcp_v4_rcv', 'network.type': 'ipv6' }, 9, 3],
];

function doc(intervals: number, scale = 1): DropsApiDocument {
  return {
    api_version: 'kdrop.dev/v1',
    node: 'n1',
    source: 'bpf',
    interval_s: 5,
    intervals,
    interval_end: new Date(1_700_000_000_000 + intervals * 5000).toISOString(),
    last_interval_s: 5,
    lost_events: 0,
    tracer_restarts: 0,
    unattributed_drops: 0,
    labels: ['kdrop.reason', 'kdrop.function', 'network.type', 'kdrop.scope', 'k8s.namespace.name', 'k8s.pod.name'],
    series: SERIES.map(([attributes, drops, delta]) => ({ attributes, drops: drops * scale, bytes: null, interval_drops: delta, interval_bytes: null, start_time: new Date(0).toISOString() })),
  };
}

/** The group of a series under `by`, straight from its attributes (as one would sum /metrics). */
function expectedGroup(a: Labels, by: GroupBy): string {
  const podName = a['kdrop.scope'] === 'pod' ? `${a['k8s.namespace.name']}/${a['k8s.pod.name']}` : '(host)';
  if (by === 'pod') return podName;
  if (by === 'namespace') return a['kdrop.scope'] === 'pod' ? a['k8s.namespace.name']! : '(host)';
  if (by === 'reason') return a['kdrop.reason']!;
  if (by === 'function') return a['kdrop.function']!;
  if (by === 'node') return '(this host)'; // one agent (top --agent): its series carry no node; kubectl kdrop top sets it
  return '(unknown)'; // netns: not among these labels
}

function expectedTotals(by: GroupBy, scale: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [a, drops] of SERIES) out[expectedGroup(a, by)] = (out[expectedGroup(a, by)] ?? 0) + drops * scale;
  return out;
}

const totals = (m: TopModel, by: GroupBy): Record<string, number> => Object.fromEntries(m.rows({ groupBy: by, sortBy: 'total', filter: '' }).map((r) => [r.key, r.total]));

test('top --agent: every grouping totals the sums of the agent series, none overwriting another', () => {
  const m = new TopModel();
  m.ingest(fromDropsApi(doc(1), 'agent'));
  m.ingest(fromDropsApi(doc(2, 2), 'agent')); // the totals grew: the latest ones count, not a sum of both
  for (const by of GROUP_BYS) assert.deepEqual(totals(m, by), expectedTotals(by, 2), `--group-by ${by}`);
});

test('a paused top holds a bounded number of intervals; on resume nothing is lost', () => {
  const local = (i: number): TopInterval => ({
    endMs: i * 1000,
    intervalS: 1,
    samples: [
      { reason: 'NO_SOCKET', function: 'f', scope: 'host', namespace: null, pod: null, netns: 1, delta: i % 7 },
      { reason: 'NO_SOCKET', function: 'g', scope: 'host', namespace: null, pod: null, netns: 1, delta: 1 },
    ],
    status: { source: 'bpf', lostEvents: 0, unattributed: 0, error: null },
  });
  const paused = new TopController({ maxHeld: 10 });
  const live = new TopController();
  paused.setPaused(true);
  let agentDoc = 0;
  for (let i = 1; i <= 5000; i++) {
    paused.push(local(i));
    live.push(local(i));
    assert.ok(paused.heldCount <= 10, `held ${paused.heldCount} after ${i} intervals`);
  }
  for (let i = 1; i <= 50; i++) {
    agentDoc = i;
    paused.push(fromDropsApi(doc(i, i), 'agent'));
    live.push(fromDropsApi(doc(i, i), 'agent'));
  }
  paused.setPaused(false);
  assert.equal(paused.heldCount, 0);
  for (const by of GROUP_BYS) assert.deepEqual(totals(paused.model, by), totals(live.model, by), `--group-by ${by}`);
  assert.equal(totals(paused.model, 'reason')['NETFILTER_DROP'], 17 * agentDoc);
});
