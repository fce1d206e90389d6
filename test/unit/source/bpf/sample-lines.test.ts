import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../../src/errors.js';
import { parseProbeLine } from '../../../../src/source/bpf/index.js';
import { SampleHub } from '../../../../src/source/bpf/sample-hub.js';
import type { SampleLine, StackLine } from '../../../../src/source/bpf/sample-lines.js';
import type { FlowSample } from '../../../../src/vocabulary/flow-sample.js';

const UDP4 = 'S 3373929185850 ffffffff82046f4c 3 2048 4026532330 17 127.0.0.1 41234 127.0.0.1 9 0 0 0 1 lo 18 -1 4';

test('S line: UDP over IPv4 with ports and interface', () => {
  assert.deepEqual(parseProbeLine(UDP4), {
    kind: 'sample',
    ktimeNs: 3373929185850n,
    address: 0xffffffff82046f4cn,
    reasonCode: 3,
    protocol: 2048,
    netns: 4026532330,
    flow: { family: 4, transport: 17, srcAddr: '127.0.0.1', srcPort: 41234, dstAddr: '127.0.0.1', dstPort: 9, tcpFlags: null, icmpType: null, icmpCode: null },
    ifindex: 1,
    ifname: 'lo',
    len: 18,
    stackId: -1,
    suppressed: 4,
  });
});

test('S line: TCP flags, ICMPv6 type/code, and a packet without IP header', () => {
  const tcp = parseProbeLine('S 1 ffffffff82033a51 3 2048 4026532330 6 127.0.0.1 51140 127.0.0.1 7 2 0 0 1 lo 40 809 0') as SampleLine;
  assert.equal(tcp.flow.tcpFlags, 2);
  assert.equal(tcp.flow.dstPort, 7);
  assert.equal(tcp.stackId, 809);
  const icmp6 = parseProbeLine('S 1 ffffffff81f63638 12 34525 4026531833 58 fe80::94ba:cdff:fe4e:550b 0 ff02::2 0 0 133 0 39 veth0 56 -1 0') as SampleLine;
  assert.deepEqual(icmp6.flow, { family: 6, transport: 58, srcAddr: 'fe80::94ba:cdff:fe4e:550b', srcPort: null, dstAddr: 'ff02::2', dstPort: null, tcpFlags: null, icmpType: 133, icmpCode: 0 });
  const none = parseProbeLine('S 1 ffffffff820c879a 4 0 4026531833 0 - 0 - 0 0 0 0 0 - 10 -1 0') as SampleLine;
  assert.deepEqual(none.flow, { family: null, transport: null, srcAddr: null, srcPort: null, dstAddr: null, dstPort: null, tcpFlags: null, icmpType: null, icmpCode: null });
  assert.equal(none.ifname, null);
});

test('K line: stack id and frames', () => {
  assert.deepEqual(parseProbeLine('K 62 ffffffffc000cfe1 ffffffff814b896c'), { kind: 'stack', stackId: 62, addresses: [0xffffffffc000cfe1n, 0xffffffff814b896cn] });
  assert.deepEqual(parseProbeLine('K 5'), { kind: 'stack', stackId: 5, addresses: [] });
});

test('malformed S and K lines are TRACER_OUTPUT errors', () => {
  const fields = UDP4.split(' ');
  const swap = (i: number, v: string): string => fields.map((f, j) => (j === i ? v : f)).join(' ');
  for (const line of [
    fields.slice(0, -1).join(' '), // cut short
    `${UDP4} 0`, // one too many
    swap(1, '-5'),
    swap(2, 'xyz'),
    swap(6, '256'),
    swap(7, '300.0.0.1'),
    swap(7, '::1'), // families differ
    swap(8, '65536'),
    swap(15, 'a'.repeat(16)),
    swap(15, ''),
    swap(17, '1.5'),
    swap(18, '-1'),
    'K',
    'K -1 ff',
    'K 3 zz',
    `K 1 ${'ff '.repeat(200)}`,
  ]) {
    assert.throws(
      () => parseProbeLine(line),
      (e: unknown) => isKdropError(e) && e.code === ErrorCodes.TRACER_OUTPUT,
      line,
    );
  }
});

test('SampleHub: pairs a sample with the last K line of its id, converts ktime to wall time, reason off without the field', () => {
  const hub = new SampleHub(false);
  const got: FlowSample[] = [];
  hub.subscribe((s) => got.push(s));
  hub.stack(parseProbeLine('K 9 ffffffff81000010 ffffffff81000020') as StackLine);
  const s = parseProbeLine('S 5000000000 ffffffff81000020 3 2048 0 17 10.0.0.5 41234 10.0.0.7 53 0 0 0 0 - 30 9 2') as SampleLine;
  hub.sample(s, 1_000_000, 5_250_000_000n); // the drop was 250 ms ago
  // The same id again without a K line (the loader deleted it after the first): the remembered stack.
  hub.sample(s, 1_000_000, 5_000_000_000n);
  assert.equal(got.length, 2);
  assert.equal(got[0]!.time.getTime(), 1_000_000 - 250);
  assert.deepEqual(got[0]!.stack, [0xffffffff81000010n, 0xffffffff81000020n]);
  assert.deepEqual(got[1]!.stack, got[0]!.stack);
  assert.equal(got[0]!.reasonCode, null);
  assert.equal(got[0]!.netns, null);
  assert.equal(got[0]!.ifindex, null);
  assert.equal(got[0]!.suppressed, 2);
  hub.end({ samples: 2, suppressed: 10, rbFail: 1, stackFail: 0 });
  assert.deepEqual(hub.stats(), { emitted: 2, suppressed: 10, ringFull: 1, stackFailed: 0, received: 2 });
});
