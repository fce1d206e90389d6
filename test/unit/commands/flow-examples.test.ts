import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExampleBook } from '../../../src/commands/flow-examples.js';
import type { DescribedSample } from '../../../src/vocabulary/flow-sample.js';

function sample(srcPort: number, over: Partial<DescribedSample> = {}): DescribedSample {
  return {
    time: new Date(0),
    address: 0xffffffff81000000n,
    reasonCode: 3,
    protocol: 2048,
    netns: 42,
    flow: { family: 4, transport: 17, srcAddr: '10.0.0.5', srcPort, dstAddr: '10.0.0.7', dstPort: 53, tcpFlags: null, icmpType: null, icmpCode: null },
    ifindex: 2,
    ifname: 'eth0',
    len: 40,
    stack: null,
    suppressed: 0,
    function: '__udp4_lib_rcv',
    offset: 0x4bc,
    location: '__udp4_lib_rcv+0x4bc',
    module: null,
    reason: 'NO_SOCKET',
    networkType: 'ipv4',
    owner: { scope: 'netns', namespace: null, pod: null, podUid: null },
    stackText: null,
    ...over,
  };
}

test('latest distinct examples per key, at most perKey; the rest of the count is "more"', () => {
  const book = new ExampleBook(3);
  for (const p of [1, 2, 1, 3, 4]) book.add(sample(p));
  book.add(sample(9, { netns: 43 }));
  const ex = book.take(sample(0), 10);
  assert.deepEqual(
    ex?.examples.map((s) => s.flow.srcPort),
    [4, 3, 1],
  );
  assert.equal(ex?.more, 7);
  assert.equal(book.take(sample(0), 10), null, 'taken examples are forgotten');
  assert.equal(book.take(sample(0, { netns: 43 }), 1)?.more, 0);
});

test('bounded: old books expire, and a full book drops its least recently updated key', () => {
  const book = new ExampleBook(3, 2, 1000);
  book.add(sample(1, { netns: 1 }), 0);
  book.add(sample(1, { netns: 2 }), 10);
  book.add(sample(1, { netns: 3 }), 20);
  assert.equal(book.size, 2);
  assert.equal(book.take(sample(0, { netns: 1 }), 1), null);
  book.expire(5000);
  assert.equal(book.size, 0);
});
