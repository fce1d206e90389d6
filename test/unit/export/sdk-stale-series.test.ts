/**
 * Measures how @opentelemetry/sdk-metrics 3.x treats attribute sets that stop being reported, with
 * cumulative temporality (what Prometheus and kdrop's OTLP export use). This is why the drop metrics are
 * served by a MetricProducer over kdrop's own series store instead of SDK instruments: with the SDK's
 * instruments a series can never be removed, so pod churn would grow memory and exports forever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DropMetricsProducer } from '../../../src/export/drop-metrics-producer.js';
import { SeriesStore } from '../../../src/aggregate/series.js';

class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function points(rm: ResourceMetrics, name: string): { attrs: string; value: number }[] {
  const out: { attrs: string; value: number }[] = [];
  for (const sm of rm.scopeMetrics)
    for (const m of sm.metrics) if (m.descriptor.name === name) for (const p of m.dataPoints) out.push({ attrs: JSON.stringify(p.attributes), value: p.value as number });
  return out.sort((a, b) => a.attrs.localeCompare(b.attrs));
}

test('SDK observable counter (cumulative) keeps exporting an attribute set the callback stopped observing', async () => {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  let observe: Record<string, number> = { a: 5, b: 7 };
  provider
    .getMeter('t')
    .createObservableCounter('c')
    .addCallback((r) => {
      for (const [pod, v] of Object.entries(observe)) r.observe(v, { pod });
    });
  const first = points((await reader.collect()).resourceMetrics, 'c');
  assert.deepEqual(first.map((p) => p.attrs), ['{"pod":"a"}', '{"pod":"b"}']);
  observe = { a: 6 }; // pod b deleted: no longer observed
  const second = points((await reader.collect()).resourceMetrics, 'c');
  // Measured on sdk-metrics 3.1.1: b is still there with its last value.
  assert.deepEqual(second, [
    { attrs: '{"pod":"a"}', value: 6 },
    { attrs: '{"pod":"b"}', value: 7 },
  ]);
  await provider.shutdown();
});

test('SDK synchronous counter (cumulative) exports every attribute set ever recorded', async () => {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  const c = provider.getMeter('t').createCounter('c');
  c.add(1, { pod: 'a' });
  c.add(2, { pod: 'b' });
  await reader.collect();
  c.add(1, { pod: 'a' });
  const after = points((await reader.collect()).resourceMetrics, 'c');
  assert.deepEqual(after, [
    { attrs: '{"pod":"a"}', value: 2 },
    { attrs: '{"pod":"b"}', value: 2 },
  ]);
  await provider.shutdown();
});

test('the drop-metrics producer stops exporting a series once the store removes it', async () => {
  let now = 1_000_000;
  const store = new SeriesStore({ ttlMs: 0, retireGraceMs: 0, now: () => now });
  const reader = new CollectingReader({ metricProducers: [new DropMetricsProducer(() => store.snapshot(), 'test', () => now)] });
  const provider = new MeterProvider({ readers: [reader] });
  store.add({ pod: 'a' }, 5, 50, 'uid-a');
  store.add({ pod: 'b' }, 7, 70, 'uid-b');
  assert.equal(points((await reader.collect()).resourceMetrics, 'kdrop.packet.drops').length, 2);
  assert.equal(store.expirePod('uid-b'), 1);
  now += 1;
  store.sweep();
  const after = points((await reader.collect()).resourceMetrics, 'kdrop.packet.drops');
  assert.deepEqual(after, [{ attrs: '{"pod":"a"}', value: 5 }]);
  await provider.shutdown();
});
