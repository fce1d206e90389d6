import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCounters } from '../../../src/commands/doctor-counters.js';

test('doctor counters: ok with netstat and net/dev; says what is missing and why', () => {
  const all = checkCounters({ readable: new Set(['netstat', 'dev', 'conntrack', 'nic']), nics: ['eth0'], qstats: { state: 'not read' }, error: null });
  assert.equal(all.verdict, 'ok');
  assert.match(all.found, /ListenOverflows.*rx\/tx dropped.*insert_failed.*rx_missed_errors.* on eth0/);
  assert.match(all.found, /queue stats \(netdev netlink\) not read$/);
  const noCt = checkCounters({ readable: new Set(['netstat', 'dev']), nics: [], qstats: { state: 'not read' }, error: null });
  assert.equal(noCt.verdict, 'ok');
  assert.match(noCt.found, /not: conntrack .*nf_conntrack not loaded.*no physical NIC/);
  const none = checkCounters({ readable: new Set(), nics: [], qstats: { state: 'not read' }, error: null });
  assert.equal(none.verdict, 'warn');
  assert.ok(none.fix !== null);
  assert.equal(checkCounters({ readable: new Set(), nics: [], qstats: { state: 'not read' }, error: 'cannot read' }).verdict, 'warn');
});

test('doctor counters: whether this node can read the NIC queue stats, and which NICs report hardware drops', async () => {
  const { parseQstats } = await import('../../../src/source/counters/index.js');
  const { KdropError, ErrorCodes } = await import('../../../src/errors.js');
  const read = parseQstats('Q 2 ens5 rx-packets=1 rx-hw-drops=0 tx-hw-drop-errors=2\nQ 4 eth0 rx-packets=5\nQ 7 veth0 rx-hw-drops=1\nQEND devices=3\n');
  assert.ok(read.available);
  const base = { readable: new Set(['netstat', 'dev', 'nic', 'qstats'] as const), nics: ['ens5', 'eth0'], error: null };
  const ok = checkCounters({ ...base, qstats: { state: 'read', read } });
  assert.match(ok.found, /queue stats \(netdev netlink\) on ens5 \(rx-hw-drops, tx-hw-drop-errors\), eth0 \(no hardware-drop field reported by its driver\)$/);
  assert.doesNotMatch(ok.found, /veth0/);
  assert.match(checkCounters({ ...base, qstats: { state: 'read', read: { available: true, devices: [] } } }).found, /no physical NIC's driver reports them/);
  const old = checkCounters({ ...base, qstats: { state: 'unavailable', why: 'no netdev family' } });
  assert.equal(old.verdict, 'ok');
  assert.match(old.found, /queue stats .*not available on this kernel \(no netdev family; 6\.10\+ has them\)/);
  assert.match(checkCounters({ ...base, qstats: { state: 'unavailable', why: 'no kdrop-probe at /x' } }).found, /not available \(no kdrop-probe at \/x\)/);
  const err = checkCounters({ ...base, qstats: { state: 'error', error: new KdropError(ErrorCodes.QSTATS_READ, 'cannot read the netdev queue stats', { found: 'exit 1' }) } });
  assert.match(err.found, /not read: KDROP_E_QSTATS_READ: cannot read the netdev queue stats; found exit 1/);
});
