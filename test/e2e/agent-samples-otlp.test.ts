/**
 * End to end: `kdrop agent --samples otlp` with the bpf source sends sampled drops to a real
 * OpenTelemetry Collector (OTLP receiver with a logs pipeline, file exporter) as log records carrying the
 * flow under semantic-convention attribute names; the flow never becomes a metric label.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';
import { probeSkipReason } from '../helpers/probe.js';
import { firstInterval, startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { otelcolSkipReason, startCollector, type Collector, type OtlpLogRecord } from './helpers/otelcol.js';

const skip = probeSkipReason() ?? (await otelcolSkipReason());
const sender = fileURLToPath(new URL('../helpers/flow-sender.js', import.meta.url));

for (const protocol of ['http/protobuf', 'grpc'] as const) {
  test(`--samples otlp (${protocol}): a sampled UDP drop arrives as a log record with the flow, pod/netns, reason and function`, { skip: skip ?? false, timeout: 180_000 }, async () => {
    let ns: TestNetns | undefined;
    let agent: AgentProcess | undefined;
    let col: Collector | undefined;
    try {
      ns = await createNetns('kdropsmpotlp');
      col = await startCollector();
      const endpoint = protocol === 'grpc' ? col.grpcEndpoint : col.httpEndpoint;
      const args = ['--metrics-address', 'off', '--interval', '1s', '--source', 'bpf', '--samples', 'otlp', '--sample-stacks', '--otlp-endpoint', endpoint, '--otlp-protocol', protocol];
      agent = await startAgentProcess(args, { OTEL_METRIC_EXPORT_INTERVAL: '1000' });
      await firstInterval(agent);
      await ns.exec([process.execPath, sender, 'udp', '4', '40611', '9', '4', '12']);
      const inode = String(ns.inode);
      const c = col;
      let mine: OtlpLogRecord[] = [];
      await waitFor(async () => (mine = (await c.logRecords()).filter((r) => r.attributes['kdrop.netns.inode'] === inode)).length >= 3, 60_000, 500);
      assert.equal(mine.length, 3, `burst 3 of 4 datagrams; agent output:\n${agent.child.tail(20)}`);
      const r = mine[0]!;
      assert.equal(r.eventName, 'kdrop.packet.drop.sample');
      assert.deepEqual(
        [
          r.attributes['source.address'],
          r.attributes['source.port'],
          r.attributes['destination.address'],
          r.attributes['destination.port'],
          r.attributes['network.transport'],
          r.attributes['network.type'],
          r.attributes['network.interface.name'],
          r.attributes['kdrop.reason'],
          r.attributes['kdrop.function'],
          r.attributes['kdrop.scope'],
        ],
        ['127.0.0.1', '40611', '127.0.0.1', '9', 'udp', 'ipv4', 'lo', 'NO_SOCKET', dropFunction('udp4'), 'netns'],
      );
      assert.match(r.attributes['kdrop.location'] ?? '', new RegExp(`^${dropFunction('udp4')}\\+0x[0-9a-f]+$`));
      assert.equal(r.arrays['kdrop.stack']?.[0], r.attributes['kdrop.location']);
      assert.equal(r.resource['service.name'], 'kdrop');
      // Counts still come as metrics, without any flow label.
      let points = await col.points('kdrop.packet.drops');
      await waitFor(async () => (points = await c.points('kdrop.packet.drops')).some((p) => p.attributes['kdrop.function'] === dropFunction('udp4')), 30_000, 500);
      assert.ok(points.length > 0, 'drop metrics pushed too');
      assert.ok(points.every((p) => !('source.port' in p.attributes) && !('source.address' in p.attributes)), 'no flow attribute on a metric');
      assert.equal(await agent.stop(), 0);
    } finally {
      await agent?.stop('SIGKILL');
      await col?.stop();
      await ns?.remove();
    }
  });
}
