/**
 * `kdrop top --agent`: the kernel drop counters come from the agent's drops API (`counters`, the same
 * series and values as the counter metrics on /metrics) and show per group and in the detail view as in
 * local top; `--no-counters` leaves them out (the agent's, and top's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from '../../../src/agent/agent.js';
import type { AgentConfig, ListenAddress } from '../../../src/agent/config.js';
import { DROPS_API_PATH, dropsApiDocument, type DropsApiDocument } from '../../../src/agent/drops-api.js';
import { AgentFeed, fromDropsApi } from '../../../src/top/agent-feed.js';
import { mergeDrops } from '../../../src/kubectl/cluster-feed.js';
import type { AgentPod } from '../../../src/kubectl/agents.js';
import type { AgentResult } from '../../../src/kubectl/fanout.js';
import { TopModel } from '../../../src/top/model.js';
import { screenLines } from '../../../src/top/layout.js';
import { formatSnapshot } from '../../../src/top/snapshot-text.js';
import { formatRate } from '../../../src/top/sparkline.js';
import { defaultHostPaths } from '../../../src/host-paths.js';
import { DEFAULT_LABELS } from '../../../src/vocabulary/attributes.js';
import type { CounterEntry } from '../../../src/enrich/counter-collector.js';
import type { NetnsOwner } from '../../../src/enrich/types.js';
import { FakeResolver, FakeSource, fakePipeline } from '../agent/fakes.js';

function cfg(over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    intervalMs: 600_000,
    source: 'auto',
    metrics: { host: '127.0.0.1', port: 0 },
    health: { host: '127.0.0.1', port: 0 },
    otlp: null,
    labels: [...DEFAULT_LABELS, 'kdrop.netns.inode'],
    seriesLimit: 100,
    seriesTtlMs: 0,
    retireGraceMs: 0,
    shutdownTimeoutMs: 5000,
    finalScrapeWaitMs: 0,
    logLevel: undefined,
    map: undefined,
    nodeName: 'node-7',
    ...over,
  };
}

const pod1001: NetnsOwner = { scope: 'pod', namespace: 'default', pod: 'pod-1001', podUid: 'uid-1001' };
const host: NetnsOwner = { scope: 'host', namespace: null, pod: null, podUid: null };
const overflows = (count: number): CounterEntry => ({ file: 'netstat', counter: 'ListenOverflows', iface: null, direction: null, netns: 1001, owner: pod1001, count });
const txDropped = (count: number): CounterEntry => ({ file: 'dev', counter: 'tx_dropped', iface: 'dummy0', direction: 'transmit', netns: 1, owner: host, count });
const missed = (count: number): CounterEntry => ({ file: 'nic', counter: 'rx_missed_errors', iface: 'eth0', direction: 'receive', netns: null, owner: host, count });

/** An agent (fake pipeline) that has read two intervals with counters; the test reads its API. */
async function withAgent(over: Partial<AgentConfig>, body: (base: string, agent: Agent, opened: { counters?: boolean }[]) => Promise<void>): Promise<void> {
  const resolver = new FakeResolver();
  const pipe = fakePipeline(new FakeSource(), resolver);
  const opened: { counters?: boolean }[] = [];
  let addr!: ListenAddress;
  const agent = new Agent(cfg(over), {
    openPipeline: async (o) => (opened.push(o), pipe),
    paths: defaultHostPaths,
    env: {},
    resolver,
    onListening: (a) => (addr = a.metrics!),
  });
  await agent.start();
  const done = agent.run();
  try {
    pipe.fake.drop(1002, 4);
    agent.ingest({ ...(await pipe.pipeline.tick()), counters: [overflows(60), txDropped(5), missed(2)] });
    pipe.fake.drop(1002, 1);
    agent.ingest({ ...(await pipe.pipeline.tick()), counters: [overflows(30)] });
    await body(`http://127.0.0.1:${addr.port}`, agent, opened);
  } finally {
    agent.requestStop();
    await done;
  }
}

const apiDoc = async (base: string): Promise<DropsApiDocument> => dropsApiDocument.parse(await (await fetch(`${base}${DROPS_API_PATH}`)).json());

test('the drops API carries the counter series with the /metrics values and the latest interval growth', async () => {
  await withAgent({}, async (base, _agent, opened) => {
    assert.equal(opened[0]?.counters, undefined, 'the pipeline reads the counters (the default)');
    const doc = await apiDoc(base);
    const byCounter = new Map(doc.counters?.map((c) => [c.counter, c]));
    assert.deepEqual(byCounter.get('ListenOverflows'), {
      metric: 'kdrop.tcp.listen.overflows',
      source: 'netstat',
      counter: 'ListenOverflows',
      attributes: { 'kdrop.scope': 'pod', 'k8s.namespace.name': 'default', 'k8s.pod.name': 'pod-1001', 'kdrop.netns.inode': '1001' },
      value: 90,
      interval_value: 30,
      start_time: byCounter.get('ListenOverflows')?.start_time,
    });
    assert.equal(byCounter.get('tx_dropped')?.metric, 'system.network.packet.dropped');
    assert.equal(byCounter.get('tx_dropped')?.attributes['network.io.direction'], 'transmit');
    assert.deepEqual([byCounter.get('tx_dropped')?.value, byCounter.get('tx_dropped')?.interval_value], [5, 0]);
    assert.deepEqual([byCounter.get('rx_missed_errors')?.source, byCounter.get('rx_missed_errors')?.value], ['nic', 2]);
    // The same values on /metrics.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /kdrop_tcp_listen_overflows_total\{[^}]*k8s_pod_name="pod-1001"[^}]*\} 90/);
    assert.match(metrics, /system_network_packet_dropped_total\{[^}]*network_interface_name="dummy0"[^}]*\} 5/);
  });
});

