/** GET /api/v1/drops on a running Agent (fake pipeline), and `kdrop top --agent`'s client of it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from '../../../src/agent/agent.js';
import type { AgentConfig, ListenAddress } from '../../../src/agent/config.js';
import { DROPS_API_PATH, DROPS_API_VERSION, IntervalDeltas, dropsApiDocument } from '../../../src/agent/drops-api.js';
import { AgentFeed, dropsApiUrl, fetchDropsApi, fromDropsApi } from '../../../src/top/agent-feed.js';
import { TopModel } from '../../../src/top/model.js';
import { defaultHostPaths } from '../../../src/host-paths.js';
import { DEFAULT_LABELS } from '../../../src/vocabulary/attributes.js';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { FakeResolver, FakeSource, fakePipeline } from './fakes.js';

function cfg(): AgentConfig {
  return {
    // The test reads the pipeline itself (agent.ingest) so each interval is known.
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
  };
}

test('the agent serves totals and latest-interval deltas with the /metrics labels; top reads the same totals', async () => {
  const resolver = new FakeResolver();
  const pipe = fakePipeline(new FakeSource(), resolver);
  let addr!: ListenAddress;
  const agent = new Agent(cfg(), { openPipeline: async () => pipe, paths: defaultHostPaths, env: {}, resolver, onListening: (a) => (addr = a.metrics!) });
  await agent.start();
  const done = agent.run();
  const base = `http://127.0.0.1:${addr.port}`;
  try {
    const before = dropsApiDocument.parse(await (await fetch(`${base}${DROPS_API_PATH}`)).json());
    assert.equal(before.api_version, DROPS_API_VERSION);
    assert.equal(before.node, 'node-7');
    assert.equal(before.source, 'tracefs');
    assert.equal(before.interval_s, 600);
    assert.equal(before.intervals, 0);
    assert.equal(before.interval_end, null);

    pipe.fake.drop(1001, 5);
    pipe.fake.drop(1, 2);
    agent.ingest(await pipe.pipeline.tick());
    pipe.fake.drop(1001, 3);
    agent.ingest(await pipe.pipeline.tick());
    const doc = dropsApiDocument.parse(await (await fetch(`${base}${DROPS_API_PATH}`)).json());
    assert.equal(doc.intervals, 2);
    assert.equal(doc.series.find((s) => s.attributes['kdrop.netns.inode'] === '1')?.interval_drops, 0, 'no host drops in the latest interval');
    const pod = doc.series.find((s) => s.attributes['kdrop.netns.inode'] === '1001');
    assert.deepEqual(pod?.attributes, {
      'kdrop.reason': 'NO_SOCKET',
      'kdrop.reason.class': 'error',
      'kdrop.function': 'fake_rcv',
      'network.type': 'ipv4',
      'kdrop.scope': 'pod',
      'k8s.namespace.name': 'default',
      'k8s.pod.name': 'pod-1001',
      'kdrop.netns.inode': '1001',
    });
    assert.equal(pod?.drops, 8);
    assert.equal(pod?.interval_drops, 3, 'the latest interval added 3');
    assert.equal(pod?.bytes, 800);
    assert.deepEqual(doc.labels, [...DEFAULT_LABELS, 'kdrop.netns.inode']);

    // The same numbers on /metrics.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /kdrop_packet_drops_total\{[^}]*kdrop_netns_inode="1001"[^}]*\} 8/);

    // top's client: URL forms, freshness, and the rows it makes.
    assert.equal(dropsApiUrl(base).href, `${base}${DROPS_API_PATH}`);
    assert.equal(dropsApiUrl(`127.0.0.1:${addr.port}/`).href, `${base}${DROPS_API_PATH}`);
    assert.equal(dropsApiUrl(`${base}${DROPS_API_PATH}`).href, `${base}${DROPS_API_PATH}`);
    const feed = new AgentFeed(base);
    const first = await feed.poll();
    assert.ok(first);
    assert.match(first.status.source, /^agent 127\.0\.0\.1:\d+ \(node-7\): tracefs$/);
    const m = new TopModel();
    m.ingest(first);
    const rows = m.rows({ groupBy: 'netns', sortBy: 'total', filter: '' });
    assert.deepEqual(rows.map((r) => [r.key, r.total, r.detail]), [['1001', 8, 'pod default/pod-1001'], ['1', 2, 'host']]);
    const head = await fetch(`${base}${DROPS_API_PATH}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-type'), 'application/json; charset=utf-8');
  } finally {
    agent.requestStop();
    await done;
  }
});

test('AgentFeed returns an interval once: null until the agent has read a new one', async () => {
  let intervals = 1;
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        api_version: DROPS_API_VERSION,
        node: null,
        source: 'bpftrace',
        interval_s: 5,
        intervals,
        interval_end: '2026-11-29T15:00:05.000Z',
        last_interval_s: 5,
        lost_events: 4,
        tracer_restarts: 0,
        unattributed_drops: 1,
        labels: ['kdrop.reason'],
        series: [{ attributes: { 'kdrop.reason': 'NO_SOCKET' }, drops: 50, bytes: null, interval_drops: 10, interval_bytes: null, start_time: '2026-11-29T15:00:00.000Z' }],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const feed = new AgentFeed(`http://127.0.0.1:${port}`);
    const a = await feed.poll();
    assert.equal(a?.samples[0]?.total, 50);
    assert.equal(a?.samples[0]?.delta, 10);
    assert.equal(a?.samples[0]?.scope, null, 'labels the agent does not export are unknown');
    assert.equal(a?.intervalS, 5);
    assert.deepEqual(a?.status, { source: `agent 127.0.0.1:${port}: bpftrace`, lostEvents: 4, unattributed: 1, error: null });
    assert.equal(await feed.poll(), null);
    intervals = 2;
    assert.ok(await feed.poll());
  } finally {
    server.close();
  }
});

test('fetchDropsApi: unreachable, 404, not JSON and an unknown document are AGENT_API errors', async () => {
  let status = 404;
  let body = 'not found\n';
  const server = createServer((_req, res) => res.writeHead(status).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = dropsApiUrl(`http://127.0.0.1:${port}`);
  const rejects = (re: RegExp) => assert.rejects(fetchDropsApi(url, 2000), (e) => isKdropError(e, ErrorCodes.AGENT_API) && re.test(e.message));
  try {
    await rejects(/answered 404.*upgrade the agent/);
    status = 200;
    await rejects(/sent no JSON/);
    body = '{"api_version":"other"}';
    await rejects(/unknown document/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  // A port nobody listens on (a listener that never took a connection, closed again).
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const freePort = (free.address() as AddressInfo).port;
  await new Promise((r) => free.close(r));
  await assert.rejects(fetchDropsApi(dropsApiUrl(`127.0.0.1:${freePort}`), 2000), (e) => isKdropError(e, ErrorCodes.AGENT_API) && /cannot reach the agent.*ECONNREFUSED/.test(e.message));
  assert.throws(() => dropsApiUrl('ftp://x'), (e) => isKdropError(e, ErrorCodes.CONFIG));
  assert.throws(() => dropsApiUrl('http://'), (e) => isKdropError(e, ErrorCodes.CONFIG));
});

test('IntervalDeltas: a series that restarted counts from zero; unknown series have no delta', () => {
  const d = new IntervalDeltas();
  const p = (drops: number, start: number) => ({ attributes: { a: 'x' }, drops, bytes: drops * 10, startTimeMs: start, updatedMs: start, overflow: false });
  d.update([p(5, 1)]);
  assert.deepEqual(d.of(p(5, 1)), { drops: 5, bytes: 50 });
  d.update([p(9, 1)]);
  assert.deepEqual(d.of(p(9, 1)), { drops: 4, bytes: 40 });
  d.update([p(2, 7)]);
  assert.deepEqual(d.of(p(2, 7)), { drops: 2, bytes: 20 });
  assert.deepEqual(d.of({ ...p(1, 1), attributes: { a: 'y' } }), { drops: 0, bytes: 0 });
  void fromDropsApi;
});
