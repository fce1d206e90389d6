import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CounterEntry } from '../../../src/enrich/counter-collector.js';
import { counterLines, formatCounterLine, toCounterRecord } from '../../../src/export/counter-format.js';
import { CounterMetricsProducer } from '../../../src/export/counter-metrics-producer.js';
import { CounterSeries } from '../../../src/aggregate/counter-series.js';
import { DEFAULT_LABELS, Attr } from '../../../src/vocabulary/attributes.js';
import { keepCounter } from '../../../src/aggregate/counter-filter.js';
import type { IntervalReport } from '../../../src/vocabulary/interval-report.js';

const pod = Object.freeze({ scope: 'pod' as const, namespace: 'shop', pod: 'web-0', podUid: 'uid-1' });
const host = Object.freeze({ scope: 'host' as const, namespace: null, pod: null, podUid: null });
const e = (over: Partial<CounterEntry>): CounterEntry => ({ file: 'netstat', counter: 'ListenOverflows', iface: null, direction: null, netns: 4026532177, owner: pod, count: 12, ...over });
const report = { end: new Date('2026-01-01T00:00:05Z'), intervalS: 5 } as IntervalReport;

test('watch lines in the seed style', () => {
  assert.equal(formatCounterLine(e({})), '12 SYNs dropped: listen queue full (ListenOverflows) [pod shop/web-0]');
  assert.equal(formatCounterLine(e({ count: 1 })), '1 SYN dropped: listen queue full (ListenOverflows) [pod shop/web-0]');
  assert.equal(formatCounterLine(e({ file: 'nic', counter: 'rx_missed_errors', iface: 'ens3', direction: 'receive', netns: null, owner: host, count: 7 })), '7 packets missed by NIC ens3: receive ring full (rx_missed_errors) [host]');
  assert.equal(formatCounterLine(e({ file: 'conntrack', counter: 'insert_failed', owner: host, netns: 1, count: 2 })), '2 packets dropped: conntrack insert failed (conntrack insert_failed) [host]');
  // ListenDrops equal to ListenOverflows says nothing more in text; a larger one is shown.
  assert.equal(counterLines([e({}), e({ counter: 'ListenDrops' })]).split('\n').length, 2);
  assert.equal(counterLines([e({}), e({ counter: 'ListenDrops', count: 13 })]).split('\n').length, 3);
});

test('--json counter records are of their own kind and name their metric', () => {
  assert.deepEqual(toCounterRecord(report, e({ file: 'dev', counter: 'tx_dropped', iface: 'eth0', direction: 'transmit', count: 3 })), {
    record: 'counter', time: '2026-01-01T00:00:05.000Z', interval_s: 5, counter: 'tx_dropped', source: 'dev', metric: 'system.network.packet.dropped',
    count: 3, interface: 'eth0', direction: 'transmit', netns: 4026532177, scope: 'pod', namespace: 'shop', pod: 'web-0', pod_uid: 'uid-1',
  });
});

test('watch filters: --pod applies; --reason NETFILTER_DROP keeps conntrack only; --function hides counters', () => {
  const base = { reasons: [], excludeReasons: [], functions: [], netns: [], all: false };
  assert.equal(keepCounter({ ...base, owner: (o) => o.pod === 'web-0' }, e({})), true);
  assert.equal(keepCounter({ ...base, owner: (o) => o.pod === 'other' }, e({})), false);
  assert.equal(keepCounter({ ...base, reasons: ['netfilter_drop'] }, e({})), false);
  assert.equal(keepCounter({ ...base, reasons: ['NETFILTER_DROP'] }, e({ file: 'conntrack', counter: 'drop' })), true);
  assert.equal(keepCounter({ ...base, functions: ['tcp_v4_rcv'] }, e({})), false);
});

test('counter series: owner attributes as --labels selects, interface and direction; exported under their metric names', async () => {
  const s = new CounterSeries({}, DEFAULT_LABELS);
  s.add([e({}), e({}), e({ file: 'dev', counter: 'rx_dropped', iface: 'eth0', direction: 'receive', count: 4 }), e({ file: 'nic', counter: 'rx_fifo_errors', iface: 'ens3', direction: 'receive', netns: null, owner: host, count: 1 })]);
  const snap = s.snapshot();
  assert.deepEqual(snap.get('netstat.ListenOverflows')?.map((p) => [p.attributes, p.drops]), [[{ [Attr.scope]: 'pod', [Attr.namespace]: 'shop', [Attr.pod]: 'web-0' }, 24]]);
  assert.deepEqual(snap.get('dev')?.[0]?.attributes, { [Attr.scope]: 'pod', [Attr.namespace]: 'shop', [Attr.pod]: 'web-0', 'network.interface.name': 'eth0', 'network.io.direction': 'receive' });
  assert.deepEqual(snap.get('nic')?.[0]?.attributes, { [Attr.scope]: 'host', 'network.interface.name': 'ens3', 'network.io.direction': 'receive', 'kdrop.counter': 'rx_fifo_errors' });
  // The pod's series expire with the pod.
  assert.equal(s.expirePod('uid-1'), 2);
  const res = await new CounterMetricsProducer(() => snap, '0.0.0', () => 5000).collect();
  const names = res.resourceMetrics.scopeMetrics[0]?.metrics.map((m) => m.descriptor.name).sort();
  assert.deepEqual(names, ['kdrop.nic.drops', 'kdrop.tcp.listen.overflows', 'system.network.packet.dropped']);
});

test('queue stats hardware drops: a watch line, the NIC metric with kdrop.counter, and back to their source in the agent API', async () => {
  const { counterOfSeries } = await import('../../../src/aggregate/counter-series.js');
  const hw = e({ file: 'qstats', counter: 'rx-hw-drop-overruns', iface: 'ens5', direction: 'receive', netns: null, owner: host, count: 3 });
  assert.equal(formatCounterLine(hw), '3 packets dropped by NIC ens5: no receive buffer (rx-hw-drop-overruns) [host]');
  assert.equal(toCounterRecord(report, hw).metric, 'kdrop.nic.drops');
  assert.equal(toCounterRecord(report, hw).source, 'qstats');
  const s = new CounterSeries({}, DEFAULT_LABELS);
  s.add([hw, e({ file: 'nic', counter: 'rx_missed_errors', iface: 'ens5', direction: 'receive', netns: null, owner: host, count: 1 })]);
  const points = s.snapshot().get('nic') ?? [];
  assert.deepEqual(points.map((p) => [p.attributes['kdrop.counter'], p.drops]), [['rx-hw-drop-overruns', 3], ['rx_missed_errors', 1]]);
  assert.deepEqual(points.map((p) => counterOfSeries('nic', p.attributes)), [{ source: 'qstats', counter: 'rx-hw-drop-overruns' }, { source: 'nic', counter: 'rx_missed_errors' }]);
});
