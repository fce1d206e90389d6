/**
 * What the VM matrix asserts on a guest's results (test/vm/guest.ts), each expectation from that kernel's own
 * facts: its reason names and codes (kfree_skb format), its kallsyms, the netns inodes read in the guest.
 */
import assert from 'node:assert/strict';
import type { VmRun } from './qemu.js';

type Rec = Record<string, unknown>;

export interface Facts {
  readonly release: string;
  readonly cpus: number;
  readonly hasReason: boolean;
  readonly hasRxSk: boolean;
  readonly reasons: Record<string, number>;
  readonly qdiscDrop: boolean;
  readonly initNetns: number;
}

export function facts(r: VmRun): Facts {
  const f = r.checks.get('facts');
  assert.ok(f, `kernel ${r.kernel.release}: the guest reported no facts`);
  return f as unknown as Facts;
}

/** The check's result, or a failure naming the kernel with the guest's error. */
export function check(r: VmRun, name: string): Rec {
  const c = r.checks.get(name);
  assert.ok(c, `kernel ${r.kernel.release}: no result for ${name} (console tail:\n${r.console.split('\n').slice(-15).join('\n')})`);
  assert.equal(c['error'], undefined, `kernel ${r.kernel.release}: ${name} failed in the guest: ${String(c['error'])}`);
  return c;
}

/**
 * One netns's counts: exact, with the kernel's code for the expected reason where it has reasons. The only
 * other drops allowed are the kernel's own ICMPv6 port-unreachable replies, which the unconnected IPv6 sender
 * does not take (dropped in an icmpv6 function, at most one per datagram); over IPv4 there are none.
 */
export function icmpReplies(c: Rec): number {
  return Object.entries(c['byFunction'] as Record<string, number>).filter(([fn]) => /icmp/i.test(fn)).reduce((a, [, n]) => a + n, 0);
}

/** Whether one case was counted exactly (what assertCase checks first). */
export function exact(c: Rec): boolean {
  return (c['total'] as number) - icmpReplies(c) === c['sent'];
}

function assertCase(r: VmRun, c: Rec): void {
  const f = facts(r);
  const what = `kernel ${r.kernel.release}, ${String(c['case'] ?? 'flood')}`;
  const byFunction = c['byFunction'] as Record<string, number>;
  const replies = icmpReplies(c);
  assert.notEqual(c['netns'], f.initNetns, `${what}: a fresh netns`);
  assert.equal((c['total'] as number) - replies, c['sent'], `${what}: counted == sent in netns ${String(c['netns'])} (${JSON.stringify(byFunction)} ${JSON.stringify(c['byReason'])})`);
  assert.ok(c['networkType'] === 'ipv6' ? replies <= (c['sent'] as number) : replies === 0, `${what}: ICMP replies dropped: ${replies}`);
  const expect = c['expect'] as string | undefined;
  if (expect !== undefined && f.hasReason) {
    assert.ok(expect in f.reasons, `${what}: the kernel's format names ${expect}`);
    assert.equal((c['byReason'] as Record<string, number>)[expect], c['sent'], `${what}: all with ${expect} (${JSON.stringify(c['byReason'])})`);
    assert.equal((c['codes'] as Record<string, number>)[expect], f.reasons[expect], `${what}: the kernel's own code of ${expect}`);
  }
  assert.deepEqual(c['functionsInKallsyms'], c['functions'], `${what}: drop functions are this kernel's symbols`);
  if (c['networkType'] !== undefined) assert.deepEqual(c['networkTypes'], [c['networkType']], `${what}: network type`);
}

export function assertWatch(r: VmRun): void {
  const w = check(r, 'watch');
  assert.equal(w['source'], 'bpf', `kernel ${r.kernel.release}: the default source is the probe (netns attribution); stderr:\n${String(w['stderrTail'])}`);
  assert.equal(w['exitCode'], 0);
  const cases = w['cases'] as Rec[];
  assert.deepEqual(cases.map((c) => c['case']), ['udp4', 'udp6', 'tcp-syn', 'nft']);
  for (const c of cases) assertCase(r, c);
  assert.equal(w['tcpRefused'], cases[2]!['sent'], 'every SYN was refused (reached the closed port)');
}

