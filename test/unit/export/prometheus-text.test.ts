/**
 * PrometheusText against the SDK's PrometheusSerializer (as PrometheusExporter configures it): the same
 * text for generated collections, a real agent-like collection through the HTTP handler, and null (the SDK's
 * serializer then) where the SDK's output depends on cases kdrop does not make.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, MeterProvider, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { ValueType } from '@opentelemetry/api';
import { PrometheusText } from '../../../src/export/prometheus-text.js';
import { prometheusHandler } from '../../../src/export/telemetry.js';
import { DropMetricsProducer } from '../../../src/export/drop-metrics-producer.js';
import { SeriesStore } from '../../../src/aggregate/series.js';

const sdk = new PrometheusSerializer('', false);

// Names and values with what either serializer must rewrite: dots, dashes, runs of underscores, a
// leading digit, backslashes, quotes, newlines, non-ASCII.
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('kdrop.reason', 'k8s.pod.name', 'a-b', '__x__', '9lives', '', '_', 'x_total', 'é', 'a\\b', 'q"q', 'n\nl', 'target_info'),
);
const attrValue = fc.oneof(text, fc.integer(), fc.boolean(), fc.double(), fc.constant(undefined), fc.array(fc.integer(), { maxLength: 2 }));
const attributes = fc.dictionary(text, attrValue, { maxKeys: 6 });
const value = fc.oneof(fc.nat(), fc.double(), fc.constantFrom(Infinity, -Infinity, Number.NaN, 0, -1.5, 1e21));

const metric = fc.record({
  name: text,
  description: text,
  unit: fc.oneof(fc.constant(''), text),
  kind: fc.constantFrom('counter', 'updown', 'gauge'),
  points: fc.array(fc.record({ attributes, value }), { maxLength: 4 }),
});

type Infer<A> = A extends fc.Arbitrary<infer T> ? T : never;

function metricData(m: Infer<typeof metric>): MetricData {
  const descriptor = { name: m.name, description: m.description, unit: m.unit, valueType: ValueType.DOUBLE };
  const dataPoints = m.points.map((p) => ({ startTime: [1, 0] as [number, number], endTime: [2, 0] as [number, number], attributes: p.attributes as Record<string, string>, value: p.value }));
  if (m.kind === 'gauge') return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints };
  return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: m.kind === 'counter', dataPoints };
}

const collection = fc.record({
  resource: attributes,
  scopes: fc.array(
    fc.record({ name: text, version: fc.option(text, { nil: undefined }), schemaUrl: fc.option(text, { nil: undefined }), metrics: fc.array(metric, { maxLength: 4 }) }),
    { maxLength: 3 },
  ),
});

function resourceMetrics(c: Infer<typeof collection>): ResourceMetrics {
  return {
    resource: resourceFromAttributes(c.resource as Record<string, string>),
    scopeMetrics: c.scopes.map((s) => ({
      scope: { name: s.name, ...(s.version === undefined ? {} : { version: s.version }), ...(s.schemaUrl === undefined ? {} : { schemaUrl: s.schemaUrl }) },
      metrics: s.metrics.map(metricData),
    })),
  };
}

test('property: the same text as the SDK serializer wherever PrometheusText answers; it answers for unique names', () => {
  let answered = 0;
  fc.assert(
    fc.property(collection, (c) => {
      const rm = resourceMetrics(c);
      const mine = new PrometheusText().serialize(rm);
      if (mine !== null) {
        answered++;
        assert.equal(mine.toString('utf8'), sdk.serialize(rm));
      }
    }),
    { numRuns: 600 },
  );
  assert.ok(answered > 300, `answered ${answered} of 600`);
});

test('declines (null) where the SDK merges or drops families: two metrics under one name, a histogram, a metric named target_info', () => {
  const counter = (name: string): MetricData => ({
    descriptor: { name, description: 'd', unit: '', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [{ startTime: [1, 0], endTime: [2, 0], attributes: { a: 'b' }, value: 3 }],
  });
  const rm = (metrics: MetricData[]): ResourceMetrics => ({ resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 's' }, metrics }] });
  const p = new PrometheusText();
  assert.equal(p.serialize(rm([counter('a.b'), counter('a-b')])), null, 'a.b and a-b are both a_b_total');
  const gauge: MetricData = { ...counter('target_info'), dataPointType: DataPointType.GAUGE } as MetricData;
  assert.equal(p.serialize(rm([gauge])), null, 'a gauge named target_info joins the resource family');
  const histogram: MetricData = {
    descriptor: { name: 'h', description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [{ startTime: [1, 0], endTime: [2, 0], attributes: {}, value: { buckets: { boundaries: [1], counts: [1, 0] }, sum: 0.5, count: 1, min: 0.5, max: 0.5 } }],
  };
  assert.equal(p.serialize(rm([histogram])), null);
  assert.equal(p.serialize(rm([counter('x')]))?.toString(), sdk.serialize(rm([counter('x')])));
  // One instance, outputs of growing size: the buffer sized by the previous one grows as needed.
  const many = (n: number): MetricData => ({ ...counter('x'), dataPoints: Array.from({ length: n }, (_, i) => ({ startTime: [1, 0], endTime: [2, 0], attributes: { pod: `pod-é-${i}` }, value: i })) }) as MetricData;
  for (const n of [1, 500, 3, 5000]) assert.equal(p.serialize(rm([many(n)]))?.toString(), sdk.serialize(rm([many(n)])), `${n} points`);
});

async function get(server: Server, path: string): Promise<{ status: number; type: string | null; length: string | null; body: string }> {
  const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
  return { status: r.status, type: r.headers.get('content-type'), length: r.headers.get('content-length'), body: await r.text() };
}

test("an agent-like collection through the handler: the SDK handler's status, header and bytes (200 netns, counters, self-metrics)", async () => {
  const store = new SeriesStore();
  for (let i = 0; i < 200; i++) {
    const attrs = { 'kdrop.reason': 'NO_SOCKET', 'kdrop.reason.class': 'error', 'kdrop.function': '__udp4_lib_rcv', 'network.type': 'ipv4', 'kdrop.scope': 'pod', 'k8s.namespace.name': 'ns', 'k8s.pod.name': `pod-${i}`, 'kdrop.netns.inode': String(4026531000 + i) };
    store.add(attrs, i + 1, 60 * (i + 1));
  }
  store.add({ 'kdrop.reason': 'NETFILTER_DROP', 'kdrop.function': 'nf_hook_slow', 'k8s.pod.name': 'quote"and\\back' }, 7, null);
  const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [new DropMetricsProducer(() => store.snapshot(), '1.2.3', () => 1_700_000_000_000)] });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'kdrop', 'k8s.node.name': 'node-1' }), readers: [exporter] });
  const meter = provider.getMeter('kdrop', '1.2.3');
  meter.createObservableCounter('kdrop.tracer.lost_events', { unit: '{event}', description: 'lost' }).addCallback((r) => r.observe(0));
  meter.createObservableGauge('kdrop.series.active', { description: 'series' }).addCallback((r) => r.observe(201, { 'kdrop.metric': 'drops' }));
  const ours = prometheusHandler(exporter);
  const servers = [createServer((req, res) => ours(req, res)), createServer((req, res) => exporter.getMetricsRequestHandler(req, res))];
  try {
    for (const s of servers) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const [a, b] = [await get(servers[0]!, '/metrics'), await get(servers[1]!, '/metrics')];
    assert.equal(a.status, 200);
    assert.equal(a.type, b.type);
    assert.equal(a.body, b.body);
    assert.equal(a.length, b.length, 'content-length');
    assert.match(a.body, /^kdrop_packet_drops_total\{kdrop_reason="NO_SOCKET",.*k8s_pod_name="pod-199",kdrop_netns_inode="4026531199",otel_scope_name="kdrop",otel_scope_version="1.2.3"\} 200$/m);
    assert.match(a.body, /k8s_pod_name="quote\\"and\\\\back"/);
    assert.match(a.body, /^# TYPE kdrop_series_active gauge$/m);
  } finally {
    for (const s of servers) s.close();
    await provider.shutdown();
  }
});
