/**
 * In the VM: drops with known counts in fresh network namespaces, counted by the real `kdrop watch --json`
 * (the default source) and sampled by `kdrop trace`. Each result carries what was sent and, per netns, what
 * kdrop counted by reason, function and network type; the host compares them with this kernel's facts.
 */
import { fileURLToPath } from 'node:url';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { startCli, type CliProcess } from '../helpers/cli.js';
import { inKallsyms, loaderPids, qdiscReasons, type GuestFacts } from './guest-facts.js';

const flowSender = fileURLToPath(new URL('../helpers/flow-sender.js', import.meta.url));
const udpSender = fileURLToPath(new URL('../helpers/udp-sender.js', import.meta.url));

const made: TestNetns[] = [];
export async function netns(): Promise<TestNetns> {
  const ns = await createNetns('kdropvm');
  made.push(ns);
  return ns;
}
export async function cleanup(): Promise<void> {
  for (const ns of made.splice(0)) await ns.remove();
}

type Rec = Record<string, unknown>;
const records = (w: CliProcess): Rec[] => w.stdoutLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Rec);

/** What kdrop counted for one netns: total, by reason, the functions and codes it named. */
export function summary(recs: readonly Rec[], inode: number): Rec {
  const mine = recs.filter((r) => r['netns'] === inode);
  const byReason: Record<string, number> = {};
  const codes: Record<string, unknown> = {};
  const functions = new Set<string>();
  const types = new Set<string>();
  const byFunction: Record<string, number> = {};
  for (const r of mine) {
    const reason = String(r['reason']);
    byReason[reason] = (byReason[reason] ?? 0) + (r['count'] as number);
    byFunction[String(r['function'])] = (byFunction[String(r['function'])] ?? 0) + (r['count'] as number);
    codes[reason] = r['reason_code'];
    functions.add(String(r['function']));
    types.add(String(r['network_type']));
  }
  const total = Object.values(byReason).reduce((a, b) => a + b, 0);
  const fns = [...functions];
  return { netns: inode, total, byReason, byFunction, codes, functions: fns, functionsInKallsyms: fns.filter(inKallsyms), networkTypes: [...types], intervals: mine.length };
}

export interface Watched {
  readonly w: CliProcess;
  readonly source: unknown;
  readonly attach: unknown;
}

/** How kdrop is started: the compiled CLI on this Node by default, or an image's entrypoint (guest-image.ts). */
export interface Kdrop {
  readonly command: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

export async function startWatch(args: readonly string[], kdrop?: Kdrop): Promise<Watched> {
  const w = startCli(['watch', '--json', '--interval', '1s', ...args], kdrop?.env, kdrop?.command);
  const started = await w.waitForLog('watching skb:kfree_skb', 180_000);
  const attached = w.stderrLines.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Rec) : {})).find((r) => r['msg'] === 'kernel probe attached to kfree_skb');
  return { w, source: started['source'], attach: attached?.['attach'] ?? null };
}

/** Waits until every netns has at least its count (or 90 s), then stops watch with SIGINT (the last interval is printed). */
export async function finish(s: Watched, want: ReadonlyMap<number, number>): Promise<{ code: number | null; recs: Rec[]; stderrTail: string }> {
  await waitFor(() => {
    const recs = records(s.w);
    return [...want].every(([inode, n]) => (summary(recs, inode)['total'] as number) >= n);
  }, 90_000, 200);
  const code = await s.w.stop('SIGINT', 60_000);
  return { code, recs: records(s.w), stderrTail: s.w.stderrLines.slice(-15).join('\n') };
}