export function assertTrace(r: VmRun): void {
  const t = check(r, 'trace');
  const f = facts(r);
  assert.equal(t['exitCode'], 0, `kernel ${r.kernel.release}: trace --count 1 exits 0; stderr:\n${String(t['stderrTail'])}`);
  const recs = t['records'] as Rec[];
  assert.equal(recs.length, 1);
  const s = recs[0]!;
  assert.deepEqual(
    [s['src_addr'], s['src_port'], s['dst_addr'], s['dst_port'], s['transport'], s['ifname'], s['netns']],
    ['127.0.0.1', 40301, '127.0.0.1', 9, 'udp', 'lo', t['netns']],
  );
  if (f.hasReason) assert.equal(s['reason_code'], f.reasons[String(s['reason'])], 'the kernel code of the reason named');
  assert.ok(Array.isArray(s['stack']) && String((s['stack'] as string[])[0]).startsWith(`${String(s['function'])}+0x`));
}

export function assertKill(r: VmRun): void {
  const k = check(r, 'kill');
  const kills = k['kills'] as Rec[];
  assert.equal(kills.length, 2, `kernel ${r.kernel.release}: two loaders killed`);
  for (const x of kills) assert.deepEqual([x['duringFlood'], x['restarted']], [true, true], JSON.stringify(x));
  assertCase(r, k);
}

export function assertDoctor(r: VmRun): void {
  const d = check(r, 'doctor');
  const checks = new Map((d['checks'] as Rec[]).map((c) => [c['name'], c]));
  // Before 5.17 kfree_skb has no reason: doctor warns (counts without reasons), and kdrop still runs.
  const tp = checks.get('tracepoint');
  if (facts(r).hasReason) assert.equal(tp?.['verdict'], 'ok', JSON.stringify(tp));
  else assert.deepEqual([tp?.['verdict'], /reason: no/.test(String(tp?.['found']))], ['warn', true], JSON.stringify(tp));
  assert.equal(checks.get('probe')?.['verdict'], 'ok', JSON.stringify(checks.get('probe')));
  assert.equal(d['ready'], true);
  assert.equal(d['code'], 0);
}

export function assertExplain(r: VmRun): void {
  const e = check(r, 'explain');
  const f = facts(r);
  assert.equal(e['kernelRead'], f.hasReason, 'the reason table is read where the kernel has one');
  const answers = e['answers'] as Rec[];
  assert.deepEqual(answers.map((a) => a['name']), Object.keys(f.reasons), 'one answer per reason of the kernel');
  for (const a of answers) {
    assert.ok((a['codes'] as number[]).includes(a['code'] as number), `${String(a['name'])}: the kernel's code ${String(a['code'])}`);
    assert.ok(['error', 'policy', 'congestion', 'benign', 'unknown'].includes(String(a['class'])), `${String(a['name'])}: class ${String(a['class'])}`);
    assert.equal(a['meaningful'], true, `${String(a['name'])}: a meaning`);
  }
  for (const c of e['cli'] as Rec[]) assert.equal(c['code'], 0, `kdrop explain ${String(c['query'])}: ${String(c['stderr'])}`);
  if (answers.length > 0) {
    const [byName, byCode] = e['cli'] as Rec[];
    assert.equal(byName!['name'], answers.at(-1)!['name']);
    assert.equal(byCode!['name'], answers[0]!['name']);
  }
}

