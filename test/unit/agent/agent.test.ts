import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, type PushMetricExporter, type ResourceMetrics, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { Agent, type AgentPipeline, type OpenPipeline } from '../../../src/agent/agent.js';
import type { AgentConfig, ListenAddress } from '../../../src/agent/config.js';
import { runAgent } from '../../../src/commands/agent.js';
import { defaultHostPaths } from '../../../src/host-paths.js';
import { DropMetric, SelfMetric } from '../../../src/export/metric-names.js';
import { DEFAULT_LABELS } from '../../../src/vocabulary/attributes.js';
import { isKdropError, ErrorCodes } from '../../../src/errors.js';
import { waitFor } from '../../helpers/netns.js';
import { FakeResolver, FakeSource, fakePipeline } from './fakes.js';

function cfg(over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    intervalMs: 50,
    source: 'auto',
    metrics: { host: '127.0.0.1', port: 0 },
    health: { host: '127.0.0.1', port: 0 },
    otlp: { protocol: 'http/protobuf', url: 'http://127.0.0.1:9/v1/metrics', intervalMs: 600_000, timeoutMs: 1000 },
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
// metrics and health on the same port 0 listener:
const shared = { host: '127.0.0.1', port: 0 };

function sums(rm: ResourceMetrics | undefined): Map<string, SumMetricData> {
  const out = new Map<string, SumMetricData>();
  for (const sm of rm?.scopeMetrics ?? []) for (const m of sm.metrics) if (m.dataPointType === DataPointType.SUM) out.set(m.descriptor.name, m);
  return out;
}

async function get(addr: ListenAddress, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${addr.port}${path}`);
  return { status: r.status, body: await r.text() };
}

interface Started {
  agent: Agent;
  addr: ListenAddress;
  exporter: InMemoryMetricExporter;
  pipe: ReturnType<typeof fakePipeline>;
  resolver: FakeResolver;
  done: Promise<number>;
}

async function startAgent(over: Partial<AgentConfig> = {}, pushExporter?: PushMetricExporter): Promise<Started> {
  const resolver = new FakeResolver();
  const pipe = fakePipeline(new FakeSource(), resolver);
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  let addr: ListenAddress | null = null;
  const agent = new Agent(cfg({ metrics: shared, health: shared, ...over }), {
    openPipeline: async () => pipe,
    paths: defaultHostPaths,
    env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,host.name=override-host' },
    resolver,
    pushExporter: pushExporter ?? exporter,
    onListening: (a) => {
      addr = a.metrics ?? a.health;
    },
  });
  await agent.start();
  assert.ok(addr !== null);
  return { agent, addr, exporter, pipe, resolver, done: agent.run() };
}

test('instrument set, units, attributes and resource reach the push exporter; final partial interval is exported on stop', async () => {
  const s = await startAgent();
  try {
    s.pipe.fake.drop(1001, 5);
    s.pipe.fake.drop(1, 2, { bytesEach: 60 });
    await waitFor(() => s.agent.store.stats().active === 2, 10_000);
    // Drops that happen after the last regular read and are only read while stopping:
    s.pipe.fake.onStop = () => s.pipe.fake.drop(1001, 3);
    s.agent.requestStop();
    assert.equal(await s.done, 0);
    const last = s.exporter.getMetrics().at(-1);
    const m = sums(last);
    const drops = m.get(DropMetric.drops.name);
    assert.ok(drops, 'kdrop.packet.drops exported');
    assert.equal(drops.descriptor.unit, '{packet}');
    assert.equal(drops.isMonotonic, true);
    assert.equal(drops.aggregationTemporality, AggregationTemporality.CUMULATIVE);
    const byNetns = new Map(drops.dataPoints.map((p) => [p.attributes['kdrop.netns.inode'], p]));
    assert.equal(byNetns.get('1001')?.value, 8, 'all 8 pod drops, including the 3 read while stopping');
    assert.deepEqual(byNetns.get('1001')?.attributes, {
      'kdrop.reason': 'NO_SOCKET',
      'kdrop.reason.class': 'error',
      'kdrop.function': 'fake_rcv',
      'network.type': 'ipv4',
      'kdrop.scope': 'pod',
      'k8s.namespace.name': 'default',
      'k8s.pod.name': 'pod-1001',
      'kdrop.netns.inode': '1001',
    });
    assert.equal(byNetns.get('1')?.value, 2);
    assert.equal(byNetns.get('1')?.attributes['kdrop.scope'], 'host');
    const bytes = m.get(DropMetric.droppedBytes.name);
    assert.equal(bytes?.descriptor.unit, 'By');
    assert.equal(bytes?.isMonotonic, true);
    assert.equal(bytes?.dataPoints.find((p) => p.attributes['kdrop.netns.inode'] === '1')?.value, 120);
    for (const sm of [SelfMetric.lostEvents, SelfMetric.tracerRestarts, SelfMetric.unattributedDrops, SelfMetric.seriesOverflow, SelfMetric.seriesExpired]) {
      assert.ok(m.has(sm.name), `self-metric ${sm.name} exported`);
    }
    const res = last?.resource.attributes ?? {};
    assert.equal(res['service.name'], 'kdrop');
    assert.match(String(res['service.version']), /^\d+\.\d+\.\d+/);
    assert.equal(res['k8s.node.name'], 'node-7');
    assert.equal(res['host.name'], 'override-host', 'OTEL_RESOURCE_ATTRIBUTES overrides');
    assert.equal(res['deployment.environment.name'], 'test');
    assert.equal(s.pipe.closed, true, 'pipeline closed');
    await assert.rejects(fetch(`http://127.0.0.1:${s.addr.port}/healthz`), 'server closed');
  } finally {
    s.agent.requestStop();
    await s.done;
  }
});

