/**
 * The netdev queue stats (kdrop-probe --qstats) on the real kernel: the family's presence as nlctrl says
 * it (iproute2's genl), each device's packets and bytes bracketed by its sysfs statistics read just before
 * and after (after traffic sent through it), hardware-drop fields absent where the driver cannot report
 * them, and kdrop exporting no hardware-drop series for such a device.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createSocket } from 'node:dgram';
import { readFileSync, existsSync } from 'node:fs';
import { createNetns, type TestNetns } from '../helpers/netns.js';
import { PROBE, probeSkipReason } from '../helpers/probe.js';
import { parseQstats, runQstats, CounterReader, QSTATS_COUNTERS, type QstatsRead } from '../../src/source/counters/index.js';
import { checkCounters, probeCounters } from '../../src/commands/doctor-counters.js';

const run = promisify(execFile);
const made: TestNetns[] = [];
after(async () => {
  for (const ns of made) await ns.remove();
});

const STATS = [['rx-packets', 'rx_packets'], ['rx-bytes', 'rx_bytes'], ['tx-packets', 'tx_packets'], ['tx-bytes', 'tx_bytes']] as const;
const sysStat = (iface: string, name: string): bigint => BigInt(readFileSync(`/sys/class/net/${iface}/statistics/${name}`, 'utf8').trim());

/** What nlctrl says of the netdev family: absent, present without qstats-get (op 12), or with it. */
async function genlNetdev(): Promise<'none' | 'no-qstats' | 'qstats' | null> {
  const r = await run('genl', ['ctrl', 'get', 'name', 'netdev']).catch((e: { stdout?: string; stderr?: string; code?: unknown }) => (e.code === 'ENOENT' ? null : { stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
  if (r === null) return null;
  if (!/Name: netdev/.test(r.stdout)) return 'none';
  return /ID-0xc\b/.test(r.stdout) ? 'qstats' : 'no-qstats';
}

/** Is the virtio device behind IFACE without VIRTIO_NET_F_DEVICE_STATS (bit 50)? Then its driver reports no hardware drop. */
function virtioWithoutDeviceStats(iface: string): boolean {
  const f = `/sys/class/net/${iface}/device/features`;
  if (!existsSync(f) || !/virtio/.test(readFileSync(`/sys/class/net/${iface}/device/modalias`, 'utf8'))) return false;
  return readFileSync(f, 'utf8').trim()[50] === '0';
}

function sendUdp(addr: string, count: number): Promise<void> {
  const sock = createSocket('udp4');
  sock.on('error', () => undefined);
  const payload = Buffer.alloc(64, 0x6b);
  return new Promise((resolve) => {
    let sent = 0;
    const next = (): void => {
      if (sent++ >= count) {
        sock.close(() => resolve());
        return;
      }
      sock.send(payload, 9, addr, next);
    };
    next();
  });
}

test('kdrop-probe --qstats answers as nlctrl says the kernel can; packets and bytes agree with sysfs after traffic', { skip: probeSkipReason() ?? false }, async () => {
  const genl = await genlNetdev();
  const first = await runQstats(PROBE);
  if (genl !== null) assert.equal(first.available ? 'qstats' : first.why === 'no netdev family' ? 'none' : 'no-qstats', genl, `genl ctrl says ${genl}`);
  if (!first.available) return; // a kernel without queue stats: the answer above is the whole test
  assert.ok(first.devices.length > 0, 'no device of the host reports queue stats here: nothing to cross-check');
  // Traffic out of the default route's device (TEST-NET-2 through the gateway): at least these go out.
  const { stdout } = await run('ip', ['-j', 'route', 'get', '198.51.100.1']);
  const dev = (JSON.parse(stdout) as Array<{ dev: string }>)[0]?.dev;
  for (const d of first.devices) {
    assert.ok(d.iface !== null && existsSync(`/sys/class/net/${d.iface}`), `ifindex ${d.ifindex} is named`);
    assert.equal(Number(readFileSync(`/sys/class/net/${d.iface}/ifindex`, 'utf8')), d.ifindex);
  }
  const target = first.devices.find((d) => d.iface === dev && d.fields.has('tx-packets'));
  const sentBefore = target?.fields.get('tx-packets') ?? 0n;
  if (target !== undefined) await sendUdp('198.51.100.1', 200);
  // Each reported statistic lies between the sysfs value read just before and just after (live traffic).
  const before = new Map(first.devices.map((d) => [d.iface!, new Map(STATS.map(([, s]) => [s, sysStat(d.iface!, s)]))]));
  const now = await runQstats(PROBE);
  assert.ok(now.available);
  let checked = 0;
  for (const d of now.devices) {
    const b = before.get(d.iface ?? '');
    if (b === undefined) continue;
    for (const [q, s] of STATS) {
      const v = d.fields.get(q);
      if (v === undefined) continue;
      const lo = b.get(s)!;
      const hi = sysStat(d.iface!, s);
      assert.ok(lo <= v && v <= hi, `${d.iface} ${q}=${v}: sysfs ${s} went ${lo}..${hi}`);
      checked++;
    }
  }
  assert.ok(checked > 0, 'no device reported packets or bytes to cross-check');
  if (target !== undefined) {
    const after = now.devices.find((d) => d.ifindex === target.ifindex)?.fields.get('tx-packets') ?? 0n;
    assert.ok(after - sentBefore >= 200n, `${dev} tx-packets grew ${after - sentBefore} for 200 datagrams sent`);
  }
});

test('hardware-drop fields are absent where the driver cannot report them, and kdrop exports none for such a device', { skip: probeSkipReason() ?? false }, async (t) => {
  const read = await runQstats(PROBE);
  if (!read.available) return t.skip(`not available on this kernel: ${read.why}`);
  // A fresh netns: veth and lo have no hardware; whatever the kernel dumps there carries no hardware drop.
  const ns = await createNetns('kdropqs');
  made.push(ns);
  await run('ip', ['-n', ns.name, 'link', 'add', 'qa', 'type', 'veth', 'peer', 'name', 'qb']);
  await run('ip', ['-n', ns.name, 'link', 'set', 'qa', 'up']);
  await run('ip', ['-n', ns.name, 'link', 'set', 'qb', 'up']);
  const inNs = parseQstats((await ns.exec([PROBE, '--qstats'])).stdout) as QstatsRead & { available: true };
  for (const d of inNs.devices) assert.deepEqual(QSTATS_COUNTERS.filter((c) => d.fields.has(c)), [], `${d.iface} in a fresh netns`);
  assert.ok(inNs.devices.every((d) => d.iface !== null && ['lo', 'qa', 'qb'].includes(d.iface)), 'only the netns\'s own devices');
  // The host's virtio NICs without device stats (VIRTIO_NET_F_DEVICE_STATS off): no hardware-drop field.
  const noHw = read.devices.filter((d) => d.iface !== null && virtioWithoutDeviceStats(d.iface));
  for (const d of noHw) assert.deepEqual(QSTATS_COUNTERS.filter((c) => d.fields.has(c)), [], `${d.iface}: virtio without device stats`);
  // kdrop's reader (as watch and the agent run it): the queue stats are read, and no hardware-drop series
  // appears for a device that does not report one; devices that do report are read with their fields.
  const reader = new CounterReader({ proc: '/proc', sys: '/sys', qstatsProbe: PROBE });
  const r = await reader.read([]);
  reader.close();
  assert.ok(r.readable.has('qstats'));
  const series = (r.values.get(null) ?? []).filter((v) => v.file === 'qstats');
  const reporting = read.devices.filter((d) => QSTATS_COUNTERS.some((c) => d.fields.has(c)));
  for (const d of noHw) assert.equal(series.filter((v) => v.iface === d.iface).length, 0, `${d.iface}: no hardware-drop series`);
  for (const v of series) assert.ok(reporting.some((d) => d.iface === v.iface && d.fields.has(v.counter)), `${v.iface} ${v.counter} is reported by its driver`);
  // doctor says so, per NIC.
  const check = checkCounters(await probeCounters({ proc: '/proc', sys: '/sys', tracefs: null }, PROBE));
  for (const d of noHw) assert.match(check.found, new RegExp(`${d.iface} \\(no hardware-drop field reported by its driver\\)`));
});