/** What watch counted in the four fresh netns of the common check (UDP v4, UDP v6, TCP SYN, nftables), with what each expects. */
export function fourCases(
  recs: readonly Rec[],
  ns: { readonly u4: TestNetns; readonly u6: TestNetns; readonly tcp: TestNetns; readonly nft: TestNetns },
  sent: { readonly udp4: number; readonly udp6: number; readonly tcp: number; readonly nft: number },
): Rec[] {
  return [
    { case: 'udp4', expect: 'NO_SOCKET', networkType: 'ipv4', sent: sent.udp4, ...summary(recs, ns.u4.inode) },
    { case: 'udp6', expect: 'NO_SOCKET', networkType: 'ipv6', sent: sent.udp6, ...summary(recs, ns.u6.inode) },
    { case: 'tcp-syn', expect: 'NO_SOCKET', networkType: 'ipv4', sent: sent.tcp, ...summary(recs, ns.tcp.inode) },
    { case: 'nft', expect: 'NETFILTER_DROP', networkType: 'ipv4', sent: sent.nft, ...summary(recs, ns.nft.inode) },
  ];
}

async function startTrace(ns: TestNetns): Promise<CliProcess> {
  const t = startCli(['trace', '--json', '--count', '1', '--netns', String(ns.inode), '--proto', 'udp', '--port', '9', '--stack']);
  await t.waitForLog('tracing sampled drops', 180_000);
  return t;
}

/**
 * Kills the loader of watch `w` twice during a flood of N into `ns`: each kill once watch has printed drops of
 * this flood that came after the previous kill (so the flood is under way, and again after the restart).
 */
async function floodAndKill(w: CliProcess, ns: TestNetns, N: number): Promise<Rec[]> {
  let flooding = true;
  const flood = ns.sendUdp(N, { family: 4, port: 9 }).finally(() => (flooding = false));
  const counted = (): number => summary(records(w), ns.inode)['total'] as number;
  const kills: Rec[] = [];
  let seen = 0;
  for (let i = 0; i < 2; i++) {
    const before = seen;
    await waitFor(() => !flooding || counted() > before, 120_000, 20);
    await waitFor(() => loaderPids(w.child.pid!).length > 0, 60_000, 20);
    const [pid] = loaderPids(w.child.pid!);
    if (pid === undefined) break;
    const duringFlood = flooding;
    seen = counted();
    process.kill(pid, 'SIGKILL');
    const restarted = await waitFor(() => loaderPids(w.child.pid!).some((p) => p !== pid), 60_000, 20);
    kills.push({ pid, duringFlood, restarted, countedBefore: seen });
  }
  await flood;
  return kills;
}

/**
 * One `kdrop watch --json` (the default source) and one `kdrop trace` started together (a kdrop start costs
 * seconds under TCG): drops in five fresh netns (UDP v4, UDP v6, TCP SYN, nftables, and a flood during which
 * the loader is SIGKILLed twice), and one sampled flow for trace.
 */
export async function dropsCheck(): Promise<{ watch: Rec; trace: Rec; kill: Rec }> {
  const [u4, u6, tcp, nft, flood, traced] = [await netns(), await netns(), await netns(), await netns(), await netns(), await netns()];
  await nft.addNftDrop(4242);
  const [s, t] = await Promise.all([startWatch([]), startTrace(traced)]);
  try {
    const sent = { udp4: 37, udp6: 23, tcp: 5, nft: 19, flood: 80_000 };
    const traceSent = Number((await traced.exec([process.execPath, flowSender, 'udp', '4', '40301', '9', '1', '10'])).stdout.trim());
    await u4.sendUdp(sent.udp4, { family: 4, port: 9 });
    await u6.sendUdp(sent.udp6, { family: 6, port: 9 });
    let refused = 0;
    for (let i = 0; i < sent.tcp; i++) refused += Number((await tcp.exec([process.execPath, flowSender, 'tcp', '4', String(40500 + i), '7'])).stdout.trim());
    await nft.sendUdp(sent.nft, { family: 4, port: 4242 });
    const kills = await floodAndKill(s.w, flood, sent.flood);
    let timer: NodeJS.Timeout | undefined;
    const traceCode = await Promise.race([t.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 60_000)))]);
    clearTimeout(timer);
    const want = new Map([[u4.inode, sent.udp4], [u6.inode, sent.udp6], [tcp.inode, sent.tcp], [nft.inode, sent.nft], [flood.inode, sent.flood]]);
    const { code, recs, stderrTail } = await finish(s, want);
    return {
      watch: {
        source: s.source, attach: s.attach, exitCode: code, stderrTail, tcpRefused: refused,
        cases: fourCases(recs, { u4, u6, tcp, nft }, sent),
      },
      trace: { netns: traced.inode, sent: traceSent, exitCode: traceCode, records: records(t), stderrTail: t.stderrLines.slice(-10).join('\n') },
      kill: { case: 'flood', expect: 'NO_SOCKET', networkType: 'ipv4', sent: sent.flood, kills, ...summary(recs, flood.inode) },
    };
  } finally {
    await Promise.all([s.w.stop('SIGKILL'), t.stop('SIGKILL')]);
    await cleanup();
  }
}

