/** `kdrop top`: the kernel drop counters per group (a row even without drops) and in the detail view. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TopModel } from '../../../src/top/model.js';
import { screenLines } from '../../../src/top/layout.js';
import type { TopCounterSample, TopInterval } from '../../../src/top/types.js';

const status = { source: 'bpf', lostEvents: 0, unattributed: 0, error: null };
const web0: Omit<TopCounterSample, 'delta'> = { source: 'netstat', counter: 'ListenOverflows', iface: null, scope: 'pod', namespace: 'shop', pod: 'web-0', netns: 11 };
const ct: Omit<TopCounterSample, 'delta'> = { source: 'conntrack', counter: 'insert_failed', iface: null, scope: 'host', namespace: null, pod: null, netns: 1 };
const interval = (n: number, counters: TopCounterSample[]): TopInterval => ({
  endMs: n * 5000,
  intervalS: 5,
  status,
  samples: [{ reason: 'NO_SOCKET', function: 'tcp_v4_rcv', scope: 'pod', namespace: 'shop', pod: 'db-0', netns: 12, delta: 10 }],
  counters,
});

test('a pod with counters but no drops gets a row; rates and totals per group; NETFILTER_DROP shows the conntrack counters', () => {
  const m = new TopModel({ historyLength: 5 });
  m.ingest(interval(1, [{ ...web0, delta: 60 }, { ...ct, delta: 5 }]));
  m.ingest(interval(2, [{ ...web0, delta: 30 }]));
  const rows = m.rows({ groupBy: 'pod', sortBy: 'rate', filter: '' });
  const web = rows.find((r) => r.key === 'shop/web-0');
  assert.ok(web, 'a row for the pod that only has counters');
  assert.equal(web.rate, 0);
  assert.deepEqual(web.counters, [{ label: 'ListenOverflows', rate: 6, total: 90 }]);
  // The host's conntrack counter did not grow in the last interval: not on the row, still in the detail.
  assert.equal(rows.find((r) => r.key === '(host)')?.counters, undefined);
  assert.deepEqual(m.breakdown('pod', '(host)').counters, [{ label: 'insert_failed', rate: 0, total: 5 }]);
  assert.deepEqual(m.rows({ groupBy: 'reason', sortBy: 'rate', filter: '' }).map((r) => r.key).sort(), ['NETFILTER_DROP', 'NO_SOCKET']);
  assert.deepEqual(m.breakdown('reason', 'NETFILTER_DROP').counters?.map((c) => c.label), ['insert_failed']);
  assert.deepEqual(m.breakdown('function', 'tcp_v4_rcv').counters, []);

  const lines = (detail: boolean) =>
    screenLines({ width: 120, height: 20, rows, status, groupBy: 'pod', sortBy: 'rate', filter: '', filterEditing: false, selected: 0, paused: false, help: false, detail: detail ? m.breakdown('pod', 'shop/web-0') : null, intervals: 2, intervalS: 5, updated: null }).map((l) => l.text);
  assert.ok(lines(false).some((l) => l.includes('shop/web-0') && l.includes('[ListenOverflows 6/s]')), lines(false).join('\n'));
  assert.ok(lines(true).some((l) => /ListenOverflows\s+6\s+90/.test(l)), lines(true).join('\n'));
});