test('top --agent shows the counters per group (a row even without drops) and in the detail view, with the agent totals', async () => {
  await withAgent({}, async (base) => {
    const interval = await new AgentFeed(base).poll();
    assert.ok(interval);
    const m = new TopModel();
    m.ingest(interval);
    const rows = m.rows({ groupBy: 'pod', sortBy: 'rate', filter: '' });
    const pod = rows.find((r) => r.key === 'default/pod-1001');
    assert.ok(pod, `a row for the pod that has counters but no drops: ${rows.map((r) => r.key).join(', ')}`);
    assert.equal(pod.total, 0, 'counters are never added to the drops');
    assert.deepEqual(pod.counters, [{ label: 'ListenOverflows', rate: 30 / interval.intervalS, total: 90 }]);
    // The host's counters did not grow in the latest interval: not on its row, in its detail with the agent's totals.
    assert.equal(rows.find((r) => r.key === '(host)')?.counters, undefined);
    assert.deepEqual(m.breakdown('pod', '(host)').counters, [{ label: 'tx_dropped dummy0', rate: 0, total: 5 }, { label: 'rx_missed_errors eth0', rate: 0, total: 2 }]);
    // By netns (the agent exports kdrop.netns.inode here).
    assert.deepEqual(m.rows({ groupBy: 'netns', sortBy: 'rate', filter: '' }).find((r) => r.key === '1001')?.counters?.map((c) => c.label), ['ListenOverflows']);

    const status = m.status();
    const text = formatSnapshot(rows, { time: new Date(0), groupBy: 'pod', sortBy: 'rate', intervalS: interval.intervalS, status });
    assert.ok(text.split('\n').some((l) => l.startsWith('default/pod-1001 ') && l.includes(`[ListenOverflows ${formatRate(30 / interval.intervalS)}/s]`)), text);
    const detail = screenLines({ width: 120, height: 20, rows, status, groupBy: 'pod', sortBy: 'rate', filter: '', filterEditing: false, selected: 0, paused: false, help: false, detail: m.breakdown('pod', 'default/pod-1001'), intervals: 1, intervalS: interval.intervalS, updated: null }).map((l) => l.text);
    assert.ok(detail.some((l) => /ListenOverflows\s+\S+\s+90\b/.test(l)), detail.join('\n'));

    // A second read of the same totals does not add them up.
    m.ingest(interval);
    assert.equal(m.breakdown('pod', 'default/pod-1001').counters?.[0]?.total, 90);

    // --no-counters: top leaves the agent's counters out.
    const without = await new AgentFeed(base, 5000, false).poll();
    assert.equal(without?.counters, undefined);
    assert.equal(without?.samples.length, interval.samples.length);
  });
});

test('agent --no-counters: the pipeline does not read them; no counter series in the API or on /metrics', async () => {
  await withAgent({ counters: false }, async (base, _agent, opened) => {
    assert.equal(opened[0]?.counters, false);
    const doc = await apiDoc(base);
    assert.equal(doc.counters, undefined);
    assert.ok(doc.series.length > 0, 'the drops are there');
    assert.equal(fromDropsApi(doc, 'a').counters, undefined);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /kdrop_packet_drops_total/);
    assert.doesNotMatch(metrics, /kdrop_tcp_listen_overflows_total|system_network_packet_dropped_total|kdrop_nic_drops_total/);
  });
});

test('kubectl kdrop top: each agent\'s counters with its node, namespace filter applied', async () => {
  await withAgent({}, async (base) => {
    const doc = await apiDoc(base);
    const agent = (node: string): AgentPod => ({ namespace: 'kdrop-system', name: `kdrop-${node}`, node, phase: 'Running', ready: true, port: 9464, scheme: 'http' });
    const results: AgentResult<DropsApiDocument>[] = [
      { ok: true, agent: agent('n1'), value: { ...doc, node: 'n1' } },
      { ok: true, agent: agent('n2'), value: { ...doc, node: 'n2' } },
    ];
    const merged = mergeDrops(results, new Map(), undefined, 0);
    const m = new TopModel();
    m.ingest(merged);
    assert.deepEqual(m.breakdown('node', 'n1').counters?.find((c) => c.label === 'ListenOverflows'), { label: 'ListenOverflows', rate: 30 / merged.intervalS, total: 90 });
    assert.equal(m.breakdown('pod', 'default/pod-1001').counters?.[0]?.total, 180, 'the pod on both nodes (same name): both agents\' totals');
    const onlyDefault = mergeDrops(results, new Map(), 'default', 0);
    assert.deepEqual([...new Set(onlyDefault.counters?.map((c) => c.namespace))], ['default']);
  });
});
