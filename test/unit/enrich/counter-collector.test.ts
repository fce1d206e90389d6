/**
 * The counter collector on a temporary procfs/sysfs tree: one pid per netns from the scan, deltas per
 * interval, a pid that left its netns, the host's netns (and so hostNetwork pods) as host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CounterCollector } from '../../../src/enrich/counter-collector.js';
import type { ProcScan } from '../../../src/enrich/proc-scan.js';
import { HostNetnsResolver } from '../../../src/enrich/host-resolver.js';

const HOST = 4026531840;
const POD = 4026532177;
const DEV_HEAD = 'Inter-|   Receive |  Transmit\n face |bytes packets errs drop|bytes packets errs drop\n';

function tree(): { root: string; proc: string; sys: string; setNs(pid: number, inode: number, listen: number, txDrop: number): void; setNic(missed: number): void } {
  const root = mkdtempSync(join(tmpdir(), 'kdrop-counters-'));
  const proc = join(root, 'proc');
  const sys = join(root, 'sys');
  const setNs = (pid: number, inode: number, listen: number, txDrop: number): void => {
    // Files are rewritten in place, like /proc's regenerate on each read (the reader keeps them open).
    const d = join(proc, String(pid));
    mkdirSync(join(d, 'ns'), { recursive: true });
    mkdirSync(join(d, 'net', 'stat'), { recursive: true });
    rmSync(join(d, 'ns', 'net'), { force: true });
    symlinkSync(`net:[${inode}]`, join(d, 'ns', 'net'));
    writeFileSync(join(d, 'net', 'netstat'), `TcpExt: ListenOverflows ListenDrops\nTcpExt: ${listen} ${listen}\n`);
    writeFileSync(join(d, 'net', 'dev'), `${DEV_HEAD}  eth0: 1 1 0 0 1 1 0 ${txDrop}\n`);
  };
  const nic = join(sys, 'class', 'net', 'ens3');
  mkdirSync(join(nic, 'statistics'), { recursive: true });
  mkdirSync(join(sys, 'devices', 'pci0'), { recursive: true });
  symlinkSync(join(sys, 'devices', 'pci0'), join(nic, 'device'));
  // A virtual interface (no device link) is not a NIC.
  mkdirSync(join(sys, 'class', 'net', 'veth0', 'statistics'), { recursive: true });
  writeFileSync(join(sys, 'class', 'net', 'veth0', 'statistics', 'rx_missed_errors'), '5\n');
  const setNic = (missed: number): void => writeFileSync(join(nic, 'statistics', 'rx_missed_errors'), `${missed}\n`);
  return { root, proc, sys, setNs, setNic };
}

test('counters per netns: baseline, growth, owners, NICs with a device link only, a pid that left its netns', async (t) => {
  const fx = tree();
  t.after(() => rmSync(fx.root, { recursive: true, force: true }));
  fx.setNs(1, HOST, 10, 0);
  fx.setNs(50, POD, 3, 7);
  fx.setNic(100);
  let scans = 0;
  let pids = new Map([[HOST, 1], [POD, 50]]);
  const scan = async (): Promise<ProcScan> => {
    scans++;
    return { pods: new Map(), hostInode: HOST, processes: 2, malformed: 0, conflicts: 0, netnsPids: pids };
  };
  const c = new CounterCollector({ paths: { proc: fx.proc, sys: fx.sys, tracefs: null }, resolver: new HostNetnsResolver(HOST), scan, rescanMs: 60_000 });
  await c.prime();
  fx.setNs(50, POD, 15, 9);
  fx.setNic(104);
  const first = await c.tick();
  assert.deepEqual(
    first.map((e) => [e.counter, e.iface, e.direction, e.netns, e.owner.scope, e.count]),
    [
      ['ListenDrops', null, null, POD, 'netns', 12],
      ['ListenOverflows', null, null, POD, 'netns', 12],
      ['rx_missed_errors', 'ens3', 'receive', null, 'host', 4],
      ['tx_dropped', 'eth0', 'transmit', POD, 'netns', 2],
    ],
  );
  assert.deepEqual([...c.readable()].sort(), ['dev', 'netstat', 'nic']);
  assert.equal(scans, 1);
  assert.deepEqual(await c.tick(), []);

  // Pid 50 now lives in another netns; pid 60 is still in POD: the same tick rescans and reads POD through
  // 60 (its growth only, not its history), and the new netns from zero at the next tick.
  fx.setNs(60, POD, 16, 9);
  fx.setNs(50, 4026539999, 99, 99);
  pids = new Map([[HOST, 1], [POD, 60], [4026539999, 50]]);
  assert.deepEqual((await c.tick()).map((e) => [e.counter, e.netns, e.count]), [['ListenDrops', POD, 1], ['ListenOverflows', POD, 1]]);
  assert.equal(scans, 2);
  assert.equal(c.netnsCount(), 3);
  fx.setNs(50, 4026539999, 100, 99);
  fx.setNs(1, HOST, 11, 0);
  const later = await c.tick();
  assert.deepEqual(
    later.filter((e) => e.counter === 'ListenOverflows').map((e) => [e.netns, e.owner.scope, e.count]),
    [[4026539999, 'netns', 100], [HOST, 'host', 1]],
  );
  // Pid 60 gone with no other process in POD: left out (no rescan finds it), the scan retried next tick.
  rmSync(join(fx.proc, '60'), { recursive: true });
  pids = new Map([[HOST, 1], [4026539999, 50]]);
  assert.deepEqual(await c.tick(), []);
  assert.equal(c.netnsCount(), 2);
});

test('the reader reads a file larger than its 64 KiB buffer whole (net/dev with 2500 interfaces)', async (t) => {
  const fx = tree();
  t.after(() => rmSync(fx.root, { recursive: true, force: true }));
  fx.setNs(7, POD, 0, 0);
  const rows = Array.from({ length: 2500 }, (_, i) => `  veth${String(i).padStart(6, '0')}: 1 1 0 ${i} 1 1 0 ${2 * i}`).join('\n');
  writeFileSync(join(fx.proc, '7', 'net', 'dev'), `${DEV_HEAD}${rows}\n`);
  assert.ok(readFileSync(join(fx.proc, '7', 'net', 'dev')).length > 64 * 1024);
  const { CounterReader } = await import('../../../src/source/counters/index.js');
  const reader = new CounterReader({ proc: fx.proc, sys: fx.sys, nics: false });
  const r = await reader.read([{ inode: POD, pid: 7 }]);
  reader.close();
  const dev = (r.values.get(POD) ?? []).filter((v) => v.file === 'dev');
  assert.equal(dev.length, 5000);
  assert.equal(dev.find((v) => v.iface === 'veth002499' && v.counter === 'tx_dropped')?.value, 4998n);
});

test('NIC queue stats through the loader: physical NICs only, directions, a failed read counts no false growth, a device back counts from zero', async (t) => {
  const fx = tree();
  t.after(() => rmSync(fx.root, { recursive: true, force: true }));
  fx.setNs(1, HOST, 0, 0);
  fx.setNic(0);
  // A stand-in for kdrop-probe --qstats (the kernel part is tested in test/kernel/counters-qstats.test.ts):
  // prints what the test last wrote, or fails like a loader that cannot read.
  const out = join(fx.root, 'qstats.out');
  const probe = join(fx.root, 'kdrop-probe');
  writeFileSync(probe, `#!/bin/sh\n[ "$1" = --qstats ] || exit 2\n[ -s ${out} ] || { echo "kdrop-probe: --qstats: netlink socket: Permission denied" >&2; exit 1; }\ncat ${out}\n`, { mode: 0o755 });
  const setQ = (text: string): void => writeFileSync(out, text);
  // ens3 is a NIC (device link); veth0 is not and is left out; eth9 has no sysfs entry here.
  const q = (drops: number, overruns: number, tx: number): string => `Q 2 ens3 rx-packets=9 rx-hw-drops=${drops} rx-hw-drop-overruns=${overruns} tx-hw-drop-errors=${tx}\nQ 3 veth0 rx-hw-drops=50\nQ 4 eth9 rx-hw-drops=60\nQEND devices=3\n`;
  setQ(q(100, 40, 7));
  const c = new CounterCollector({ paths: { proc: fx.proc, sys: fx.sys, tracefs: null }, resolver: new HostNetnsResolver(HOST), scan: async () => ({ pods: new Map(), hostInode: HOST, processes: 1, malformed: 0, conflicts: 0, netnsPids: new Map([[HOST, 1]]) }), qstatsProbe: probe });
  await c.prime();
  assert.equal(c.qstatsStatus().state, 'read');
  setQ(q(130, 45, 7));
  const rows = (es: Awaited<ReturnType<typeof c.tick>>) => es.map((e) => [e.file, e.counter, e.iface, e.direction, e.owner.scope, e.count]);
  assert.deepEqual(rows(await c.tick()), [['qstats', 'rx-hw-drops', 'ens3', 'receive', 'host', 30], ['qstats', 'rx-hw-drop-overruns', 'ens3', 'receive', 'host', 5]]);
  assert.ok(c.readable().has('qstats'));
  // The loader fails for one interval: nothing counted, and the next read counts only the growth since.
  setQ('');
  assert.deepEqual(await c.tick(), []);
  const st = c.qstatsStatus();
  assert.ok(st.state === 'error' && st.error.code === 'KDROP_E_QSTATS_READ' && /Permission denied/.test(st.error.message));
  setQ(q(131, 45, 9));
  assert.deepEqual(rows(await c.tick()), [['qstats', 'tx-hw-drop-errors', 'ens3', 'transmit', 'host', 2], ['qstats', 'rx-hw-drops', 'ens3', 'receive', 'host', 1]]);
  // The device is gone from a read, then back (re-probed): its whole value is growth since it came back.
  setQ('QEND devices=0\n');
  assert.deepEqual(await c.tick(), []);
  setQ('Q 5 ens3 rx-hw-drops=3\nQEND devices=1\n');
  assert.deepEqual(rows(await c.tick()), [['qstats', 'rx-hw-drops', 'ens3', 'receive', 'host', 3]]);
  // A kernel without the family: not available, asked once, no value and no error.
  setQ('QNONE no netdev family\n');
  assert.deepEqual(await c.tick(), []);
  setQ(q(999, 999, 999));
  assert.deepEqual(await c.tick(), []);
  assert.deepEqual(c.qstatsStatus(), { state: 'unavailable', why: 'no netdev family' });
  c.close();
});