test('Prometheus endpoint: names, counters, health and readiness', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const resolver = new FakeResolver();
  const inner = fakePipeline(new FakeSource(), resolver);
  // The first read waits for the test, so readiness can be checked before it.
  const gated: AgentPipeline = { ...inner, pipeline: { tick: async () => (await gate, inner.pipeline.tick()), finish: () => inner.pipeline.finish() } };
  let addr!: ListenAddress;
  const agent = new Agent(cfg({ metrics: shared, health: shared, otlp: null }), {
    openPipeline: async () => gated,
    paths: defaultHostPaths,
    env: {},
    onListening: (a) => (addr = a.metrics!),
  });
  await agent.start();
  const done = agent.run();
  try {
    assert.equal((await get(addr, '/readyz')).status, 503);
    assert.equal((await get(addr, '/healthz')).status, 200);
    inner.fake.drop(1002, 7);
    inner.fake.drop(42, 1); // unattributed netns
    release();
    assert.ok(await waitFor(async () => (await get(addr, '/readyz')).status === 200, 10_000));
    const text = (await get(addr, '/metrics')).body;
    assert.match(text, /# TYPE kdrop_packet_drops_total counter/);
    assert.match(text, /kdrop_packet_drops_total\{[^}]*k8s_pod_name="pod-1002"[^}]*kdrop_netns_inode="1002"[^}]*\} 7/);
    assert.match(text, /kdrop_packet_dropped_bytes_total\{[^}]*k8s_pod_name="pod-1002"[^}]*\} 700/);
    assert.match(text, /kdrop_enrich_unattributed_drops_total\{[^}]*\} 1/);
    assert.match(text, /kdrop_series_active\{[^}]*\} 2/);
    assert.match(text, /target_info\{[^}]*service_name="kdrop"/);
    assert.equal((await get(addr, '/nope')).status, 404);
  } finally {
    release();
    agent.requestStop();
    await done;
  }
});

test('a failing OTLP backend is counted in kdrop.export.failures; cumulative totals are right once it is back', async () => {
  let up = false;
  const received: ResourceMetrics[] = [];
  const flaky: PushMetricExporter = {
    export(metrics, cb) {
      if (up) {
        received.push(metrics);
        cb({ code: 0 });
      } else cb({ code: 1, error: new Error('connect ECONNREFUSED') });
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  const s = await startAgent({ otlp: { protocol: 'http/protobuf', url: 'http://127.0.0.1:9/v1/metrics', intervalMs: 100, timeoutMs: 100 } }, flaky);
  try {
    s.pipe.fake.drop(1003, 4);
    assert.ok(await waitFor(async () => /kdrop_export_failures_total\{[^}]*kdrop_exporter="otlp"[^}]*\} [3-9]/.test((await get(s.addr, '/metrics')).body), 10_000));
    s.pipe.fake.drop(1003, 6);
    up = true;
    assert.ok(
      await waitFor(() => {
        const d = sums(received.at(-1)).get(DropMetric.drops.name);
        return d?.dataPoints.find((p) => p.attributes['k8s.pod.name'] === 'pod-1003')?.value === 10;
      }, 10_000),
      'cumulative total 10 once the backend is back',
    );
  } finally {
    s.agent.requestStop();
    await s.done;
  }
});

test('pod deletion expires the pod series (after the grace period)', async () => {
  const s = await startAgent({ retireGraceMs: 0 });
  try {
    s.pipe.fake.drop(1004, 1);
    s.pipe.fake.drop(1005, 1);
    assert.ok(await waitFor(() => s.agent.store.stats().active === 2, 10_000));
    s.resolver.deletePod(1004);
    assert.ok(await waitFor(() => s.agent.store.stats().active === 1, 10_000));
    assert.deepEqual(s.agent.store.snapshot().map((p) => p.attributes['k8s.pod.name']), ['pod-1005']);
    assert.doesNotMatch((await get(s.addr, '/metrics')).body, /pod-1004/);
  } finally {
    s.agent.requestStop();
    await s.done;
  }
});

