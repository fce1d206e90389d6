/**
 * End to end: a real OpenTelemetry Collector (OTLP receiver, file exporter; built by
 * scripts/tools/otelcol.sh) receives the agent's OTLP push, over http/protobuf and over gRPC; the file
 * exporter's JSON must hold exactly N drops for the test netns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';
import { agentSkipReason, firstInterval, startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { latestSum, otelcolSkipReason, startCollector, type Collector } from './helpers/otelcol.js';

const skip = (await agentSkipReason()) ?? (await otelcolSkipReason());
const N = 89;

for (const protocol of ['http/protobuf', 'grpc'] as const) {
  test(`OTLP ${protocol} to a real collector: exactly N drops for the test netns, with the resource`, { skip: skip ?? false, timeout: 240_000 }, async () => {
    let ns: TestNetns | undefined;
    let agent: AgentProcess | undefined;
    let col: Collector | undefined;
    try {
      ns = await createNetns('kdropotlp');
      col = await startCollector();
      // http/protobuf through the flags; grpc through the standard OTEL_* variables.
      const args = ['--metrics-address', 'off', '--interval', '1s', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace'];
      const env: NodeJS.ProcessEnv = { NODE_NAME: 'e2e-node', OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=e2e' };
      if (protocol === 'http/protobuf') args.push('--otlp-endpoint', col.httpEndpoint, '--otlp-protocol', 'http/protobuf');
      else Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: col.grpcEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
      agent = await startAgentProcess(args, env);
      await firstInterval(agent);
      await ns.sendUdp(N);
      const inode = String(ns.inode);
      const c = col;
      let got = 0;
      await waitFor(async () => (got = latestSum(await c.points('kdrop.packet.drops'), (a) => a['kdrop.netns.inode'] === inode && a['kdrop.reason'] === 'NO_SOCKET')) === N, 90_000, 500);
      assert.equal(got, N, `collector total; agent output:\n${agent.child.tail(20)}`);
      const points = (await col.points('kdrop.packet.drops')).filter((p) => p.attributes['kdrop.netns.inode'] === inode);
      const p = points.at(-1);
      assert.ok(p);
      assert.equal(p.attributes['kdrop.function'], dropFunction('udp4'));
      assert.equal(p.attributes['network.type'], 'ipv4');
      assert.equal(p.resource['service.name'], 'kdrop');
      assert.equal(p.resource['k8s.node.name'], 'e2e-node');
      assert.equal(p.resource['k8s.cluster.name'], 'e2e');
      assert.ok(p.resource['host.name']);
      assert.ok(p.startTimeUnixNano > 0n && p.startTimeUnixNano < p.timeUnixNano, 'cumulative: start time before the point');
      assert.ok((await col.points('kdrop.tracer.lost_events')).length > 0, 'self-metrics pushed too');
      const code = await agent.stop();
      assert.equal(code, 0, `agent exit code after SIGTERM; agent output:\n${agent.child.tail(30)}`);
    } finally {
      await agent?.stop('SIGKILL');
      await col?.stop();
      await ns?.remove();
    }
  });
}
