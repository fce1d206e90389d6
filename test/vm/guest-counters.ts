/**
 * In the VM: the kernel drop counters kfree_skb never sees, read by the real `kdrop watch --json` (its counter
 * records) beside this kernel's own view of them, each in a fresh netns with a process in it (kdrop reads a
 * netns's /proc/PID/net files through one of its processes):
 * - a listener with backlog 1 that never accepts, flooded with connects: the netns's TcpExt ListenOverflows
 *   (its own /proc/net/netstat, before and after) and what kdrop counted, and the kfree_skb drops there;
 * - datagrams sent out of a veth larger than its peer's MTU: the interface's tx_dropped (its sysfs statistics
 *   in the netns) and what kdrop counted. Both ends are up: with the peer down the veth has no carrier and
 *   5.10 drops in the qdisc (noop) instead, which tx_dropped does not count (the first matrix run showed 0);
 * - the NICs' queue stats: what `kdrop-probe --qstats` answers, beside whether this kernel's kallsyms has the
 *   netdev family (netdev_nl_dev_get_doit) and its qstats-get (netdev_nl_qstats_get_dumpit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { startCli } from '../helpers/cli.js';
import { inKallsyms } from './guest-facts.js';
import { probePath } from '../../src/source/bpf/index.js';
import { runQstats } from '../../src/source/counters/index.js';

const flood = fileURLToPath(new URL('../helpers/listen-flood.js', import.meta.url));
type Rec = Record<string, unknown>;

/** A process that lives in the netns until the check ends; resolves once it prints `ready`. */
async function resident(ns: TestNetns, argv: readonly string[], procs: ChildProcess[]): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: p.stdout! }).on('line', (l) => l === 'ready' && resolve());
    p.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}`)));
  });
}

/** TcpExt counters of the netns, from its own /proc/net/netstat (read in it: the file is per netns). */
async function tcpExt(ns: TestNetns): Promise<Record<string, number>> {
  const { stdout } = await ns.exec([process.execPath, '-e', "process.stdout.write(require('fs').readFileSync('/proc/self/net/netstat','utf8'))"]);
  const lines = stdout.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const [names, values] = [lines[0]?.split(/\s+/).slice(1) ?? [], lines[1]?.split(/\s+/).slice(1) ?? []];
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}

async function qstatsCheck(): Promise<Rec> {
  const read = await runQstats(probePath(), 10_000);
  return { family: inKallsyms('netdev_nl_dev_get_doit'), qstatsGet: inKallsyms('netdev_nl_qstats_get_dumpit'), ...(read.available ? { devices: read.devices.length } : { why: read.why }) };
}

export async function countersCheck(): Promise<Rec> {
  const qstats = await qstatsCheck();
  const [listen, veth] = [await createNetns('kdropvmctr'), await createNetns('kdropvmtx')];
  const procs: ChildProcess[] = [];
  try {
    await resident(listen, [process.execPath, flood, 'listen', '7777'], procs);
    for (const argv of [
      ['ip', 'link', 'add', 'kdva', 'type', 'veth', 'peer', 'name', 'kdvb'],
      // The peer takes at most 576 bytes: veth_xmit cannot forward a larger frame to it (is_skb_forwardable)
      // and counts it in the sender's tx_dropped.
      ['ip', 'link', 'set', 'kdvb', 'mtu', '576', 'up'],
      ['ip', 'addr', 'add', '10.201.0.1/24', 'dev', 'kdva'],
      ['ip', 'link', 'set', 'kdva', 'up'],
      // A permanent neighbour: no ARP, so each datagram goes out once.
      ['ip', 'neigh', 'add', '10.201.0.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'kdva', 'nud', 'permanent'],
    ]) await veth.exec(argv);
    await resident(veth, ['sh', '-c', 'echo ready; exec sleep 3600'], procs);
    const txDropped = async (): Promise<number> => Number((await veth.exec(['cat', '/sys/class/net/kdva/statistics/tx_dropped'])).stdout.trim());

    const w = startCli(['watch', '--json', '--interval', '1s', '--all']);
    try {
      await w.waitForLog('watching skb:kfree_skb', 180_000);
      const [before, txBefore] = [await tcpExt(listen), await txDropped()];
      const connected = Number((await listen.exec([process.execPath, flood, 'flood', '7777', '40', '2500'])).stdout.trim());
      const sent = 53;
      await veth.exec([process.execPath, '-e', `const s=require('node:dgram').createSocket('udp4');let n=0;const f=()=>n++<${sent}?s.send(Buffer.alloc(1000),9,'10.201.0.2',f):s.close();f();`]);
      // The flooder is gone (no SYN in flight): the next intervals read the final values.
      const [after, txAfter] = [await tcpExt(listen), await txDropped()];
      const recs = (): Rec[] => w.stdoutLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Rec);
      const counted = (pred: (r: Rec) => boolean): number => recs().filter((r) => r['record'] === 'counter' && pred(r)).reduce((a, r) => a + (r['count'] as number), 0);
      const overflows = (): number => counted((r) => r['netns'] === listen.inode && r['counter'] === 'ListenOverflows');
      const tx = (): number => counted((r) => r['netns'] === veth.inode && r['counter'] === 'tx_dropped' && r['interface'] === 'kdva');
      const kernelOverflows = (after['ListenOverflows'] ?? 0) - (before['ListenOverflows'] ?? 0);
      await waitFor(() => overflows() >= kernelOverflows && tx() >= txAfter - txBefore, 90_000, 200);
      const exitCode = await w.stop('SIGINT', 60_000);
      const txRec = recs().find((r) => r['record'] === 'counter' && r['counter'] === 'tx_dropped' && r['interface'] === 'kdva');
      const dropsIn = (inode: number): number => recs().filter((r) => r['record'] !== 'counter' && r['netns'] === inode).reduce((a, r) => a + (r['count'] as number), 0);
      return {
        exitCode,
        stderrTail: w.stderrLines.slice(-10).join('\n'),
        listen: {
          netns: listen.inode, connects: 40, connected,
          kernel: kernelOverflows, kernelListenDrops: (after['ListenDrops'] ?? 0) - (before['ListenDrops'] ?? 0),
          counted: overflows(), countedListenDrops: counted((r) => r['netns'] === listen.inode && r['counter'] === 'ListenDrops'),
          kfreeDrops: dropsIn(listen.inode),
        },
        tx: { netns: veth.inode, sent, kernel: txAfter - txBefore, counted: tx(), direction: txRec?.['direction'] ?? null, metric: txRec?.['metric'] ?? null },
        qstats,
      };
    } finally {
      await w.stop('SIGKILL');
    }
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await listen.remove();
    await veth.remove();
  }
}
