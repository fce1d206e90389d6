import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KdropError } from '../../../../src/errors.js';
import { parseRawRecord, parseTraceLine, reasonCodesByName, reasonFromText, textContext, type TraceLine } from '../../../../src/source/tracefs/parse.js';
import { recordLayout } from '../../../../src/source/tracefs/record-layout.js';
import { fixtureFormat, fixtureText } from './local-format.js';

const UDP4 = 0xffffffff82046f4cn; // __udp4_lib_rcv+0x4bc on the fixture's boot
const UDP6 = 0xffffffff82107981n; // __udp6_lib_rcv+0xe1

function drop(r: TraceLine | KdropError): { address: bigint; reasonCode: number | null; reasonName: string | null; protocol: number } {
  if (r instanceof KdropError) assert.fail(`unexpected error: ${r.message}`);
  assert.equal(r.kind, 'drop');
  if (r.kind !== 'drop') throw new Error('unreachable');
  return { address: r.address, reasonCode: r.reasonCode, reasonName: r.reasonName, protocol: r.protocol };
}

function error(r: TraceLine | KdropError): KdropError {
  assert.ok(r instanceof KdropError, `expected an error, got ${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
  assert.equal(r.code, 'KDROP_E_TRACER_OUTPUT');
  return r;
}

test('6.18 with the fields option: exact address, protocol and reason code from the decimals', () => {
  const ctx = textContext(fixtureFormat('6.18'));
  const lines = fixtureText('trace-6.18-fields.txt').split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 5);
  const parsed = lines.map((l) => drop(parseTraceLine(l, ctx)));
  assert.deepEqual(parsed.slice(0, 3), Array(3).fill({ address: UDP4, reasonCode: 3, reasonName: null, protocol: 2048 }));
  assert.deepEqual(parsed.slice(3), Array(2).fill({ address: UDP6, reasonCode: 3, reasonName: null, protocol: 0x86dd }));
});

test('6.18 default text: %pS location has no address and is reported as TRACER_OUTPUT', () => {
  const ctx = textContext(fixtureFormat('6.18'));
  const line = fixtureText('trace-6.18.txt').split('\n')[0] ?? '';
  assert.match(line, /location=__udp4_lib_rcv\+0x4bc\/0xd00 reason: NO_SOCKET/);
  const e = error(parseTraceLine(line, ctx));
  assert.match(e.message, /symbol/);
  assert.match(e.message, /fields|trace_pipe_raw/);
});

test('6.1 style (%p with hash-ptr 0): raw address, reason name mapped with that kernel\'s own numbering', () => {
  const ctx = textContext(fixtureFormat('6.1'));
  const line = '          <idle>-0       [001] ..s2.  1234.567890: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048 location=ffffffff81b2c4de reason: NO_SOCKET';
  assert.deepEqual(drop(parseTraceLine(line, ctx)), { address: 0xffffffff81b2c4den, reasonCode: 2, reasonName: null, protocol: 2048 });
  const with0x = 'nc-812 [000] .... 10.0: kfree_skb: skbaddr=0xffff8881093f6e00 protocol=34525 location=0xffffffffc0a81234 reason: NETFILTER_DROP';
  assert.deepEqual(drop(parseTraceLine(with0x, ctx)), { address: 0xffffffffc0a81234n, reasonCode: 7, reasonName: null, protocol: 34525 });
});

test('6.1 style: a reason name missing from the table is kept as a name with a null code', () => {
  const ctx = textContext(fixtureFormat('6.1'));
  const line = 'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048 location=ffffffff81b2c4de reason: BRAND_NEW_REASON';
  assert.deepEqual(drop(parseTraceLine(line, ctx)), { address: 0xffffffff81b2c4den, reasonCode: null, reasonName: 'BRAND_NEW_REASON', protocol: 2048 });
  // __print_symbolic prints an unknown value as hex: that is a code.
  const hex = 'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048 location=ffffffff81b2c4de reason: 0x81';
  assert.equal(drop(parseTraceLine(hex, ctx)).reasonCode, 0x81);
});

test('5.15 style (no reason field): reasonCode null', () => {
  const ctx = textContext(fixtureFormat('5.15'));
  const line = '    ksoftirqd/1-18      [001] ..s1  8110.203310: kfree_skb: skbaddr=ffff9d3c4a8e1500 protocol=2048 location=ffffffff9a6f5c2b';
  assert.deepEqual(drop(parseTraceLine(line, ctx)), { address: 0xffffffff9a6f5c2bn, reasonCode: null, reasonName: null, protocol: 2048 });
});

test('a task name with spaces and a record-tgid column still parse', () => {
  const ctx = textContext(fixtureFormat('6.1'));
  const line = ' Web Content-4242  (  4200) [003] d.s1.  99.000001: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048 location=ffffffff81b2c4de reason: NO_SOCKET';
  assert.equal(drop(parseTraceLine(line, ctx)).reasonCode, 2);
});

test('hashed pointers (hash-ptr on, or kernels before 5.12) are rejected with a hint', () => {
  const ctx = textContext(fixtureFormat('6.1'));
  const line = 'x-1 [000] .... 1.0: kfree_skb: skbaddr=00000000f6688d2f protocol=2048 location=000000003a0c1d2e reason: NO_SOCKET';
  const e = error(parseTraceLine(line, ctx));
  assert.match(e.message, /hashed/);
  assert.match(e.message, /hash-ptr/);
});

test('LOST lines are counted as lost events', () => {
  const ctx = textContext(fixtureFormat('6.18'));
  assert.deepEqual(parseTraceLine('CPU:1 [LOST 1234 EVENTS]', ctx), { kind: 'lost', cpu: 1, count: 1234 });
  assert.deepEqual(parseTraceLine('CPU:0 [LOST 1 EVENTS]\n', ctx), { kind: 'lost', cpu: 0, count: 1 });
});

test('comments, blank lines and other events are "other"', () => {
  const ctx = textContext(fixtureFormat('6.18'));
  for (const line of [
    '',
    '   ',
    '# tracer: nop',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '          <idle>-0       [000] d.h1.  100.0: consume_skb: skbaddr=000000003a0c1d2e location=net_rx_action+0x1/0x2',
    '            bash-1       [001] .....  100.0: sched_process_exit: comm=bash pid=1 prio=120',
  ]) {
    assert.deepEqual(parseTraceLine(line, ctx), { kind: 'other' }, line);
  }
});

test('malformed lines are TRACER_OUTPUT errors, never thrown', () => {
  const ctx = textContext(fixtureFormat('6.1'));
  const cases = [
    'garbage',
    'CPU:1 [LOST many EVENTS]',
    'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048',
    'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 location=ffffffff81b2c4de reason: NO_SOCKET',
    'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=99999 location=ffffffff81b2c4de reason: NO_SOCKET',
    'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=abc location=ffffffff81b2c4de reason: NO_SOCKET',
    'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048 location=ffffffff81b2c4de00 reason: NO_SOCKET',
    'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048 location=(____ptrval____) reason: NO_SOCKET',
    'x-1 [000] .... 1.0: kfree_skb: skbaddr=ffff8881093f6e00 protocol=2048 location=ffffffff81b2c4de reason: ',
  ];
  for (const line of cases) error(parseTraceLine(line, ctx));
});

test('reason name <-> code comes from the format table, with or without the SKB_DROP_REASON_ prefix', () => {
  const f618 = fixtureFormat('6.18');
  const byName = reasonCodesByName(f618.reasons);
  assert.equal(byName.get('NO_SOCKET'), 3);
  assert.equal(byName.get('NETFILTER_DROP'), 12);
  assert.equal(byName.get('QUEUE_PURGE'), 104);
  assert.deepEqual(reasonFromText('SKB_DROP_REASON_NO_SOCKET', byName), { code: 3, name: null });
  assert.deepEqual(reasonFromText('NOT_A_REASON', byName), { code: null, name: 'NOT_A_REASON' });
  assert.deepEqual(reasonFromText('12', byName), { code: 12, name: null });
  // Another kernel, other numbers: never a hard-coded table.
  assert.equal(reasonCodesByName(fixtureFormat('6.1').reasons).get('NO_SOCKET'), 2);
});

function record(size: number, id: number, fields: { offset: number; size: number; value: bigint }[]): Uint8Array {
  const buf = Buffer.alloc(size);
  buf.writeUInt16LE(id, 0);
  for (const f of fields) {
    if (f.size === 8) buf.writeBigUInt64LE(f.value, f.offset);
    else if (f.size === 4) buf.writeUInt32LE(Number(f.value), f.offset);
    else buf.writeUInt16LE(Number(f.value), f.offset);
  }
  return buf;
}

test('raw records: fields at each kernel\'s own offsets', () => {
  const l618 = recordLayout(fixtureFormat('6.18'));
  const r618 = record(40, 2310, [
    { offset: 16, size: 8, value: UDP4 },
    { offset: 32, size: 2, value: 2048n },
    { offset: 36, size: 4, value: 3n },
  ]);
  assert.deepEqual(parseRawRecord(r618, l618, true), { kind: 'drop', address: UDP4, reasonCode: 3, reasonName: null, protocol: 2048 });
  const l61 = recordLayout(fixtureFormat('6.1'));
  const r61 = record(32, 1489, [
    { offset: 16, size: 8, value: UDP6 },
    { offset: 24, size: 2, value: 0x86ddn },
    { offset: 28, size: 4, value: 7n },
  ]);
  assert.deepEqual(parseRawRecord(r61, l61, true), { kind: 'drop', address: UDP6, reasonCode: 7, reasonName: null, protocol: 0x86dd });
  const l515 = recordLayout(fixtureFormat('5.15'));
  assert.equal(l515.reason, null);
  const r515 = record(28, 1350, [
    { offset: 16, size: 8, value: UDP4 },
    { offset: 24, size: 2, value: 2048n },
  ]);
  assert.deepEqual(parseRawRecord(r515, l515, true), { kind: 'drop', address: UDP4, reasonCode: null, reasonName: null, protocol: 2048 });
});

test('raw records: big-endian layout reads the same values', () => {
  const layout = recordLayout(fixtureFormat('6.18'));
  const buf = Buffer.alloc(40);
  buf.writeUInt16BE(2310, 0);
  buf.writeBigUInt64BE(UDP4, 16);
  buf.writeUInt16BE(2048, 32);
  buf.writeUInt32BE(12, 36);
  assert.deepEqual(parseRawRecord(buf, layout, false), { kind: 'drop', address: UDP4, reasonCode: 12, reasonName: null, protocol: 2048 });
});

test('raw records: too short or of another event are TRACER_OUTPUT errors', () => {
  const layout = recordLayout(fixtureFormat('6.18'));
  const short = parseRawRecord(Buffer.alloc(20), layout, true);
  assert.ok(short instanceof KdropError && short.code === 'KDROP_E_TRACER_OUTPUT');
  assert.match(short.message, /at least 40 bytes/);
  const other = parseRawRecord(record(40, 9999, []), layout, true);
  assert.ok(other instanceof KdropError && other.code === 'KDROP_E_TRACER_OUTPUT');
  assert.match(other.message, /event id 9999/);
});

test('recordLayout refuses a format without location or protocol', () => {
  const f = fixtureFormat('6.18');
  assert.throws(() => recordLayout({ ...f, fields: f.fields.filter((x) => x.name !== 'location') }), { code: 'KDROP_E_FORMAT_PARSE' });
  assert.throws(() => recordLayout({ ...f, fields: f.fields.map((x) => (x.name === 'protocol' ? { ...x, size: 3 } : x)) }), { code: 'KDROP_E_FORMAT_PARSE' });
});
