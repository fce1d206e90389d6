import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceConfig } from '../../../src/config/trace-config.js';
import { watchConfig } from '../../../src/config/watch-config.js';
import { agentConfig, otlpUrl } from '../../../src/agent/config.js';
import { isKdropError, ErrorCodes } from '../../../src/errors.js';

test('trace: defaults and filters', () => {
  const c = traceConfig({}, {});
  assert.deepEqual(c.samples, { rate: 1, burst: 3, maxPerS: 1000, stacks: false });
  assert.equal(c.source, 'auto');
  const f = traceConfig({ proto: ['udp,TCP'], port: ['53'], host: ['10.0.0.1', '::1'], stack: true, sampleRate: '0.5', count: '3' }, {});
  assert.deepEqual([f.protos, f.ports, f.hosts, f.samples.stacks, f.samples.rate, f.count], [['udp', 'TCP'], [53], ['10.0.0.1', '::1'], true, 0.5, 3]);
  assert.equal(traceConfig({}, { KDROP_SAMPLE_BURST: '7' }).samples.burst, 7);
});

test('trace: every bad value in one CONFIG error under the name typed', () => {
  assert.throws(
    () => traceConfig({ proto: ['gre2'], port: ['70000'], host: ['example.com'], sampleRate: '0', sampleBurst: 'x' }, {}),
    (e: unknown) => {
      assert.ok(isKdropError(e, ErrorCodes.CONFIG));
      for (const name of ['--proto', '--port', '--host', '--sample-rate', '--sample-burst']) assert.ok(e.message.includes(name), `${name} in ${e.message}`);
      return true;
    },
  );
});

test('watch --flows: sample options only with --flows', () => {
  assert.equal(watchConfig({}, {}).flows, undefined);
  assert.deepEqual(watchConfig({ flows: true, sampleMaxPerS: '50' }, {}).flows, { rate: 1, burst: 3, maxPerS: 50, stacks: false });
});

test('agent --samples otlp: the logs URL next to the metrics one; needs an endpoint', async () => {
  assert.equal((await agentConfig({}, {})).samples, null);
  const c = await agentConfig({ samples: 'otlp', otlpEndpoint: 'http://col:4318' }, {});
  assert.deepEqual(c.samples, { kernel: { rate: 1, burst: 3, maxPerS: 100, stacks: false }, protocol: 'http/protobuf', url: 'http://col:4318/v1/logs', timeoutMs: 5000, maxPerS: 100 });
  assert.equal(c.otlp?.url, 'http://col:4318/v1/metrics');
  const env = await agentConfig({ samples: 'otlp' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318', KDROP_SAMPLE_STACKS: 'true' });
  assert.equal(env.samples?.url, undefined);
  assert.equal(env.samples?.kernel.stacks, true);
  await assert.rejects(agentConfig({ samples: 'otlp' }, {}), (e: unknown) => isKdropError(e, ErrorCodes.CONFIG) && e.message.includes('--samples otlp'));
  await assert.rejects(agentConfig({ samples: 'yes' }, {}), (e: unknown) => isKdropError(e, ErrorCodes.CONFIG) && e.message.includes('--samples'));
  assert.equal(otlpUrl('http://c:4318/v1/metrics', 'http/protobuf', 'logs'), 'http://c:4318/v1/logs');
  assert.equal(otlpUrl('http://c:4318/base/', 'http/protobuf', 'logs'), 'http://c:4318/base/v1/logs');
});
