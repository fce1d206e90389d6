import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KdropError } from '../../../../src/errors.js';
import { parseRawRecord } from '../../../../src/source/tracefs/parse.js';
import { recordLayout } from '../../../../src/source/tracefs/record-layout.js';
import { fixtureFormat } from './local-format.js';

const UDP4 = 0xffffffff82046f4cn; // __udp4_lib_rcv+0x4bc on the fixture's boot
const UDP6 = 0xffffffff82107981n; // __udp6_lib_rcv+0xe1

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
  assert.deepEqual(parseRawRecord(r618, l618, true), { address: UDP4, reasonCode: 3, protocol: 2048 });
  const l61 = recordLayout(fixtureFormat('6.1'));
  const r61 = record(32, 1489, [
    { offset: 16, size: 8, value: UDP6 },
    { offset: 24, size: 2, value: 0x86ddn },
    { offset: 28, size: 4, value: 7n },
  ]);
  assert.deepEqual(parseRawRecord(r61, l61, true), { address: UDP6, reasonCode: 7, protocol: 0x86dd });
  const l515 = recordLayout(fixtureFormat('5.15'));
  assert.equal(l515.reason, null);
  const r515 = record(28, 1350, [
    { offset: 16, size: 8, value: UDP4 },
    { offset: 24, size: 2, value: 2048n },
  ]);
  assert.deepEqual(parseRawRecord(r515, l515, true), { address: UDP4, reasonCode: null, protocol: 2048 });
});

test('raw records: big-endian layout reads the same values', () => {
  const layout = recordLayout(fixtureFormat('6.18'));
  const buf = Buffer.alloc(40);
  buf.writeUInt16BE(2310, 0);
  buf.writeBigUInt64BE(UDP4, 16);
  buf.writeUInt16BE(2048, 32);
  buf.writeUInt32BE(12, 36);
  assert.deepEqual(parseRawRecord(buf, layout, false), { address: UDP4, reasonCode: 12, protocol: 2048 });
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
