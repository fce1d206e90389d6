/**
 * Reliability: the OTLP backend is down for a while (test-sized: ~1 minute), then comes back.
 * The agent pushes OTLP/HTTP to a port where nothing listens; meanwhile drops flow, Prometheus must keep
 * answering with exact totals, failed pushes are counted, and the agent's memory must stay bounded. Then a
 * real OpenTelemetry Collector (scripts/tools/otelcol.sh) starts on that port: its totals must be exact
 * (cumulative temporality: nothing queued has to be replayed) and stay exact for drops made afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { agentSkipReason, firstInterval, startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { latestSum, otelcolSkipReason, startCollector, type Collector } from './helpers/otelcol.js';
import { freePort } from './helpers/ports.js';

const skip = (await agentSkipReason()) ?? (await otelcolSkipReason());
const OUTAGE_MS = Number(process.env['KDROP_OTLP_OUTAGE_MS'] ?? 60_000);

/** Sum of a Prometheus counter's samples whose label set contains `match`. */
function promSum(text: string, name: string, match: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(match)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

async function rssKb(pid: number): Promise<number> {
  const st = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(st)?.[1] ?? 0);
}

test('OTLP backend down ~1 minute: Prometheus keeps serving exact totals, memory bounded, the collector is exact after recovery', { skip: skip ?? false, timeout: OUTAGE_MS + 300_000 }, async () => {
  let ns: TestNetns | undefined;
  let agent: AgentProcess | undefined;
  let col: Collector | undefined;
  try {
    ns = await createNetns('kdropotlpdown');
    const otlpPort = await freePort(); // nothing listens here until the collector starts
    const metricsPort = await freePort();
    agent = await startAgentProcess(
      ['--metrics-address', `127.0.0.1:${metricsPort}`, '--interval', '1s', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace', '--otlp-endpoint', `http://127.0.0.1:${otlpPort}`, '--otlp-protocol', 'http/protobuf'],
      { OTEL_METRIC_EXPORT_INTERVAL: '1000', KUBECONFIG: '/nonexistent/kdrop-reliability-test' },
    );
    await firstInterval(agent);
    const pid = agent.child.proc.pid!;
    const inode = `kdrop_netns_inode="${ns.inode}"`;
    const scrape = async (): Promise<string> => {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(r.status, 200, 'Prometheus endpoint answers during the outage');
      return r.text();
    };

    // The outage: drops in batches; after each, /metrics must show the exact total.
    let sent = 0;
    const rss: number[] = [];
    const start = Date.now();
    let batch = 0;
    while (Date.now() - start < OUTAGE_MS) {
      const n = 17 + batch++;
      await ns.sendUdp(n, { family: 4, port: 9 });
      sent += n;
      let prom = 0;
      assert.ok(await waitFor(async () => (prom = promSum(await scrape(), 'kdrop_packet_drops_total', inode)) === sent, 30_000, 250), `Prometheus total ${prom}, made ${sent}`);
      rss.push(await rssKb(pid));
      await new Promise((r) => setTimeout(r, 3000));
    }
    const text = await scrape();
    const failures = promSum(text, 'kdrop_export_failures_total', '');
    assert.ok(failures > 0, `failed pushes are counted (kdrop_export_failures_total = ${failures})`);
    assert.equal(agent.child.proc.exitCode, null, 'the agent is still running');
    // Memory bounded: nothing is queued per failed push, so RSS at the end of the outage is within a
    // generous margin of RSS early in it (a queue of ~60 pushes would not show; an unbounded one would).
    const early = Math.max(...rss.slice(0, 3));
    const late = Math.max(...rss.slice(-3));
    process.stderr.write(`otlp outage: ${batch} batches, ${sent} drops, ${failures} failed pushes, agent RSS early ${early} kB, late ${late} kB, samples ${rss.join(' ')}\n`);
    assert.ok(late <= early + 64 * 1024, `RSS grew from ${early} kB to ${late} kB during the outage`);

    // Recovery: the collector comes up on the port; the next pushes carry the cumulative totals.
    col = await startCollector({ httpPort: otlpPort });
    const c = col;
    const total = async (): Promise<number> => latestSum(await c.points('kdrop.packet.drops'), (a) => a['kdrop.netns.inode'] === String(ns!.inode));
    let got = 0;
    assert.ok(await waitFor(async () => (got = await total()) === sent, 60_000, 500), `collector total after recovery ${got}, made ${sent}`);
    await ns.sendUdp(23, { family: 4, port: 9 });
    sent += 23;
    assert.ok(await waitFor(async () => (got = await total()) === sent, 60_000, 500), `collector total after more drops ${got}, made ${sent}`);
    assert.equal(promSum(await scrape(), 'kdrop_packet_drops_total', inode), sent);
    assert.equal(await agent.stop(), 0);
  } finally {
    await agent?.stop('SIGKILL');
    await col?.stop();
    await ns?.remove();
  }
});
