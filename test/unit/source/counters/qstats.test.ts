import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKdropError, ErrorCodes } from '../../../../src/errors.js';
import { CounterDeltas, QstatsReader, parseQstats, qstatsCounters, type CounterValue, type QstatsRead } from '../../../../src/source/counters/index.js';

const OUT = 'Q 2 ens5 rx-packets=10 rx-bytes=1500 rx-hw-drops=7 rx-hw-drop-overruns=3 tx-hw-drops=0\nQ 4 eth0 rx-packets=129630 tx-packets=98533 tx-stop=0\nQ 9 - rx-hw-drops=1\nQEND devices=3\n';

test('qstats: devices with only the fields their driver reports (an absent field is not 0)', () => {
  const r = parseQstats(OUT);
  assert.ok(r.available);
  assert.deepEqual(r.devices.map((d) => [d.ifindex, d.iface, [...d.fields.keys()]]), [
    [2, 'ens5', ['rx-packets', 'rx-bytes', 'rx-hw-drops', 'rx-hw-drop-overruns', 'tx-hw-drops']],
    [4, 'eth0', ['rx-packets', 'tx-packets', 'tx-stop']],
    [9, null, ['rx-hw-drops']],
  ]);
  assert.equal(r.devices[0]?.fields.get('rx-hw-drops'), 7n);
  // Only the hardware-drop fields of the named physical NICs; eth0 reports none, so it has no value at all.
  const vals = qstatsCounters(r, new Set(['ens5', 'eth0']));
  assert.deepEqual(vals.map((v) => [v.iface, v.counter, v.value]), [['ens5', 'rx-hw-drops', 7n], ['ens5', 'rx-hw-drop-overruns', 3n], ['ens5', 'tx-hw-drops', 0n]]);
  assert.ok(vals.every((v) => v.file === 'qstats' && v.bits === 64));
  assert.deepEqual(qstatsCounters(r, new Set(['eth0'])), []);
  assert.deepEqual(parseQstats('QEND devices=0\n'), { available: true, devices: [] });
  assert.deepEqual(parseQstats('Q 1 x rx-hw-drops=18446744073709551615\nQEND devices=1').available, true);
});

test('qstats: a kernel without the family is "not available", not an error', () => {
  assert.deepEqual(parseQstats('QNONE no netdev family\n'), { available: false, why: 'no netdev family' });
  assert.deepEqual(parseQstats('QNONE no qstats-get in the netdev family\n'), { available: false, why: 'no qstats-get in the netdev family' });
  assert.deepEqual(qstatsCounters({ available: false, why: 'no netdev family' }, new Set(['eth0'])), []);
});

test('qstats: garbled or cut-short output is COUNTERS_PARSE, saying what was expected', () => {
  for (const bad of [
    '',
    'Q 2 ens5 rx-hw-drops=7\n', // no QEND: cut short
    'Q 2 ens5 rx-hw-drops=7\nQEND devices=2\n', // count mismatch
    'QEND devices=0\nQ 2 ens5 rx-hw-drops=7\n', // QEND not last
    'Q 0 ens5 rx-hw-drops=7\nQEND devices=1\n', // ifindex 0
    'Q 2 ens5 rx-hw-drops=-1\nQEND devices=1\n',
    'Q 2 ens5 rx-hw-drops=7 rx-hw-drops=8\nQEND devices=1\n', // a field twice
    'Q 2 ens5 rx-hw-drops=18446744073709551616\nQEND devices=1\n', // over 64 bits
    'Q 2 ens5 rx-hw-drops\nQEND devices=1\n',
    'Q 2 ens5 a=1\nQ 2 ens5 a=1\nQEND devices=2\n', // one ifindex twice
    'QNONE no netdev family\nQEND devices=0\n',
    'hello\n',
  ]) {
    assert.throws(() => parseQstats(bad), (e: unknown) => isKdropError(e, ErrorCodes.COUNTERS_PARSE) && /expected/.test(e.message), JSON.stringify(bad));
  }
});

test('qstats deltas: growth per interval; a reset device or one gone and back starts from zero; 64-bit', () => {
  const d = new CounterDeltas();
  const q = (value: bigint, iface = 'ens5'): CounterValue => ({ file: 'qstats', counter: 'rx-hw-drops', iface, value, bits: 64 });
  assert.deepEqual(d.next(new Map([[null, [q(100n)]]])), []); // baseline: counted since boot
  assert.deepEqual(d.next(new Map([[null, [q(130n)]]])).map((x) => [x.file, x.iface, x.delta]), [['qstats', 'ens5', 30]]);
  // The driver reset its counters (device re-probed): the value is growth since the reset, never a wrap.
  assert.deepEqual(d.next(new Map([[null, [q(4n)]]])).map((x) => x.delta), [4]);
  // The device is gone for a read, then back (a new device under the name): it counts from zero.
  assert.deepEqual(d.next(new Map([[null, []]])), []);
  assert.deepEqual(d.next(new Map([[null, [q(9n)]]])).map((x) => x.delta), [9]);
  // A 64-bit value near the top does not wrap like a 32-bit one.
  assert.deepEqual(d.next(new Map([[null, [q((1n << 64n) - 1n)]]])).length, 1);
});

test('QstatsReader: asks once on a kernel without the family; an error is a status, never a rejection', async () => {
  let calls = 0;
  const none = new QstatsReader('/x', 100, () => {
    calls++;
    return Promise.resolve({ available: false, why: 'no netdev family' } satisfies QstatsRead);
  });
  assert.equal(await none.read(), null);
  assert.equal(await none.read(), null);
  assert.equal(calls, 1);
  assert.deepEqual(none.status(), { state: 'unavailable', why: 'no netdev family' });
  const broken = new QstatsReader('/x', 100, () => Promise.resolve(parseQstats('Q 2 ens5 rx-hw-drops=7\n')));
  assert.equal(await broken.read(), null);
  const st = broken.status();
  assert.ok(st.state === 'error' && st.error.code === ErrorCodes.COUNTERS_PARSE);
});

test('runQstats: a missing kdrop-probe is "not available"; a failing one is QSTATS_READ with what it said', async () => {
  const { runQstats } = await import('../../../../src/source/counters/index.js');
  assert.deepEqual(await runQstats('/nonexistent/kdrop-probe'), { available: false, why: 'no kdrop-probe at /nonexistent/kdrop-probe' });
  await assert.rejects(runQstats('/bin/false'), (e: unknown) => isKdropError(e, ErrorCodes.QSTATS_READ) && /exit 1/.test(e.message));
  await assert.rejects(runQstats('/bin/echo'), (e: unknown) => isKdropError(e, ErrorCodes.COUNTERS_PARSE) && /--qstats/.test(e.message));
  // One that never answers is killed at the limit and says so.
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-qstats-'));
  try {
    const hang = join(dir, 'hang');
    await writeFile(hang, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    await assert.rejects(runQstats(hang, 200), (e: unknown) => isKdropError(e, ErrorCodes.QSTATS_READ) && /no answer within 200 ms/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
