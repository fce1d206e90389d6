import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runTrace } from '../../../src/commands/trace.js';
import { buildFilter } from '../../../src/aggregate/filter.js';
import { buildFlowFilter } from '../../../src/aggregate/flow-filter.js';
import type { DescribedSample, FlowSample } from '../../../src/vocabulary/flow-sample.js';

function sample(dstPort: number, reason: string): DescribedSample {
  return {
    time: new Date('2026-11-29T16:00:00.000Z'),
    address: 0xffffffff81000000n,
    reasonCode: 3,
    protocol: 2048,
    netns: 7,
    flow: { family: 4, transport: 17, srcAddr: '10.0.0.5', srcPort: 1000, dstAddr: '10.0.0.7', dstPort, tcpFlags: null, icmpType: null, icmpCode: null },
    ifindex: null,
    ifname: null,
    len: 30,
    stack: [0xffffffff81000000n],
    suppressed: 0,
    function: 'f',
    offset: 0,
    location: 'f+0x0',
    module: null,
    reason,
    networkType: 'ipv4',
    owner: { scope: 'netns', namespace: null, pod: null, podUid: null },
    stackText: ['f+0x0', 'g+0x10'],
  };
}

test('runTrace: filters in Node, prints lines with the stack, stops after --count, stops and closes the source', async () => {
  let listener: ((s: FlowSample) => void) | undefined;
  let closed = false;
  let finished = false;
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const run = runTrace(
    {
      pipeline: { tick: () => Promise.reject(new Error('unused')), finish: async () => ((finished = true), undefined as never) },
      onSample: (l) => ((listener = l), () => (listener = undefined)),
      describe: (s) => s as DescribedSample,
      close: async () => {
        closed = true;
      },
    },
    { json: false, stack: true, count: 2, keep: buildFilter({ reasons: ['NO_SOCKET'], excludeReasons: [], functions: [], netns: [], all: false }), keepFlow: buildFlowFilter({ protos: [], ports: [53], hosts: [] }) },
    { out, signal: new AbortController().signal },
  );
  await new Promise((r) => setImmediate(r));
  listener!(sample(80, 'NO_SOCKET')); // port filtered
  listener!(sample(53, 'NETFILTER_DROP')); // reason filtered
  listener!(sample(53, 'NO_SOCKET'));
  listener!(sample(53, 'NO_SOCKET'));
  listener?.(sample(53, 'NO_SOCKET')); // after --count: not printed
  assert.equal(await run, 0);
  assert.equal(text, '16:00:00.000 netns 7 NO_SOCKET f+0x0 udp 10.0.0.5:1000 -> 10.0.0.7:53\n    f+0x0\n    g+0x10\n'.repeat(2));
  assert.ok(closed && finished);
  assert.equal(listener, undefined, 'unsubscribed');
});
