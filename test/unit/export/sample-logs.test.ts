import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { createSampleLogs, sampleAttributes } from '../../../src/export/sample-logs.js';
import { toTraceRecord, formatTraceLine } from '../../../src/export/sample-format.js';
import { SAMPLE_EVENT_NAME } from '../../../src/export/metric-names.js';
import type { DescribedSample } from '../../../src/vocabulary/flow-sample.js';

const S: DescribedSample = {
  time: new Date('2026-11-29T16:04:33.123Z'),
  address: 0xffffffff82046f4cn,
  reasonCode: 3,
  protocol: 2048,
  netns: 4026532330,
  flow: { family: 4, transport: 17, srcAddr: '10.0.0.5', srcPort: 41234, dstAddr: '10.0.0.7', dstPort: 53, tcpFlags: null, icmpType: null, icmpCode: null },
  ifindex: 2,
  ifname: 'eth0',
  len: 40,
  stack: [0xffffffff82046f4cn],
  suppressed: 3,
  function: '__udp4_lib_rcv',
  offset: 0x4bc,
  location: '__udp4_lib_rcv+0x4bc',
  module: null,
  reason: 'NO_SOCKET',
  networkType: 'ipv4',
  owner: { scope: 'pod', namespace: 'default', pod: 'web-0', podUid: 'u-1' },
  stackText: ['__udp4_lib_rcv+0x4bc'],
};

test('log record attributes: semantic-convention flow names, k8s and kdrop names, nulls left out', () => {
  assert.deepEqual(sampleAttributes(S), {
    'source.address': '10.0.0.5',
    'source.port': 41234,
    'destination.address': '10.0.0.7',
    'destination.port': 53,
    'network.transport': 'udp',
    'network.type': 'ipv4',
    'network.interface.name': 'eth0',
    'kdrop.interface.index': 2,
    'kdrop.packet.length': 40,
    'kdrop.samples.suppressed': 3,
    'kdrop.reason': 'NO_SOCKET',
    'kdrop.reason.class': 'error',
    'kdrop.function': '__udp4_lib_rcv',
    'kdrop.location': '__udp4_lib_rcv+0x4bc',
    'kdrop.scope': 'pod',
    'k8s.namespace.name': 'default',
    'k8s.pod.name': 'web-0',
    'k8s.pod.uid': 'u-1',
    'kdrop.netns.inode': '4026532330',
    'kdrop.stack': ['__udp4_lib_rcv+0x4bc'],
  });
});

test('records go through the SDK with the event name and body; at most maxPerS per second', async () => {
  const exporter = new InMemoryLogRecordExporter();
  const logs = await createSampleLogs({ resource: resourceFromAttributes({ 'service.name': 'kdrop' }), version: '0.0.0', protocol: 'http/protobuf', url: undefined, timeoutMs: 1000, maxPerS: 2, exporter });
  const t = Date.now();
  for (let i = 0; i < 5; i++) logs.emit(S, t);
  logs.emit(S, t + 1000); // a second later: one more token
  await logs.flush();
  const got = exporter.getFinishedLogRecords();
  assert.equal(got.length, 3);
  assert.deepEqual(logs.counts(), { emitted: 3, rateLimited: 3 });
  assert.equal(got[0]!.eventName, SAMPLE_EVENT_NAME);
  assert.equal(got[0]!.body, formatTraceLine(S));
  assert.equal(got[0]!.attributes['source.port'], 41234);
  await logs.shutdown();
});

test('trace record: the watch fields for one packet plus the flow', () => {
  const r = toTraceRecord(S);
  assert.equal(r.time, '2026-11-29T16:04:33.123Z');
  assert.equal(r.count, 1);
  assert.equal(r.bytes, 40);
  assert.equal(r.address, '0xffffffff82046f4c');
  assert.equal(r.offset, 0x4bc);
  assert.equal(r.reason_class, 'error');
  assert.equal(r.pod, 'web-0');
  assert.equal(r.transport, 'udp');
  assert.deepEqual(r.stack, ['__udp4_lib_rcv+0x4bc']);
  assert.equal(r.suppressed, 3);
  assert.equal(formatTraceLine(S), '16:04:33.123 pod default/web-0 NO_SOCKET __udp4_lib_rcv+0x4bc udp 10.0.0.5:41234 -> 10.0.0.7:53 on eth0 (+3 suppressed)');
});
