import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFlow, tcpFlagsText, transportName, type Flow } from '../../../src/vocabulary/flow-sample.js';
import { buildFlowFilter } from '../../../src/aggregate/flow-filter.js';
import { trimStack } from '../../../src/enrich/describe-sample.js';

const udp: Flow = { family: 4, transport: 17, srcAddr: '10.0.0.5', srcPort: 41234, dstAddr: '10.0.0.7', dstPort: 53, tcpFlags: null, icmpType: null, icmpCode: null };
const syn6: Flow = { family: 6, transport: 6, srcAddr: '::1', srcPort: 5000, dstAddr: '::1', dstPort: 80, tcpFlags: 0x02, icmpType: null, icmpCode: null };
const echo: Flow = { family: 4, transport: 1, srcAddr: '10.0.0.1', srcPort: null, dstAddr: '10.0.0.2', dstPort: null, tcpFlags: null, icmpType: 8, icmpCode: 0 };

test('formatFlow: udp, tcp over IPv6 with flags, icmp type/code, non-IP', () => {
  assert.equal(formatFlow(udp), 'udp 10.0.0.5:41234 -> 10.0.0.7:53');
  assert.equal(formatFlow(syn6), 'tcp [::1]:5000 -> [::1]:80 SYN');
  assert.equal(formatFlow(echo), 'icmp 10.0.0.1 -> 10.0.0.2 type 8/0');
  assert.equal(formatFlow({ ...udp, family: null, transport: null }), 'non-IP');
  assert.equal(tcpFlagsText(0x12), 'SYN|ACK');
  assert.equal(tcpFlagsText(0), 'none');
  assert.equal(transportName(47), '47');
  assert.equal(transportName(null), null);
});

test('flow filter: --proto by name or number, --port either side, --host either side in any IPv6 spelling', () => {
  const f = (spec: Partial<Parameters<typeof buildFlowFilter>[0]>) => buildFlowFilter({ protos: [], ports: [], hosts: [], ...spec });
  assert.equal(f({})(udp), true);
  assert.equal(f({ protos: ['UDP'] })(udp), true);
  assert.equal(f({ protos: ['17'] })(udp), true);
  assert.equal(f({ protos: ['tcp'] })(udp), false);
  assert.equal(f({ ports: [53] })(udp), true);
  assert.equal(f({ ports: [41234] })(udp), true);
  assert.equal(f({ ports: [80] })(udp), false);
  assert.equal(f({ ports: [0] })(echo), false);
  assert.equal(f({ hosts: ['10.0.0.7'] })(udp), true);
  assert.equal(f({ hosts: ['0:0:0:0:0:0:0:1'] })(syn6), true);
  assert.equal(f({ hosts: ['10.0.0.9'] })(udp), false);
  assert.equal(f({ protos: ['udp'], ports: [53], hosts: ['10.0.0.9'] })(udp), false);
});

test('trimStack starts at the drop location, or keeps the stack when the location is not in it', () => {
  assert.deepEqual(trimStack([1n, 2n, 3n, 4n], 3n), [3n, 4n]);
  assert.deepEqual(trimStack([1n, 2n], 9n), [1n, 2n]);
});