export function assertQdisc(r: VmRun, newest: boolean): void {
  const f = facts(r);
  if (!f.qdiscDrop) {
    assert.equal(r.checks.has('qdisc'), false);
    assert.ok(!newest || f.qdiscDrop === false, 'reported: no qdisc:qdisc_drop on the newest kernel');
    return;
  }
  const q = check(r, 'qdisc');
  // Both sources join qdisc:qdisc_drop (the probe with a program of its own, tracefs in its reader): the
  // qdisc's reasons (GENERIC, OVERLIMIT, ... of the event's format) are named QDISC_DROP_<name>.
  const qreasons = q['qdiscReasons'] as Record<string, number>;
  assert.ok(Object.keys(qreasons).length > 0, 'the qdisc_drop format names its reasons');
  const joined = (byReason: unknown): number =>
    Object.entries(byReason as Record<string, number>)
      .filter(([n]) => n.startsWith('QDISC_DROP_') && n.slice('QDISC_DROP_'.length) in qreasons)
      .reduce((a, [, n]) => a + n, 0);
  const d = q['default'] as Rec;
  assert.equal(d['source'], 'bpf', `kernel ${r.kernel.release}: the default source is the probe`);
  assert.equal(d['total'], d['sent'], `kernel ${r.kernel.release}: default source, counted == sent (${JSON.stringify(d['byReason'])})`);
  assert.equal(joined(d['byReason']), d['sent'], `default source: the qdisc's own reasons (${JSON.stringify(d['byReason'])})`);
  // tracefs has no netns per drop; nothing else drops in this quiet VM while it runs.
  const t = q['tracefs'] as Rec;
  assert.equal(joined(t['byReason']), t['sent'], `tracefs source: the qdisc's own reasons (${JSON.stringify(t['byReason'])})`);
}

/**
 * The kernel drop counters beside kfree_skb: kdrop's ListenOverflows for the flooded netns equals that netns's
 * own /proc/net/netstat delta (and ListenDrops likewise), with no kfree_skb drop there (the refused SYNs are freed
 * with consume_skb); the veth's tx_dropped (datagrams larger than its peer's MTU) equals its sysfs statistics
 * and the datagrams sent.
 */
export function assertCounters(r: VmRun): void {
  const c = check(r, 'counters');
  const what = `kernel ${r.kernel.release}`;
  assert.equal(c['exitCode'], 0, `${what}: watch exits 0; stderr:\n${String(c['stderrTail'])}`);
  const l = c['listen'] as Rec;
  assert.notEqual(l['netns'], facts(r).initNetns, `${what}: a fresh netns`);
  assert.equal(l['connected'], 2, `${what}: the two connections that fill the accept queue completed`);
  assert.ok((l['kernel'] as number) >= (l['connects'] as number), `${what}: the netns counted ${String(l['kernel'])} overflows for ${String(l['connects'])} refused connects`);
  assert.equal(l['counted'], l['kernel'], `${what}: kdrop's ListenOverflows == the netns's /proc/net/netstat delta`);
  assert.equal(l['countedListenDrops'], l['kernelListenDrops'], `${what}: ListenDrops too`);
  assert.equal(l['kfreeDrops'], 0, `${what}: kfree_skb saw no drop in the flooded netns`);
  const t = c['tx'] as Rec;
  assert.equal(t['kernel'], t['sent'], `${what}: veth dropped each datagram on transmit (larger than the peer's MTU)`);
  assert.equal(t['counted'], t['kernel'], `${what}: kdrop's tx_dropped == the interface's statistics`);
  assert.deepEqual([t['direction'], t['metric']], ['transmit', 'system.network.packet.dropped']);
  // kdrop-probe --qstats answers as this kernel's kallsyms says it can: no family, no qstats-get, or a read.
  const q = c['qstats'] as Rec;
  const expected = !q['family'] ? 'no netdev family' : !q['qstatsGet'] ? 'no qstats-get in the netdev family' : undefined;
  assert.equal(q['why'], expected, `${what}: kdrop-probe --qstats (${JSON.stringify(q)})`);
  if (expected === undefined) assert.equal(typeof q['devices'], 'number', `${what}: a qstats read`);
}

export function assertCpus(r: VmRun): void {
  const c = check(r, 'cpus');
  assert.equal(facts(r).cpus, 8);
  const per = c['perCpu'] as Rec[];
  assert.equal(per.length, 8);
  for (const p of per) assertCase(r, { ...p, case: `cpu ${String(p['cpu'])}`, expect: 'NO_SOCKET', networkType: 'ipv4' });
  assert.ok(Math.max(...per.map((p) => p['intervals'] as number)) >= 2, 'the flood spanned rotations (counts in more than one interval)');
}
