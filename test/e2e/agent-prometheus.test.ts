/**
 * End to end: a real Prometheus server scrapes `kdrop agent` while the test makes exactly N drops in a
 * fresh network namespace; PromQL must return N for that namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';
import { agentSkipReason, firstInterval, startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { prometheusSkipReason, startPrometheus, type PrometheusServer } from './helpers/prometheus.js';
import { freePort } from './helpers/ports.js';

const skip = (await agentSkipReason()) ?? (await prometheusSkipReason());
const N = 137;

test('Prometheus scraping the agent sees exactly N drops for the test netns', { skip: skip ?? false, timeout: 240_000 }, async () => {
  let ns: TestNetns | undefined;
  let agent: AgentProcess | undefined;
  let prom: PrometheusServer | undefined;
  try {
    ns = await createNetns('kdropagent');
    const port = await freePort();
    agent = await startAgentProcess(['--metrics-address', `127.0.0.1:${port}`, '--interval', '1s', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace']);
    prom = await startPrometheus(`127.0.0.1:${port}`);
    await firstInterval(agent);
    await ns.sendUdp(N);
    const selector = `kdrop_netns_inode="${ns.inode}",kdrop_reason="NO_SOCKET"`;
    const q = `sum(kdrop_packet_drops_total{${selector}})`;
    const p = prom;
    let last: number | null = null;
    await waitFor(async () => (last = await p.query(q)) === N, 90_000, 500);
    assert.equal(last, N, `PromQL ${q}; agent output:\n${agent.child.tail(20)}`);
    // Labels of the contract, as Prometheus names them.
    const withLabels = await prom.query(`sum(kdrop_packet_drops_total{${selector},kdrop_function="${dropFunction('udp4')}",network_type="ipv4",kdrop_scope="netns"})`);
    assert.equal(withLabels, N);
    const bytes = await prom.query(`sum(kdrop_packet_dropped_bytes_total{${selector}})`);
    assert.ok(bytes !== null && bytes >= N * 16, `bytes ${bytes} cover at least the payloads`);
    assert.equal(await prom.query('up{job="kdrop"}'), 1);
    assert.equal(await prom.query('count(target_info{service_name="kdrop"})'), 1);
    assert.equal(await agent.stop(), 0);
  } finally {
    await agent?.stop('SIGKILL');
    await prom?.stop();
    await ns?.remove();
  }
});
