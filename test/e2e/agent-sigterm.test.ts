/**
 * End to end: SIGTERM before the next interval. The agent must stop the tracer, read its final counts and
 * deliver them (OTLP: forceFlush; Prometheus: one last scrape), then exit 0 within the bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { agentSkipReason, startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { latestSum, otelcolSkipReason, startCollector, type Collector } from './helpers/otelcol.js';
import { prometheusSkipReason, startPrometheus, type PrometheusServer } from './helpers/prometheus.js';
import { freePort } from './helpers/ports.js';

const agentSkip = await agentSkipReason();
const N = 61;

test('SIGTERM: the last partial interval reaches the OTLP backend', { skip: agentSkip ?? (await otelcolSkipReason()) ?? false, timeout: 240_000 }, async () => {
  let ns: TestNetns | undefined;
  let agent: AgentProcess | undefined;
  let col: Collector | undefined;
  try {
    ns = await createNetns('kdropterm');
    col = await startCollector();
    // Neither a read nor a periodic export happens during the test: only the stop sequence can deliver.
    agent = await startAgentProcess(
      ['--metrics-address', 'off', '--interval', '1h', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace', '--otlp-endpoint', col.httpEndpoint],
      { OTEL_METRIC_EXPORT_INTERVAL: '3600000' },
    );
    await ns.sendUdp(N);
    const code = await agent.stop('SIGTERM');
    assert.equal(code, 0, `exit code; output:\n${agent.child.tail(20)}`);
    const inode = String(ns.inode);
    const c = col;
    let got = 0;
    await waitFor(async () => (got = latestSum(await c.points('kdrop.packet.drops'), (a) => a['kdrop.netns.inode'] === inode && a['kdrop.reason'] === 'NO_SOCKET')) === N, 30_000, 200);
    assert.equal(got, N);
  } finally {
    await agent?.stop('SIGKILL');
    await col?.stop();
    await ns?.remove();
  }
});

test('SIGTERM: the last partial interval reaches Prometheus (one last scrape)', { skip: agentSkip ?? (await prometheusSkipReason()) ?? false, timeout: 240_000 }, async () => {
  let ns: TestNetns | undefined;
  let agent: AgentProcess | undefined;
  let prom: PrometheusServer | undefined;
  try {
    ns = await createNetns('kdropterm');
    const port = await freePort();
    agent = await startAgentProcess(['--metrics-address', `127.0.0.1:${port}`, '--interval', '1h', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace', '--final-scrape-wait', '10s', '--shutdown-timeout', '20s']);
    prom = await startPrometheus(`127.0.0.1:${port}`);
    const p = prom;
    assert.ok(await waitFor(async () => (await p.query('up{job="kdrop"}')) === 1, 60_000, 500), 'Prometheus scrapes the agent');
    await ns.sendUdp(N);
    assert.equal(await agent.stop('SIGTERM'), 0, `exit code; output:\n${agent.child.tail(20)}`);
    // The target is gone now (stale); the last sample before that must carry all N.
    const q = `sum(last_over_time(kdrop_packet_drops_total{kdrop_netns_inode="${ns.inode}",kdrop_reason="NO_SOCKET"}[10m]))`;
    let got: number | null = null;
    await waitFor(async () => (got = await p.query(q)) === N, 30_000, 500);
    assert.equal(got, N);
  } finally {
    await agent?.stop('SIGKILL');
    await prom?.stop();
    await ns?.remove();
  }
});