/** A qdisc that drops everything (pfifo, limit 0: no bypass) on the netns's lo. */
export async function qdiscCheck(): Promise<Rec> {
  const out: Rec = { qdiscReasons: qdiscReasons() };
  for (const source of ['default', 'tracefs'] as const) {
    const ns = await netns();
    await ns.exec(['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'pfifo', 'limit', '0']);
    const s = await startWatch(source === 'default' ? [] : ['--source', 'tracefs']);
    try {
      const N = 17;
      await ns.sendUdp(N, { family: 4, port: 9 });
      if (source === 'default') {
        const r = await finish(s, new Map([[ns.inode, N]]));
        out[source] = { source: s.source, sent: N, exitCode: r.code, ...summary(r.recs, ns.inode) };
      } else {
        // tracefs has no netns per drop: every drop of this quiet VM while it ran (host-wide, scope node).
        await new Promise((r) => setTimeout(r, 3000));
        const code = await s.w.stop('SIGINT', 60_000);
        const byReason: Record<string, number> = {};
        for (const r of records(s.w)) byReason[String(r['reason'])] = (byReason[String(r['reason'])] ?? 0) + (r['count'] as number);
        out[source] = { source: s.source, sent: N, exitCode: code, byReason };
      }
    } finally {
      await s.w.stop('SIGKILL');
      await cleanup();
    }
  }
  return out;
}

/** One sender per CPU (taskset), each in its own netns, together, while watch rotates its counts every second. */
export async function cpusCheck(facts: GuestFacts): Promise<Rec> {
  const spaces: TestNetns[] = [];
  for (let i = 0; i < facts.cpus; i++) spaces.push(await netns());
  const s = await startWatch([]);
  try {
    // Two waves, every CPU sending in each. One wave can fit inside one 1 s interval (and the first report
    // waits for kallsyms, slow under TCG), so the second starts only once watch has reported the first
    // wave in every netns and another interval has begun: each netns is counted across a rotation.
    const N = 4000;
    const wave = (): Promise<number[]> => Promise.all(spaces.map(async (ns, cpu) => Number((await ns.exec(['taskset', '-c', String(cpu), process.execPath, udpSender, String(N), '4', '9'])).stdout.trim())));
    const first = await wave();
    await waitFor(() => spaces.every((ns) => (summary(records(s.w), ns.inode)['total'] as number) > 0), 90_000, 100);
    await new Promise((r) => setTimeout(r, 1200));
    const second = await wave();
    const sent = first.map((n, i) => n + (second[i] ?? 0));
    const { code, recs, stderrTail } = await finish(s, new Map(spaces.map((ns) => [ns.inode, 2 * N])));
    return { source: s.source, attach: s.attach, exitCode: code, stderrTail, perCpu: spaces.map((ns, cpu) => ({ cpu, sent: sent[cpu], ...summary(recs, ns.inode) })) };
  } finally {
    await s.w.stop('SIGKILL');
    await cleanup();
  }
}
