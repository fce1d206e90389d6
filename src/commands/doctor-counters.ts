/**
 * `kdrop doctor`: which kernel drop counters this node can read (beside kfree_skb), by reading them once
 * as watch and agent do: the host's netns through pid 1 (or kdrop itself), and the physical NICs (sysfs
 * statistics, and the netdev queue stats through kdrop-probe --qstats: which NICs report hardware drops).
 */
import type { HostPaths } from '../host-paths.js';
import { readHostNetnsInode, readNetnsInode } from '../enrich/proc-scan.js';
import { CounterReader, QSTATS_COUNTERS, type CounterFile, type QstatsStatus } from '../source/counters/index.js';
import { probePath } from '../source/bpf/index.js';
import { COUNTER_TABLE } from '../enrich/counter-catalog.js';
import type { DoctorCheck } from './doctor.js';

export interface CounterProbe {
  /** Files read in the host's netns (and 'nic' when a physical NIC's statistics were read). */
  readonly readable: ReadonlySet<CounterFile>;
  /** Physical NICs (with a device link) whose statistics were read. */
  readonly nics: readonly string[];
  /** The netdev queue stats read (all devices the kernel dumped; the check keeps the physical NICs). */
  readonly qstats: QstatsStatus;
  readonly error: string | null;
}

export async function probeCounters(paths: HostPaths, probe: string = probePath()): Promise<CounterProbe> {
  const inode = await readHostNetnsInode(paths.proc).catch(() => null);
  if (inode === null) return { readable: new Set(), nics: [], qstats: { state: 'not read' }, error: `cannot read ${paths.proc}/1/ns/net nor ${paths.proc}/self/ns/net` };
  // The host's netns through pid 1, or (where pid 1 cannot be read) through kdrop itself, as readHostNetnsInode does.
  const pid = (await readNetnsInode(paths.proc, 1).catch(() => null)) === inode ? 1 : process.pid;
  const reader = new CounterReader({ proc: paths.proc, sys: paths.nicSys ?? paths.sys, qstatsProbe: probe });
  const r = await reader.read([{ inode, pid }]);
  reader.close();
  const nics = [...new Set((r.values.get(null) ?? []).filter((v) => v.file === 'nic').map((v) => v.iface ?? ''))].filter((n) => n !== '');
  return { readable: r.readable, nics, qstats: reader.qstatsStatus(), error: null };
}

/** The queue stats part of the check: can this node read them, and which NICs report hardware drops. */
function qstatsText(p: CounterProbe): string {
  const q = p.qstats;
  if (q.state === 'not read') return 'NIC queue stats (netdev netlink) not read';
  if (q.state === 'unavailable') return `NIC queue stats (netdev netlink) not available ${q.why.startsWith('no kdrop-probe') ? `(${q.why})` : `on this kernel (${q.why}; 6.10+ has them)`}`;
  if (q.state === 'error') return `NIC queue stats (netdev netlink) not read: ${q.error.code}: ${q.error.message}`;
  const nics = new Set(p.nics);
  const devs = q.read.devices.filter((d) => d.iface !== null && nics.has(d.iface));
  if (devs.length === 0) return 'NIC queue stats (netdev netlink) readable, but no physical NIC\'s driver reports them';
  const hw = (f: ReadonlyMap<string, bigint>): string[] => QSTATS_COUNTERS.filter((c) => f.has(c));
  return `NIC queue stats (netdev netlink) on ${devs.map((d) => `${d.iface ?? '?'} (${hw(d.fields).join(', ') || 'no hardware-drop field reported by its driver'})`).join(', ')}`;
}

/** Pure: the check line from what was read. */
export function checkCounters(p: CounterProbe): DoctorCheck {
  if (p.error !== null) return { name: 'counters', verdict: 'warn', found: p.error, fix: 'run with hostPID and CAP_SYS_PTRACE (the chart does) so each netns can be read through one of its processes' };
  const names = (f: CounterFile): string => COUNTER_TABLE.filter((c) => c.file === f).map((c) => c.counter).join(', ');
  const have: string[] = [];
  const missing: string[] = [];
  (p.readable.has('netstat') ? have : missing).push(`TcpExt ${names('netstat')}`);
  (p.readable.has('dev') ? have : missing).push('interface rx/tx dropped (net/dev)');
  (p.readable.has('conntrack') ? have : missing).push(`conntrack ${names('conntrack')}${p.readable.has('conntrack') ? '' : ' (nf_conntrack not loaded: no conntrack, no such drops)'}`);
  (p.readable.has('nic') ? have : missing).push(`NIC ${names('nic')}${p.nics.length > 0 ? ` on ${p.nics.join(', ')}` : ' (no physical NIC with statistics in sysfs)'}`);
  const found = `reads ${have.join('; ') || 'nothing'}${missing.length > 0 ? `; not: ${missing.join('; ')}` : ''}; ${qstatsText(p)}`;
  const core = p.readable.has('netstat') && p.readable.has('dev');
  return { name: 'counters', verdict: core ? 'ok' : 'warn', found, fix: core ? null : 'mount the host\'s /proc (--proc) and read it as root: the counters are read per netns through /proc/PID/net' };
}
