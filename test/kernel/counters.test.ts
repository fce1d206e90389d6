/**
 * The kernel drop counters beside kfree_skb, on the real kernel, each in a fresh netns (with a process in
 * it, through which kdrop reads its /proc/PID/net files): counts equal what the kernel's own tools say.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createNetns, kernelTestSkipReason, waitFor, type TestNetns } from '../helpers/netns.js';
import { startCli, sumRecords } from '../helpers/cli.js';
import { probeSkipReason } from '../helpers/probe.js';

const flood = fileURLToPath(new URL('../helpers/listen-flood.js', import.meta.url));
const made: TestNetns[] = [];
const procs: ChildProcess[] = [];
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  for (const ns of made) await ns.remove();
});

async function netns(): Promise<TestNetns> {
  const ns = await createNetns('kdropctr');
  made.push(ns);
  return ns;
}

/** A process that lives in the netns until the test ends (kdrop reads the netns through it); resolves once it prints `ready`. */
async function resident(ns: TestNetns, argv: readonly string[]): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: p.stdout! }).on('line', (l) => l === 'ready' && resolve());
    p.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}`)));
  });
  return p;
}

/** The kernel's own value of a TcpExt counter in the netns (nstat, absolute, no history file). */
async function nstat(ns: TestNetns, name: string): Promise<number> {
  const { stdout } = await ns.exec(['nstat', '-asz', name]);
  const m = new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(stdout);
  assert.ok(m?.[1], `nstat printed no ${name}: ${stdout}`);
  return Number(m[1]);
}

const counterRecords = (lines: readonly string[]) => lines.filter((l) => l.includes('"record":"counter"'));

test('a listener with backlog 1 that never accepts: ListenOverflows equals the kernel\'s, and kfree_skb sees none of those SYNs', { skip: probeSkipReason() ?? kernelTestSkipReason() ?? false }, async () => {
  const ns = await netns();
  await resident(ns, [process.execPath, flood, 'listen', '7777']);
  const w = startCli(['watch', '--json', '--interval', '1s', '--netns', String(ns.inode), '--all']);
  try {
    await w.waitForLog('watching skb:kfree_skb', 60000);
    const { stdout } = await ns.exec([process.execPath, flood, 'flood', '7777', '40', '2500']);
    assert.equal(stdout.trim(), '2', 'the two connections that fill the accept queue completed');
    // The flooder is gone: no SYN is in flight; the next interval reads the final value.
    const kernel = await nstat(ns, 'TcpExtListenOverflows');
    assert.ok(kernel >= 40, `the kernel counted ${kernel} overflows for 40 refused connects (plus retransmits)`);
    const sum = (): number => sumRecords(counterRecords(w.stdoutLines), (r) => r['netns'] === ns.inode && r['counter'] === 'ListenOverflows');
    assert.ok(await waitFor(() => sum() === kernel, 5000), `kdrop counted ${sum()} ListenOverflows, the kernel ${kernel}`);
    assert.equal(await w.stop('SIGINT'), 0);
  } finally {
    await w.stop('SIGKILL');
  }
  const lines = w.stdoutLines;
  const rec = JSON.parse(counterRecords(lines).find((l) => l.includes('"ListenOverflows"'))!) as Record<string, unknown>;
  assert.equal(rec['metric'], 'kdrop.tcp.listen.overflows');
  assert.equal(rec['scope'], 'netns');
  assert.equal(sumRecords(counterRecords(lines), (r) => r['netns'] === ns.inode && r['counter'] === 'ListenDrops'), await nstat(ns, 'TcpExtListenDrops'));
  // Every SYN was refused in tcp_conn_request and freed with consume_skb: no kfree_skb drop in this netns.
  const drops = lines.filter((l) => l.startsWith('{') && !l.includes('"record":"counter"'));
  assert.equal(sumRecords(drops, (r) => r['netns'] === ns.inode), 0, `drops in the netns: ${drops.filter((l) => l.includes(String(ns.inode))).join('\n')}`);
});

test('watch --no-counters reads no counters (no records, no reader) while a watch beside it counts the overflows', { skip: probeSkipReason() ?? kernelTestSkipReason() ?? false }, async () => {
  const ns = await netns();
  await resident(ns, [process.execPath, flood, 'listen', '7779']);
  const args = ['watch', '--json', '--interval', '1s', '--netns', String(ns.inode), '--all'];
  const on = startCli(args);
  const off = startCli([...args, '--no-counters']);
  try {
    await Promise.all([on.waitForLog('watching skb:kfree_skb', 60000), off.waitForLog('watching skb:kfree_skb', 60000)]);
    await ns.exec([process.execPath, flood, 'flood', '7779', '30', '2500']);
    const kernel = await nstat(ns, 'TcpExtListenOverflows');
    const sum = (w: typeof on): number => sumRecords(counterRecords(w.stdoutLines), (r) => r['netns'] === ns.inode && r['counter'] === 'ListenOverflows');
    assert.ok(await waitFor(() => sum(on) === kernel, 5000), `kdrop counted ${sum(on)} ListenOverflows, the kernel ${kernel}`);
    assert.equal(await off.stop('SIGINT'), 0);
    assert.equal(await on.stop('SIGINT'), 0);
  } finally {
    await off.stop('SIGKILL');
    await on.stop('SIGKILL');
  }
  assert.deepEqual(counterRecords(off.stdoutLines), [], 'no counter records with --no-counters');
  const reader = (w: typeof on): boolean => w.stderrLines.some((l) => l.includes('reading the kernel drop counters beside the drops'));
  assert.equal(reader(on), true, 'the counter reader started without --no-counters');
  assert.equal(reader(off), false, 'no counter reader with --no-counters');
});

test('tx drops on a veth whose peer is down: kdrop\'s tx_dropped equals the kernel\'s and the datagrams sent', { skip: probeSkipReason() ?? kernelTestSkipReason() ?? false }, async () => {
  const ns = await netns();
  for (const argv of [
    ['ip', 'link', 'add', 'kdva', 'type', 'veth', 'peer', 'name', 'kdvb'],
    ['ip', 'addr', 'add', '10.201.0.1/24', 'dev', 'kdva'],
    ['ip', 'link', 'set', 'kdva', 'up'],
    // A permanent neighbour: no ARP, so each datagram goes out once and is dropped by veth_xmit.
    ['ip', 'neigh', 'add', '10.201.0.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'kdva', 'nud', 'permanent'],
  ]) await ns.exec(argv);
  await resident(ns, ['sh', '-c', 'echo ready; exec sleep 600']);
  const w = startCli(['watch', '--json', '--interval', '1s', '--netns', String(ns.inode), '--all']);
  try {
    await w.waitForLog('watching skb:kfree_skb', 60000);
    await ns.exec([process.execPath, '-e', `const s=require('node:dgram').createSocket('udp4');let n=0;const f=()=>n++<53?s.send('x',9,'10.201.0.2',f):s.close();f();`]);
    const kernel = Number((await ns.exec(['cat', '/sys/class/net/kdva/statistics/tx_dropped'])).stdout.trim());
    assert.equal(kernel, 53, 'the kernel dropped each of the 53 datagrams on transmit');
    const sum = (): number => sumRecords(counterRecords(w.stdoutLines), (r) => r['netns'] === ns.inode && r['counter'] === 'tx_dropped' && r['interface'] === 'kdva');
    assert.ok(await waitFor(() => sum() === kernel, 5000), `kdrop counted ${sum()} tx_dropped on kdva, the kernel ${kernel}`);
    assert.equal(await w.stop('SIGINT'), 0);
  } finally {
    await w.stop('SIGKILL');
  }
  const rec = JSON.parse(counterRecords(w.stdoutLines).find((l) => l.includes('"tx_dropped"') && l.includes('"kdva"'))!) as Record<string, unknown>;
  assert.equal(rec['direction'], 'transmit');
  assert.equal(rec['metric'], 'system.network.packet.dropped');
});

/**
 * nf_conntrack_max is one global sysctl (read-only inside a child netns: mode 0444 there, checked by the
 * test) compared against each netns's own entry count. The test lowers it for the time of the fill only,
 * to the largest count of any netns on this host plus 64 (no other netns gets closer than 64 entries to
 * the limit), and restores it in `finally`; it refuses to run where another netns holds many entries.
 */
test('a full conntrack table: the drop counter equals conntrack -S and the NETFILTER_DROP drops beside it', { skip: probeSkipReason() ?? kernelTestSkipReason() ?? false }, async () => {
  const ns = await netns();
  // Any ct expression makes the netns track connections.
  await ns.exec(['nft', 'table inet kdropct { chain out { type filter hook output priority 0; policy accept; ct state new counter; }; }']);
  await resident(ns, ['sh', '-c', 'echo ready; exec sleep 600']);
  const maxPath = '/proc/sys/net/netfilter/nf_conntrack_max';
  const { stdout: mode } = await ns.exec(['stat', '-c', '%a', maxPath]);
  assert.equal(mode.trim(), '444', 'nf_conntrack_max is read-only inside a child netns (if it becomes writable, set it there instead)');
  const { readFile, writeFile, readdir, readlink } = await import('node:fs/promises');
  // The largest entry count of any netns on the host (entries is the first column, the same in each row).
  let busiest = 0;
  const seen = new Set<string>();
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const link = await readlink(`/proc/${pid}/ns/net`).catch(() => null);
    if (link === null || seen.has(link)) continue;
    seen.add(link);
    const row = (await readFile(`/proc/${pid}/net/stat/nf_conntrack`, 'utf8').catch(() => '')).split('\n')[1] ?? '';
    busiest = Math.max(busiest, Number.parseInt(row.trim().split(/\s+/)[0] ?? '0', 16) || 0);
  }
  if (busiest > 2000) return assert.fail(`a netns on this host holds ${busiest} conntrack entries: lowering the global nf_conntrack_max would drop its packets`);
  const limit = busiest + 64;
  const w = startCli(['watch', '--json', '--interval', '1s', '--netns', String(ns.inode), '--all']);
  const before = (await readFile(maxPath, 'utf8')).trim();
  let out = '';
  try {
    await w.waitForLog('watching skb:kfree_skb', 60000);
    try {
      await writeFile(maxPath, String(limit));
      ({ stdout: out } = await ns.exec([process.execPath, flood, 'ctfill', '7788', String(limit), '20', '1500']));
    } finally {
      await writeFile(maxPath, before);
    }
    assert.equal((await readFile(maxPath, 'utf8')).trim(), before, 'nf_conntrack_max restored');
    assert.match(out, new RegExp(`^filled ${limit}\\n0\\n$`), 'the table took exactly the limit; none of the 20 later connects got through');
    // The kernel's own view (conntrack -S: one line per CPU, drop=N).
    const { stdout: stats } = await ns.exec(['conntrack', '-S']);
    const kernelDrop = [...stats.matchAll(/\bdrop=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    assert.ok(kernelDrop >= 20, `conntrack -S says ${kernelDrop} drops for 20 refused connects (plus retransmits)`);
    const ctDrops = (): number => sumRecords(counterRecords(w.stdoutLines), (r) => r['netns'] === ns.inode && r['counter'] === 'drop' && r['source'] === 'conntrack');
    assert.ok(await waitFor(() => ctDrops() === kernelDrop, 5000), `kdrop counted ${ctDrops()} conntrack drops, conntrack -S ${kernelDrop}; counter records: ${counterRecords(w.stdoutLines).join("\n")}`);
    assert.equal(await w.stop('SIGINT'), 0);
    const drops = w.stdoutLines.filter((l) => l.startsWith('{') && !l.includes('"record":"counter"'));
    // Each refused packet is a NETFILTER_DROP in kfree_skb too: the counter names its cause.
    assert.equal(sumRecords(drops, (r) => r['netns'] === ns.inode && r['reason'] === 'NETFILTER_DROP'), kernelDrop);
  } finally {
    await w.stop('SIGKILL');
  }
});
