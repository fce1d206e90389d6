import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { emptyResource } from '@opentelemetry/resources';
import { CountingExporter } from '../../../src/export/counting-exporter.js';

const rm: ResourceMetrics = { resource: emptyResource(), scopeMetrics: [] };

function exporter(results: number[]): PushMetricExporter {
  return {
    export(_m, cb) {
      const code = results.shift() ?? 0;
      cb(code === 0 ? { code } : { code, error: new Error('backend down') });
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}

test('counts failed exports, passes every result through, always cumulative', () => {
  const seen: number[] = [];
  const e = new CountingExporter(exporter([1, 1, 0, 1]), 'otlp');
  for (let i = 0; i < 5; i++) e.export(rm, (r) => seen.push(r.code));
  assert.deepEqual(seen, [1, 1, 0, 1, 0]);
  assert.equal(e.failures(), 3);
  assert.equal(e.selectAggregationTemporality(), AggregationTemporality.CUMULATIVE);
});