test('a tracer that fails for good: /healthz turns 503, the agent stops with exit code 1', async () => {
  const s = await startAgent();
  s.pipe.fake.die(new Error('bpftrace exited 3 times'));
  assert.equal(s.agent.live().ok, false);
  assert.match(s.agent.live().detail, /bpftrace exited/);
  assert.equal(await s.done, 1);
  assert.equal(s.pipe.closed, true);
});

test('start failure leaves nothing started: port in use -> the pipeline (opened first, meanwhile) is closed again; pipeline failure -> port released', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const pipes: ReturnType<typeof fakePipeline>[] = [];
  const open: OpenPipeline = async () => {
    const p = fakePipeline();
    pipes.push(p);
    return p;
  };
  try {
    const a = new Agent(cfg({ metrics: { host: '127.0.0.1', port }, health: { host: '127.0.0.1', port } }), { openPipeline: open, paths: defaultHostPaths, env: {} });
    await assert.rejects(a.start(), (err) => isKdropError(err, ErrorCodes.EXPORT) && /EADDRINUSE/.test(err.message));
    assert.equal(pipes.length, 1, 'the source starts first, before the exporters');
    assert.equal(pipes[0]!.closed, true, 'and is closed again when the exporters fail');
  } finally {
    await new Promise((r) => blocker.close(r));
  }
  const failing: OpenPipeline = async () => {
    throw new Error('no tracefs');
  };
  const b = new Agent(cfg({ metrics: { host: '127.0.0.1', port }, health: { host: '127.0.0.1', port } }), { openPipeline: failing, paths: defaultHostPaths, env: {} });
  await assert.rejects(b.start(), /no tracefs/);
  // The port is free again: nothing is left listening.
  const again = createServer();
  await new Promise<void>((resolve, reject) => again.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((r) => again.close(r));
});

test('symbols that cannot be loaded (after the source attached) stop the agent with exit code 1', async () => {
  const pipe = fakePipeline();
  const restricted = new Error('kallsyms shows only zero addresses');
  const a = new Agent(cfg({ metrics: null, health: null, otlp: null }), { openPipeline: async () => Object.assign(pipe, { symbols: Promise.reject(restricted) }), paths: defaultHostPaths, env: {} });
  await a.start();
  assert.equal(await a.run(), 1);
  assert.equal(pipe.closed, true);
});

test('a stop that runs out of time (the tracer does not stop): exit code 1 after the shutdown timeout, the pipeline closed', async () => {
  const pipe = fakePipeline();
  pipe.fake.stop = () => new Promise<void>(() => undefined); // never stops
  const a = new Agent(cfg({ metrics: null, health: null, otlp: null, shutdownTimeoutMs: 300 }), { openPipeline: async () => pipe, paths: defaultHostPaths, env: {} });
  await a.start();
  const done = a.run();
  a.requestStop();
  assert.equal(await done, 1);
  assert.equal(pipe.closed, true);
});

test('runAgent: an aborted signal stops the agent cleanly with exit code 0', async () => {
  const ac = new AbortController();
  const pipe = fakePipeline();
  let addr!: ListenAddress;
  const p = runAgent(
    { config: cfg({ metrics: shared, health: shared, otlp: null }), paths: defaultHostPaths, signal: ac.signal, env: {} },
    { openPipeline: async () => pipe, onListening: (a) => (addr = a.metrics!) },
  );
  assert.ok(await waitFor(async () => addr !== undefined && (await get(addr, '/readyz')).status === 200, 10_000));
  ac.abort();
  assert.equal(await p, 0);
  assert.equal(pipe.closed, true);
});

test('kubectl kdrop routes: /api/v1/doctor always; /api/v1/samples only with --samples-api, and 503 when the source cannot sample', async () => {
  for (const samplesApi of [null, { kernel: { rate: 1, burst: 3, maxPerS: 100, stacks: false }, trustedProxies: ['127.0.0.1'] }]) {
    let addr!: ListenAddress;
    const agent = new Agent(cfg({ metrics: shared, health: shared, otlp: null, samplesApi }), {
      openPipeline: async () => fakePipeline(new FakeSource(), new FakeResolver()),
      paths: defaultHostPaths,
      env: {},
      onListening: (a) => (addr = a.metrics!),
    });
    await agent.start();
    const done = agent.run();
    try {
      const doctor = await get(addr, '/api/v1/doctor');
      assert.equal(doctor.status, 200);
      const doc = JSON.parse(doctor.body) as { api_version: string; node: string; report: { checks: { name: string }[] } };
      assert.deepEqual([doc.api_version, doc.node], ['kdrop.dev/v1', 'node-7']);
      assert.ok(doc.report.checks.some((c) => c.name === 'kallsyms'));
      const samples = await get(addr, '/api/v1/samples');
      if (samplesApi === null) assert.equal(samples.status, 404);
      else assert.deepEqual([samples.status, samples.body], [503, 'this agent has no samples (yet): they need the bpf source\n']);
    } finally {
      agent.requestStop();
      await done;
    }
  }
});
