/**
 * End to end: `kdrop top --agent URL` (stdout not a terminal: plain snapshots) against a real
 * `kdrop agent` shows the same totals as the agent's /metrics, for exactly N drops in a fresh netns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { startCli } from '../helpers/cli.js';
import { agentSkipReason, firstInterval, startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { freePort } from './helpers/ports.js';

const skip = await agentSkipReason();
const N = 89;

/** Sum of kdrop_packet_drops_total over the series of one netns, from Prometheus text. */
function metricsTotal(text: string, inode: number): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('kdrop_packet_drops_total{') || !line.includes(`kdrop_netns_inode="${inode}"`)) continue;
    n += Number(line.slice(line.lastIndexOf('}') + 1).trim().split(' ')[0]);
  }
  return n;
}

/** The rows of the last plain snapshot: key -> the other columns. */
function lastSnapshot(stdout: readonly string[]): { title: string; rows: Map<string, string[]> } {
  const starts = stdout.map((l, i) => (l.startsWith('kdrop top ') ? i : -1)).filter((i) => i >= 0);
  const from = starts.at(-1);
  assert.ok(from !== undefined, `no snapshot in:\n${stdout.join('\n')}`);
  const rows = new Map<string, string[]>();
  for (const line of stdout.slice(from + 2)) {
    if (line === '') break;
    const cells = line.split(/ {2,}/);
    rows.set(cells[0]!, cells.slice(1));
  }
  return { title: stdout[from]!, rows };
}

async function top(url: string, groupBy: string): Promise<{ code: number | null; stdout: string[]; stderr: string[] }> {
  const t = startCli(['top', '--agent', url, '--group-by', groupBy, '--interval', '1s', '--count', '2'], { KDROP_LOG_LEVEL: 'warn' });
  const timer = setTimeout(() => t.child.kill('SIGKILL'), 30_000);
  const code = await t.exited;
  clearTimeout(timer);
  return { code, stdout: t.stdoutLines, stderr: t.stderrLines };
}

test('top --agent shows the totals of the agent /metrics for a fresh netns', { skip: skip ?? false, timeout: 240_000 }, async () => {
  let ns: TestNetns | undefined;
  let agent: AgentProcess | undefined;
  try {
    ns = await createNetns('kdroptopagent');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    agent = await startAgentProcess(['--metrics-address', `127.0.0.1:${port}`, '--interval', '1s', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace']);
    await firstInterval(agent);
    await ns.sendUdp(N);
    const inode = ns.inode;
    let fromMetrics = 0;
    await waitFor(async () => (fromMetrics = metricsTotal(await (await fetch(`${url}/metrics`)).text(), inode)) === N, 60_000, 250);
    assert.equal(fromMetrics, N, `/metrics total for netns ${inode}`);

    const byNetns = await top(url, 'netns');
    assert.equal(byNetns.code, 0, byNetns.stderr.join('\n'));
    assert.equal(byNetns.stdout.filter((l) => l.startsWith('kdrop top ')).length, 2, 'one snapshot per interval');
    const snap = lastSnapshot(byNetns.stdout);
    assert.match(snap.title, new RegExp(`group netns {2}sort rate {2}interval 1s {2}source agent 127\\.0\\.0\\.1:${port}: bpftrace {2}lost \\d+`));
    const row = snap.rows.get(String(inode));
    assert.ok(row, `netns ${inode} row in:\n${byNetns.stdout.join('\n')}`);
    // OWNER, RATE/s, TOTAL, ...
    assert.equal(row[0], 'no pod');
    assert.equal(Number(row[2]), fromMetrics, 'top shows the /metrics total');
    assert.ok(!byNetns.stdout.join('\n').includes('\u001b'), 'plain text, no escape sequences');

    const byPod = await top(`127.0.0.1:${port}`, 'pod');
    assert.equal(byPod.code, 0, byPod.stderr.join('\n'));
    assert.equal(Number(lastSnapshot(byPod.stdout).rows.get(`(netns ${inode})`)?.[1]), N);

    // The same API document, read directly.
    const doc = (await (await fetch(`${url}/api/v1/drops`)).json()) as { api_version: string; series: { attributes: Record<string, string>; drops: number }[] };
    assert.equal(doc.api_version, 'kdrop.dev/v1');
    assert.equal(doc.series.filter((s) => s.attributes['kdrop.netns.inode'] === String(inode)).reduce((a, s) => a + s.drops, 0), N);
    assert.equal(await agent.stop(), 0);
  } finally {
    await agent?.stop('SIGKILL');
    await ns?.remove();
  }
});

const flood = fileURLToPath(new URL('../helpers/listen-flood.js', import.meta.url));

/** A listener with backlog 1 that never accepts, in the netns; resolves once it listens. */
async function listener(ns: TestNetns, port: number, procs: ChildProcess[]): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', ns.name, process.execPath, flood, 'listen', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: p.stdout! }).on('line', (l) => l === 'ready' && resolve());
    p.once('exit', (code) => reject(new Error(`listener on ${port} exited ${code}`)));
  });
}

