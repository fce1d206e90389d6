import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../../src/errors.js';
import {
  conntrackCounters,
  netDevCounters,
  netstatCounters,
  parseConntrackStat,
  parseNetDev,
  parseNetstat,
  parseStatisticsValue,
} from '../../../../src/source/counters/index.js';
import { fixtureText } from '../../fuzz/fixtures.js';

const coded = (err: unknown): boolean => isKdropError(err, ErrorCodes.COUNTERS_PARSE);

test('netstat: every section by name; the TcpExt counters kdrop reads (recorded 6.18 file)', () => {
  const text = fixtureText('counters/netstat-6.18.txt');
  const all = parseNetstat(text);
  assert.deepEqual([...all.keys()], ['TcpExt', 'IpExt', 'MPTcpExt']);
  const lines = text.split('\n');
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const vals = (lines[1] ?? '').split(/\s+/).slice(1);
  const i = names.indexOf('ListenOverflows');
  assert.equal(all.get('TcpExt')?.get('ListenOverflows'), BigInt(vals[i] ?? -1));
  assert.deepEqual(netstatCounters(text).map((c) => c.counter), ['ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop']);
});

test('netstat: parsed by name whatever the order; a kernel without a counter omits it', () => {
  const text = 'TcpExt: TCPReqQFullDrop Foo ListenOverflows\nTcpExt: 7 1 18446744073709551615\n';
  assert.deepEqual(
    netstatCounters(text).map((c) => [c.counter, c.value]),
    [['ListenOverflows', 18446744073709551615n], ['TCPReqQFullDrop', 7n]],
  );
  assert.deepEqual(netstatCounters('IpExt: A\nIpExt: 1\n'), []);
});

test('netstat: malformed input is COUNTERS_PARSE saying what was expected', () => {
  for (const bad of ['TcpExt: A B\n', 'TcpExt: A B\nTcpExt: 1\n', 'TcpExt: A\nIpExt: 1\n', 'TcpExt: A\nTcpExt: x\n', 'no colon\nhere\n']) {
    assert.throws(() => parseNetstat(bad), (e: unknown) => coded(e) && /expected/.test((e as Error).message), bad);
  }
});

test('net/dev: drop columns by the header (recorded 6.18 file)', () => {
  const rows = parseNetDev(fixtureText('counters/dev-6.18.txt'));
  assert.ok(rows.some((r) => r.iface === 'lo'));
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '  eth0: 100 2 0 5 0 0 0 0 200 3 0 9 0 0 0 0',
    'veth1@if2: 1 1 1 1 1 1 1 1 1 1 1 4294967296 1 1 1 1',
  ].join('\n');
  assert.deepEqual(parseNetDev(text), [
    { iface: 'eth0', rxDropped: 5n, txDropped: 9n },
    { iface: 'veth1@if2', rxDropped: 1n, txDropped: 4294967296n },
  ]);
  assert.deepEqual(netDevCounters(text).filter((c) => c.iface === 'eth0').map((c) => [c.counter, c.value]), [['rx_dropped', 5n], ['tx_dropped', 9n]]);
});

test('net/dev: a header without drop columns, a short row or a bad value is COUNTERS_PARSE', () => {
  const head = 'Inter-|   Receive |  Transmit\n face |bytes drop|bytes drop\n';
  assert.deepEqual(parseNetDev(`${head}  a: 1 2 3 4\n`), [{ iface: 'a', rxDropped: 2n, txDropped: 4n }]);
  for (const bad of [`${head}  a: 1 2 3\n`, `${head}  a: 1 2 3 x\n`, `${head}a 1 2 3 4\n`, 'Inter-|\n face |bytes|bytes\n', 'x\n']) {
    assert.throws(() => parseNetDev(bad), coded, bad);
  }
});

test('conntrack: columns by the header, summed over CPUs (6.18 and the pre-5.9 header)', () => {
  const now = parseConntrackStat(fixtureText('counters/nf_conntrack-6.18.txt'));
  assert.ok(now.has('clashres') && now.has('insert_failed') && now.has('drop') && now.has('early_drop'));
  const old = conntrackCounters(fixtureText('counters/nf_conntrack-4.19.txt'));
  // insert_failed: 1 + 0xffffffff, kept modulo 2^32 like the kernel's u32.
  assert.deepEqual(old.map((c) => [c.counter, c.value, c.bits]), [['drop', 0x14n, 32], ['insert_failed', 0n, 32], ['early_drop', 2n, 32]]);
  assert.equal(parseConntrackStat(fixtureText('counters/nf_conntrack-4.19.txt')).get('searched'), 0n);
});

test('conntrack: a header without the counters gives none; bad rows or headers are COUNTERS_PARSE', () => {
  assert.deepEqual(conntrackCounters('entries found\n00000001 00000002\n'), []);
  for (const bad of ['', 'entries drop\n1 2 3\n', 'entries drop\n1 zz\n', 'Entries Drop\n1 2\n', 'drop drop\n1 2\n', 'entries drop\n1 00000000000000001\n']) {
    assert.throws(() => parseConntrackStat(bad), coded, JSON.stringify(bad));
  }
});

test('sysfs statistics: one unsigned decimal', () => {
  assert.equal(parseStatisticsValue('18446744073709551615\n', 'rx_dropped'), 18446744073709551615n);
  for (const bad of ['', '-1', '1 2', '0x10', '18446744073709551616']) assert.throws(() => parseStatisticsValue(bad, 'rx_dropped'), coded);
});
