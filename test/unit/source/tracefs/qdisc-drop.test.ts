/**
 * qdisc:qdisc_drop joined with skb:kfree_skb in the tracefs source: this kernel (6.18) lacks the event,
 * so it is tested on a reconstructed format (test/fixtures/tracefs/README.md) and synthetic records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { ErrorCodes, isKdropError, KdropError } from '../../../../src/errors.js';
import { parseFormat } from '../../../../src/kernel/format.js';
import { QdiscReasonJoin, qdiscDropCode, qdiscDropLayout } from '../../../../src/source/tracefs/qdisc-drop.js';
import { recordLayout } from '../../../../src/source/tracefs/record-layout.js';
import { TracefsSource } from '../../../../src/source/tracefs/tracefs-source.js';
import { readRecord } from '../../../../src/source/tracefs/read-record.js';
import { describeReason } from '../../../../src/enrich/describe.js';
import { reasonClass } from '../../../../src/enrich/reason-catalog.js';
import { fixtureText } from './local-format.js';

const LE = endianness() === 'LE';
const kfree = parseFormat(fixtureText('kfree_skb-format-6.18.txt'));
const qdiscFormat = parseFormat(fixtureText('qdisc_drop-format-reconstructed.txt'));
const QDISC_DROP = qdiscDropCode(kfree.reasons)!;
const NO_SOCKET = [...kfree.reasons].find(([, n]) => n === 'NO_SOCKET')![0];
const OVERLIMIT = (3 << 16) | 2;

function kfreeRecord(skb: bigint, location: bigint, reason: number): Uint8Array {
  const l = recordLayout(kfree);
  const b = new DataView(new ArrayBuffer(l.minSize));
  b.setUint16(0, kfree.id, LE);
  b.setBigUint64(l.skbaddr!.offset, skb, LE);
  b.setBigUint64(l.location.offset, location, LE);
  b.setUint16(l.protocol.offset, 0x0800, LE);
  b.setUint32(l.reason!.offset, reason, LE);
  return new Uint8Array(b.buffer);
}

function qdiscRecord(skb: bigint, reason: number): Uint8Array {
  const b = new DataView(new ArrayBuffer(52));
  b.setUint16(0, qdiscFormat.id, LE);
  b.setBigUint64(24, skb, LE);
  b.setUint32(44, reason, LE);
  return new Uint8Array(b.buffer);
}

test('qdiscDropLayout finds skbaddr and reason by name; refuses a format without them', () => {
  const l = qdiscDropLayout(qdiscFormat);
  assert.deepEqual(l, { eventId: 1702, skbaddr: { offset: 24, size: 8 }, reason: { offset: 44, size: 4 }, minSize: 48 });
  const noReason = { ...qdiscFormat, fields: qdiscFormat.fields.filter((f) => f.name !== 'reason') };
  assert.throws(() => qdiscDropLayout(noReason), (err: unknown) => isKdropError(err, ErrorCodes.FORMAT_PARSE) && /no usable field "reason"/.test(err.message));
  assert.equal(QDISC_DROP, 64, 'QDISC_DROP on 6.18');
});

test('QdiscReasonJoin: the next kfree_skb of the same skb on the same CPU with QDISC_DROP gets the qdisc reason, once', () => {
  const j = new QdiscReasonJoin(QDISC_DROP);
  j.noteQdiscDrop(0, { skbaddr: 0xaaan, reason: OVERLIMIT });
  assert.equal(j.reasonFor(1, 0xaaan, QDISC_DROP), QDISC_DROP, 'another CPU');
  assert.equal(j.reasonFor(0, 0xaaan, NO_SOCKET), NO_SOCKET, 'another reason passes through and keeps the pending drop');
  assert.equal(j.reasonFor(0, 0xaaan, QDISC_DROP), OVERLIMIT);
  assert.equal(j.reasonFor(0, 0xaaan, QDISC_DROP), QDISC_DROP, 'used once');
  j.noteQdiscDrop(0, { skbaddr: 0xbbbn, reason: OVERLIMIT });
  assert.equal(j.reasonFor(0, 0xcccn, QDISC_DROP), QDISC_DROP, 'another skb');
  assert.equal(j.reasonFor(0, 0xbbbn, QDISC_DROP), QDISC_DROP, 'the pending drop was dropped at the mismatch');
  assert.equal(j.reasonFor(0, null, QDISC_DROP), QDISC_DROP);
  assert.equal(j.joined, 1);
});

test('readRecord: a qdisc_drop record then its kfree_skb count once, under the qdisc reason; other drops unchanged', () => {
  const qdisc = { layout: qdiscDropLayout(qdiscFormat), join: new QdiscReasonJoin(QDISC_DROP) };
  const layout = recordLayout(kfree);
  const loc = 0xffffffff82000010n;
  assert.equal(readRecord(qdiscRecord(0x1000n, OVERLIMIT), 0, layout, qdisc, LE), null);
  const joined = readRecord(kfreeRecord(0x1000n, loc, QDISC_DROP), 0, layout, qdisc, LE);
  assert.ok(joined !== null && !(joined instanceof KdropError));
  assert.deepEqual(joined, { address: loc, reasonCode: OVERLIMIT, protocol: 0x0800 });
  const plain = readRecord(kfreeRecord(0x2000n, loc, NO_SOCKET), 0, layout, qdisc, LE);
  assert.equal((plain as { reasonCode: number }).reasonCode, NO_SOCKET);
  // Without the join (kernel without qdisc_drop) the same kfree_skb stays QDISC_DROP.
  assert.equal((readRecord(kfreeRecord(0x1000n, loc, QDISC_DROP), 0, layout, null, LE) as { reasonCode: number }).reasonCode, QDISC_DROP);
  // A truncated qdisc_drop record is a bad record, not a drop.
  assert.ok(readRecord(qdiscRecord(0x1000n, OVERLIMIT).subarray(0, 30), 0, layout, qdisc, LE) instanceof KdropError);
  // The joined code is named from the kernel's BTF subsystem table and classed congestion.
  const names = new Map([...kfree.reasons, [OVERLIMIT, 'QDISC_DROP_OVERLIMIT']]);
  assert.equal(describeReason(names, OVERLIMIT), 'QDISC_DROP_OVERLIMIT');
  assert.equal(reasonClass('QDISC_DROP_OVERLIMIT'), 'congestion');
});

test('TracefsSource joins qdisc reasons only where it can', () => {
  const dir = '/nonexistent-tracefs';
  assert.equal(new TracefsSource({ tracefsDir: dir, format: kfree, qdiscDropFormat: qdiscFormat }).qdiscReasons, true);
  assert.equal(new TracefsSource({ tracefsDir: dir, format: kfree }).qdiscReasons, false, 'no qdisc_drop event (6.18)');
  const old = parseFormat(fixtureText('kfree_skb-format-6.1.txt'));
  assert.equal(new TracefsSource({ tracefsDir: dir, format: old, qdiscDropFormat: qdiscFormat }).qdiscReasons, false, 'no skbaddr join target without QDISC_DROP in the table');
  const bad = { ...qdiscFormat, fields: qdiscFormat.fields.filter((f) => f.name !== 'skbaddr') };
  assert.equal(new TracefsSource({ tracefsDir: dir, format: kfree, qdiscDropFormat: bad }).qdiscReasons, false);
});
