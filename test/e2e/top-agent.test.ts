/**
 * End to end: `kdrop top --agent URL` (stdout not a terminal: plain snapshots) against a real
 * `kdrop agent` shows the same totals as the agent's /metrics, for exactly N drops in a fresh netns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

test('top --agent fails fast with KDROP_E_AGENT_API when nothing listens', async () => {
  const port = await freePort();
  const r = await top(`http://127.0.0.1:${port}`, 'pod');
  assert.equal(r.code, 1);
  assert.match(r.stderr.join('\n'), /kdrop: cannot reach the agent at http:\/\/127\.0\.0\.1:\d+.*ECONNREFUSED.*\[KDROP_E_AGENT_API\]/);
});