/** Sum of one counter metric over the series of one netns, from Prometheus text. */
function counterTotal(text: string, metric: string, inode: number): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${metric}{`) && line.includes(`kdrop_netns_inode="${inode}"`)) n += Number(line.slice(line.lastIndexOf('}') + 1).trim().split(' ')[0]);
  }
  return n;
}

test('top --agent shows a netns\'s listen overflows (no kfree_skb drop) from the agent; agent --no-counters exports none', { skip: skip ?? false, timeout: 240_000 }, async () => {
  let ns: TestNetns | undefined;
  const agents: AgentProcess[] = [];
  const procs: ChildProcess[] = [];
  let t: ReturnType<typeof startCli> | undefined;
  try {
    ns = await createNetns('kdroptopctr');
    // A process in the netns before the agents start: they find the netns in their first /proc scan.
    await listener(ns, 7800, procs);
    const [port, portOff] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    agents.push(await startAgentProcess(['--metrics-address', `127.0.0.1:${port}`, '--interval', '1s', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace']));
    agents.push(await startAgentProcess(['--metrics-address', `127.0.0.1:${portOff}`, '--interval', '1s', '--labels', '+kdrop.netns.inode', '--no-counters']));
    await Promise.all(agents.map(firstInterval));
    t = startCli(['top', '--agent', url, '--group-by', 'netns', '--interval', '1s', '--count', '120'], { KDROP_LOG_LEVEL: 'warn' });
    const inode = ns.inode;
    // A row of this netns with the counter that grew in the agent's latest interval (the flood's SYNs are
    // retransmitted for a few seconds); each try floods a fresh listener (a full accept queue stays full).
    const shown = (): string | undefined => t!.stdoutLines.find((l) => l.startsWith(`${inode} `) && /\[[^\]]*\bListenOverflows \S+\/s[,\]]/.test(l));
    for (let i = 0; i < 5 && shown() === undefined; i++) {
      if (i > 0) await listener(ns, 7800 + i, procs);
      const done: { stdout: string } = await ns.exec([process.execPath, flood, 'flood', String(7800 + i), '40', '4000']);
      assert.equal(done.stdout.trim(), '2', 'the two connections that fill the accept queue completed');
      await waitFor(() => shown() !== undefined, 3000, 100);
    }
    const row = shown();
    assert.ok(row, `no row of netns ${inode} with ListenOverflows in its counters in:\n${t.stdoutLines.join('\n')}`);
    // OWNER, RATE/s, TOTAL, TREND, EXAMPLE: those SYNs reached no kfree_skb; the row is there for the counter.
    assert.equal(row.split(/ {2,}/)[1], 'no pod');
    t.child.kill('SIGINT');
    assert.equal(await t.exited, 0, t.stderrLines.join('\n'));

    // The agent's totals equal the kernel's own (nstat in the netns), in the API top reads and on /metrics.
    const { stdout: nstat } = await ns.exec(['nstat', '-asz', 'TcpExtListenOverflows']);
    const kernel = Number(/^TcpExtListenOverflows\s+(\d+)/m.exec(nstat)?.[1]);
    assert.ok(kernel >= 40, `the kernel counted ${kernel} overflows`);
    type Doc = { counters?: { counter: string; attributes: Record<string, string>; value: number }[] };
    const apiTotal = async (u: string): Promise<number> =>
      ((await (await fetch(`${u}/api/v1/drops`)).json()) as Doc).counters?.filter((c) => c.counter === 'ListenOverflows' && c.attributes['kdrop.netns.inode'] === String(inode)).reduce((a, c) => a + c.value, 0) ?? 0;
    let api = 0;
    await waitFor(async () => (api = await apiTotal(url)) === kernel, 10_000, 250);
    assert.equal(api, kernel, 'the drops API total');
    assert.equal(counterTotal(await (await fetch(`${url}/metrics`)).text(), 'kdrop_tcp_listen_overflows_total', inode), kernel, '/metrics');
    // --no-counters, same kernel, same time: no counter series at all.
    const off = await (await fetch(`http://127.0.0.1:${portOff}/metrics`)).text();
    assert.match(off, /kdrop_tracer_lost_events_total/);
    assert.doesNotMatch(off, /kdrop_tcp_listen_|system_network_packet_dropped|kdrop_conntrack_|kdrop_nic_drops/);
    assert.equal(((await (await fetch(`http://127.0.0.1:${portOff}/api/v1/drops`)).json()) as Doc).counters, undefined);
    for (const a of agents) assert.equal(await a.stop(), 0);
  } finally {
    t?.child.kill('SIGKILL');
    for (const p of procs) p.kill('SIGKILL');
    for (const a of agents) await a.stop('SIGKILL');
    await ns?.remove();
  }
});

test('top --agent fails fast with KDROP_E_AGENT_API when nothing listens', async () => {
  const port = await freePort();
  const r = await top(`http://127.0.0.1:${port}`, 'pod');
  assert.equal(r.code, 1);
  assert.match(r.stderr.join('\n'), /kdrop: cannot reach the agent at http:\/\/127\.0\.0\.1:\d+.*ECONNREFUSED.*\[KDROP_E_AGENT_API\]/);
});
