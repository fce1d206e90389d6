/**
 * `kdrop watch` with the kernel drop counters: seed-style lines under the drops (a blank line before an
 * interval that has only counters), `--json` records of kind counter, and the owner filter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Pipeline } from '../../../src/pipeline.js';
import { runWatch } from '../../../src/commands/watch.js';
import type { CounterEntry } from '../../../src/enrich/counter-collector.js';
import { ReplaySource, mapResolver, sample, tableSymbolizer } from '../../helpers/fake-source.js';

const HOST = 4026531833;
const POD = 4026532177;
const pod = Object.freeze({ scope: 'pod' as const, namespace: 'shop', pod: 'web-0', podUid: 'u1' });
const host = Object.freeze({ scope: 'host' as const, namespace: null, pod: null, podUid: null });

async function run(json: boolean, owner?: (o: CounterEntry['owner']) => boolean): Promise<string> {
  const a = 0xffffffff8044b472n;
  const source = new ReplaySource([[sample(a, 3, POD, 5, 500)], [sample(a, 3, POD, 5, 500)]], [sample(a, 3, POD, 5, 500)]);
  const ticks: CounterEntry[][] = [
    [
      { file: 'netstat', counter: 'ListenOverflows', iface: null, direction: null, netns: POD, owner: pod, count: 12 },
      { file: 'netstat', counter: 'ListenDrops', iface: null, direction: null, netns: POD, owner: pod, count: 12 },
      { file: 'nic', counter: 'rx_missed_errors', iface: 'ens3', direction: 'receive', netns: null, owner: host, count: 4 },
    ],
    [{ file: 'conntrack', counter: 'insert_failed', iface: null, direction: null, netns: HOST, owner: host, count: 2 }],
    [],
  ];
  let t = Date.parse('2026-12-01T10:00:00.000Z');
  const now = () => new Date((t += 5000));
  const pipeline = new Pipeline({
    source,
    symbolizer: tableSymbolizer([[0xffffffff8044b360n, 'arp_rcv', 0x127, null]]),
    reasons: new Map([[3, 'NO_SOCKET']]),
    resolver: mapResolver(HOST, new Map([[POD, { namespace: 'shop', pod: 'web-0', uid: 'u1' }]])),
    now,
    counters: { tick: async () => ticks.shift() ?? [] },
  });
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const filter = { reasons: [], excludeReasons: [], functions: [], netns: [], all: false, ...(owner ? { owner } : {}) };
  await runWatch({ pipeline, sourceName: 'bpf', reasons: true, close: () => source.stop() }, { intervalMs: 5, json, count: 2, filter }, { out, signal: new AbortController().signal });
  return text;
}

test('text: counter lines under the drops, ListenDrops equal to ListenOverflows left out, a blank line before a counters-only interval', async () => {
  assert.equal(
    await run(false),
    [
      'Monitoring for dropped packets',
      '',
      '5 packets dropped at arp_rcv+0x112 (NO_SOCKET, error) [pod shop/web-0]',
      '12 SYNs dropped: listen queue full (ListenOverflows) [pod shop/web-0]',
      '4 packets missed by NIC ens3: receive ring full (rx_missed_errors) [host]',
      '',
      '2 packets dropped: conntrack insert failed (conntrack insert_failed) [host]',
      'Stopping dropped packet monitor',
      '',
    ].join('\n'),
  );
});

test('--json: counter records of their own kind after the drop records; --pod keeps the pod\'s only', async () => {
  const lines = (await run(true, (o) => o.pod === 'web-0')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((r) => r['record'] ?? r['reason']), ['NO_SOCKET', 'counter', 'counter']);
  assert.deepEqual(lines.slice(1).map((r) => [r['counter'], r['count'], r['pod'], r['metric']]), [
    ['ListenOverflows', 12, 'web-0', 'kdrop.tcp.listen.overflows'],
    ['ListenDrops', 12, 'web-0', 'kdrop.tcp.listen.drops'],
  ]);
});
