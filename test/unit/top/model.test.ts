import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopModel, groupOf } from '../../../src/top/model.js';
import type { RowQuery } from '../../../src/top/types.js';
import { recordedIntervals, T0 } from './recorded.js';

function model(historyLength = 5): TopModel {
  const m = new TopModel({ historyLength });
  for (const i of recordedIntervals()) m.ingest(i);
  return m;
}
const q = (over: Partial<RowQuery> = {}): RowQuery => ({ groupBy: 'pod', sortBy: 'rate', filter: '', ...over });
const summary = (m: TopModel, over: Partial<RowQuery> = {}) => m.rows(q(over)).map((r) => [r.key, r.rate, r.total]);

test('group by pod: totals since start, rate of the last interval, sorted by rate', () => {
  assert.deepEqual(summary(model()), [
    ['storage/postgres-1', 30, 66],
    ['default/web-0', 10, 170],
    ['(host)', 0.5, 5],
    ['(netns 4026532999)', 0, 2],
  ]);
});

test('sort by total', () => {
  assert.deepEqual(
    model().rows(q({ sortBy: 'total' })).map((r) => r.key),
    ['default/web-0', 'storage/postgres-1', '(host)', '(netns 4026532999)'],
  );
});

test('group by namespace, reason, function and netns', () => {
  const m = model();
  assert.deepEqual(summary(m, { groupBy: 'namespace' }), [
    ['storage', 30, 66],
    ['default', 10, 170],
    ['(host)', 0.5, 5],
    ['(no pod)', 0, 2],
  ]);
  assert.deepEqual(summary(m, { groupBy: 'reason' }), [
    ['SOCKET_RCVBUFF', 30, 66],
    ['NO_SOCKET', 10.5, 167],
    ['NETFILTER_DROP', 0, 10],
  ]);
  assert.deepEqual(summary(m, { groupBy: 'function' }), [
    ['__udp_enqueue_schedule_skb', 30, 66],
    ['__udp4_lib_rcv', 10, 162],
    ['tcp_v4_rcv', 0.5, 5],
    ['nft_do_chain', 0, 10],
  ]);
  const netns = m.rows(q({ groupBy: 'netns' }));
  assert.deepEqual(
    netns.map((r) => [r.key, r.detail, r.total]),
    [
      ['4026532415', 'pod storage/postgres-1', 66],
      ['4026532301', 'pod default/web-0', 170],
      ['4026531833', 'host', 5],
      ['4026532999', 'no pod', 2],
    ],
  );
});

test('history: drops per interval, oldest first, zero-padded; the sum of the history is the total here', () => {
  const web = model().rows(q()).find((r) => r.key === 'default/web-0')!;
  assert.deepEqual(web.history, [0, 0, 40, 110, 20]);
  const long = model(2).rows(q()).find((r) => r.key === 'default/web-0')!;
  assert.deepEqual(long.history, [110, 20], 'only the last historyLength intervals');
  assert.equal(long.total, 170, 'totals do not depend on the history length');
});

test('filter: case-insensitive substring of the key or the owner', () => {
  const m = model();
  assert.deepEqual(m.rows(q({ filter: 'WEB' })).map((r) => r.key), ['default/web-0']);
  assert.deepEqual(m.rows(q({ filter: 'postgres', groupBy: 'netns' })).map((r) => r.key), ['4026532415']);
  assert.deepEqual(m.rows(q({ filter: 'nothing-like-this' })), []);
});

test('the latest example of a group is shown; rows without samples have none', () => {
  const rows = model().rows(q());
  assert.equal(rows.find((r) => r.key === 'storage/postgres-1')?.example, 'udp 10.0.0.7:5353 -> 10.0.0.9:5432 len 512');
  assert.equal(rows.find((r) => r.key === 'default/web-0')?.example, null);
});

test('breakdown: reasons x functions of one group, examples and stack', () => {
  const m = model();
  const web = m.breakdown('pod', 'default/web-0');
  assert.deepEqual(
    web.cells.map((c) => [c.reason, c.function, c.rate, c.total]),
    [
      ['NO_SOCKET', '__udp4_lib_rcv', 10, 160],
      ['NETFILTER_DROP', 'nft_do_chain', 0, 10],
    ],
  );
  assert.deepEqual(web.examples, []);
  assert.equal(web.stack, null);
  const db = m.breakdown('netns', '4026532415');
  assert.deepEqual(db.examples, ['udp 10.0.0.7:5353 -> 10.0.0.9:5432 len 512']);
  assert.deepEqual(db.stack, ['__udp_enqueue_schedule_skb+0x1a4', 'udp_queue_rcv_one_skb+0x2c1', '__udp4_lib_rcv+0x5b0']);
  assert.deepEqual(m.breakdown('pod', 'gone/pod').cells, []);
});

test('status, interval count and time come from the latest interval', () => {
  const m = model();
  assert.equal(m.intervalCount(), 3);
  assert.equal(m.lastUpdateMs(), T0 + 6000);
  assert.deepEqual(m.status(), { source: 'bpftrace', lostEvents: 3, unattributed: 2, error: null });
});

test('totals from the source (agent) replace the sum of deltas; rates still come from the deltas', () => {
  const m = new TopModel({ historyLength: 3 });
  const s = { reason: 'NO_SOCKET', function: 'f', scope: 'pod' as const, namespace: 'a', pod: 'b', netns: null };
  const status = { source: 'agent', lostEvents: 0, unattributed: 0, error: null };
  m.ingest({ endMs: 1, intervalS: 5, status, samples: [{ ...s, delta: 10, total: 1000 }] });
  m.ingest({ endMs: 2, intervalS: 5, status, samples: [{ ...s, delta: 25, total: 1025 }] });
  const [row] = m.rows(q());
  assert.equal(row?.total, 1025);
  assert.equal(row?.rate, 5);
  assert.deepEqual(row?.history, [0, 10, 25]);
});

test('a series seen twice in one interval adds up; negative deltas count as 0; old series are trimmed at the limit', () => {
  const m = new TopModel({ historyLength: 2, maxSeries: 2 });
  const status = { source: 'x', lostEvents: 0, unattributed: 0, error: null };
  const s = (pod: string, delta: number) => ({ reason: 'R', function: 'f', scope: 'pod' as const, namespace: 'n', pod, netns: null, delta });
  m.ingest({ endMs: 1, intervalS: 1, status, samples: [s('a', 1), s('a', 2), s('b', -4)] });
  assert.deepEqual(summary(m), [['n/a', 3, 3], ['n/b', 0, 0]]);
  m.ingest({ endMs: 2, intervalS: 1, status, samples: [s('c', 7)] });
  assert.deepEqual(summary(m).map((r) => r[0]), ['n/c', 'n/a'], 'the least recently active series (b) is forgotten');
});

test('groupOf: a pod series without names (agent without pod labels) falls back to unknown', () => {
  assert.deepEqual(groupOf({ reason: null, function: null, scope: null, namespace: null, pod: null, netns: null }, 'pod'), { key: '(unknown)', detail: null });
  assert.deepEqual(groupOf({ reason: null, function: null, scope: null, namespace: null, pod: null, netns: null }, 'reason'), { key: '(no reason)', detail: null });
  assert.deepEqual(groupOf({ reason: null, function: null, scope: 'netns', namespace: null, pod: null, netns: null }, 'netns'), { key: '(unknown)', detail: 'no pod' });
});
