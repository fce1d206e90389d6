import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfig, otlpUrl } from '../../../src/agent/config.js';
import { isKdropError, ErrorCodes, KdropError } from '../../../src/errors.js';
import { DEFAULT_LABELS } from '../../../src/vocabulary/attributes.js';

async function configError(p: Promise<unknown>): Promise<KdropError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isKdropError(err, ErrorCodes.CONFIG), `expected a config error, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the configuration to be rejected');
}

async function withFile<T>(content: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-cfg-'));
  try {
    const path = join(dir, 'agent.json');
    await writeFile(path, content);
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('defaults', async () => {
  const c = await agentConfig({}, {});
  assert.equal(c.intervalMs, 5000);
  assert.deepEqual(c.metrics, { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(c.health, c.metrics);
  assert.equal(c.otlp, null);
  assert.deepEqual(c.labels, DEFAULT_LABELS);
  assert.equal(c.source, 'auto');
  assert.equal(c.seriesLimit, 2000);
  assert.equal(c.seriesTtlMs, 15 * 60_000);
  assert.equal(c.shutdownTimeoutMs, 10_000);
  assert.equal(c.nodeName, undefined);
});

test('flags win over env, env over the file', async () => {
  await withFile(JSON.stringify({ interval: '30s', source: 'tracefs', metricsAddress: '127.0.0.1:1', labels: ['kdrop.reason'] }), async (path) => {
    const c = await agentConfig({ config: path, interval: '2s' }, { KDROP_SOURCE: 'bpftrace', NODE_NAME: 'node-1' });
    assert.equal(c.intervalMs, 2000); // flag
    assert.equal(c.source, 'bpftrace'); // env
    assert.deepEqual(c.metrics, { host: '127.0.0.1', port: 1 }); // file
    assert.deepEqual(c.labels, ['kdrop.reason']); // file
    assert.equal(c.nodeName, 'node-1');
  });
});

test('several bad fields from flags, env and file: ONE error listing every one, with where it came from', async () => {
  await withFile(JSON.stringify({ seriesLimit: -3, bogusKey: 1 }), async (path) => {
    const err = await configError(
      agentConfig(
        { config: path, interval: 'soon', metricsAddress: 'localhost', otlpEndpoint: 'ftp://x', labels: ['kdrop.reason,podname'] },
        { KDROP_SOURCE: 'ebpf', OTEL_METRIC_EXPORT_INTERVAL: 'often', KDROP_OTLP_PROTOCOL: 'http/json' },
      ),
    );
    const lines = err.message.split('\n');
    assert.match(lines[0] ?? '', /invalid agent configuration \(9 problems\)/);
    for (const want of [
      /--interval: expected a duration/,
      /--metrics-address: expected HOST:PORT.*found "localhost"/,
      /--otlp-endpoint: expected an http:\/\/ or https:\/\/ URL, found scheme "ftp:"/,
      /--labels: unknown attribute "podname"/,
      /KDROP_SOURCE: expected auto, bpf, bpftrace or tracefs, found "ebpf"/,
      /KDROP_OTLP_PROTOCOL: expected http\/protobuf or grpc/,
      /OTEL_METRIC_EXPORT_INTERVAL: expected OTEL_METRIC_EXPORT_INTERVAL in milliseconds/,
      /agent\.json \(seriesLimit\): expected a series limit/,
      /agent\.json: unknown key "bogusKey"/,
    ]) {
      assert.ok(lines.some((l) => want.test(l)), `missing ${want} in:\n${err.message}`);
    }
  });
});

test('an unreadable or malformed config file is a config error', async () => {
  assert.match((await configError(agentConfig({ config: '/nonexistent/kdrop.json' }, {}))).message, /--config: cannot read .*ENOENT/);
  await withFile('{ interval: 5s', async (path) => {
    assert.match((await configError(agentConfig({ config: path }, {}))).message, /expected a JSON object, found invalid JSON/);
  });
  await withFile('[1]', async (path) => {
    assert.match((await configError(agentConfig({}, { KDROP_CONFIG: path }))).message, /expected a JSON object, found an array/);
  });
});

test('addresses: IPv6, off, health on its own port', async () => {
  const c = await agentConfig({ metricsAddress: '[::1]:9000', healthAddress: '127.0.0.1:8081' }, {});
  assert.deepEqual(c.metrics, { host: '::1', port: 9000 });
  assert.deepEqual(c.health, { host: '127.0.0.1', port: 8081 });
  const off = await agentConfig({ metricsAddress: 'off' }, {});
  assert.equal(off.metrics, null);
  assert.equal(off.health, null);
  await configError(agentConfig({ metricsAddress: '127.0.0.1:70000' }, {}));
});

test('OTLP: flag endpoint (http/protobuf gets /v1/metrics), grpc, standard env variables, export interval', async () => {
  const http = await agentConfig({ otlpEndpoint: 'http://collector:4318' }, {});
  assert.deepEqual(http.otlp, { protocol: 'http/protobuf', url: 'http://collector:4318/v1/metrics', intervalMs: 5000, timeoutMs: 5000 });
  const grpc = await agentConfig({ otlpEndpoint: 'http://collector:4317', otlpProtocol: 'grpc' }, { OTEL_METRIC_EXPORT_INTERVAL: '60000' });
  assert.deepEqual(grpc.otlp, { protocol: 'grpc', url: 'http://collector:4317', intervalMs: 60000, timeoutMs: 30000 });
  const env = await agentConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  assert.deepEqual(env.otlp, { protocol: 'grpc', url: undefined, intervalMs: 5000, timeoutMs: 5000 });
  const off = await agentConfig({ otlpEndpoint: 'off' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' });
  assert.equal(off.otlp, null);
});

test('otlpUrl keeps an explicit /v1/metrics path and a base path', () => {
  assert.equal(otlpUrl('http://c:4318/v1/metrics', 'http/protobuf'), 'http://c:4318/v1/metrics');
  assert.equal(otlpUrl('https://gw.example/otlp/', 'http/protobuf'), 'https://gw.example/otlp/v1/metrics');
  assert.equal(otlpUrl('http://c:4317', 'grpc'), 'http://c:4317');
});

test('access: open plain HTTP by default; Kubernetes authentication needs TLS; the TLS files come in pairs', async () => {
  assert.deepEqual((await agentConfig({}, {})).auth, { kubernetes: false, tls: null, cacheTtlMs: 60_000, maxConnections: 64 });
  const on = await agentConfig({ auth: 'kubernetes', tlsCertFile: '/tls/tls.crt', tlsKeyFile: '/tls/tls.key', authCacheTtl: '30s' }, { KDROP_MAX_CONNECTIONS: '16' });
  assert.deepEqual(on.auth, { kubernetes: true, tls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' }, cacheTtlMs: 30_000, maxConnections: 16 });
  assert.match((await configError(agentConfig({ auth: 'kubernetes' }, {}))).message, /--auth kubernetes: expected --tls-cert-file and --tls-key-file .*plain HTTP/);
  assert.match((await configError(agentConfig({ tlsCertFile: '/c' }, {}))).message, /expected both .* found only --tls-cert-file/);
  assert.match((await configError(agentConfig({}, { KDROP_AUTH: 'basic' }))).message, /KDROP_AUTH: expected off or kubernetes/);
  assert.match((await configError(agentConfig({ maxConnections: '0' }, {}))).message, /--max-connections: expected connections at once/);
});

test('--samples-api: off by default; on, it samples in the kernel and trusts only the listed API server addresses', async () => {
  assert.equal((await agentConfig({}, {})).samplesApi, null);
  const on = await agentConfig({ samplesApi: true, samplesApiTrustedProxies: '10.87.0.1, 10.0.0.0/24' }, {});
  assert.deepEqual(on.samplesApi?.trustedProxies, ['10.87.0.1', '10.0.0.0/24']);
  assert.equal(on.samplesApi?.kernel.rate, 1);
  assert.deepEqual((await agentConfig({}, { KDROP_SAMPLES_API: 'true' })).samplesApi?.trustedProxies, [], 'on without addresses: every request is refused');
  const err = await configError(agentConfig({ samplesApi: true, samplesApiTrustedProxies: '10.0.0.0/33' }, {}));
  assert.match(err.message, /--samples-api-trusted-proxies: expected a prefix length 0-32 in "10.0.0.0\/33"/);
});

test('--no-counters (commander: counters false), KDROP_COUNTERS and the file key counters: on by default, flag > env > file', async () => {
  assert.equal((await agentConfig({}, {})).counters, true);
  // Commander sets counters: true when --no-counters is not given: that is no flag value.
  assert.equal((await agentConfig({ counters: true }, { KDROP_COUNTERS: 'false' })).counters, false);
  assert.equal((await agentConfig({ counters: false }, { KDROP_COUNTERS: 'true' })).counters, false);
  await withFile(JSON.stringify({ counters: false }), async (path) => {
    assert.equal((await agentConfig({ config: path }, {})).counters, false);
    assert.equal((await agentConfig({ config: path }, { KDROP_COUNTERS: 'true' })).counters, true);
  });
  assert.match((await configError(agentConfig({}, { KDROP_COUNTERS: 'off' }))).message, /KDROP_COUNTERS: expected true or false/);
});
