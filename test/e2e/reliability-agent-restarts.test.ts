/**
 * Reliability: bpftrace SIGKILLed 10 times in a row under `kdrop agent` (default restart policy: 0.5 s
 * doubling to 30 s, so about 2.5 minutes). The exported counter never decreases between scrapes, the
 * restarts self-metric counts each kill, and the exported total equals the drops made minus what the lost
 * counter reports (0 here). Drops made while no tracer is attached cannot be seen by anyone: each batch is
 * sent only after the restart is confirmed in /metrics, and the next kill only after the batch is exported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { agentSkipReason, firstInterval, startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { freePort } from './helpers/ports.js';
import { bpftraceOf } from '../helpers/tracer.js';

const skip = await agentSkipReason();
const KILLS = 10;


function promSum(text: string, name: string, match = ''): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(match)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

test('bpftrace killed 10 times under kdrop agent: restarts metric = 10, counter monotonic, exported total = drops made - lost', { skip: skip ?? false, timeout: 600_000 }, async () => {
  let ns: TestNetns | undefined;
  let agent: AgentProcess | undefined;
  try {
    ns = await createNetns('kdroprestart');
    const port = await freePort();
    agent = await startAgentProcess(['--metrics-address', `127.0.0.1:${port}`, '--interval', '1s', '--labels', '+kdrop.netns.inode', '--source', 'bpftrace'], {
      KUBECONFIG: '/nonexistent/kdrop-reliability-test',
    });
    await firstInterval(agent);
    const pid = agent.child.proc.pid!;
    const inode = `kdrop_netns_inode="${ns.inode}"`;
    let last = 0;
    const scrape = async (): Promise<{ drops: number; restarts: number; lost: number }> => {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const drops = promSum(t, 'kdrop_packet_drops_total', inode);
      assert.ok(drops >= last, `exported counter went down: ${last} -> ${drops}`);
      last = drops;
      return { drops, restarts: promSum(t, 'kdrop_tracer_restarts_total'), lost: promSum(t, 'kdrop_tracer_lost_events_total') };
    };
    let sent = 0;
    for (let i = 0; i <= KILLS; i++) {
      const batch = 40 + i;
      await ns.sendUdp(batch, { family: 4, port: 9 });
      sent += batch;
      let s = await scrape();
      assert.ok(await waitFor(async () => (s = await scrape()).drops >= sent - s.lost, 30_000, 200), `batch ${i}: exported ${s.drops} of ${sent}`);
      assert.equal(s.drops, sent - s.lost);
      if (i === KILLS) break;
      const [bt, ...more] = await bpftraceOf(pid);
      assert.ok(bt !== undefined && more.length === 0, `one bpftrace of agent ${pid}`);
      process.kill(bt, 'SIGKILL');
      // Confirmed: the source logs "bpftrace restarted" once the new bpftrace attached (its ready marker).
      const restartedLogs = (): number => agent!.child.lines.filter((l) => l.includes('"msg":"bpftrace restarted"')).length;
      assert.ok(await waitFor(() => restartedLogs() === i + 1, 90_000, 100), `kill ${i + 1}: restart confirmed in the log`);
      assert.ok(await waitFor(async () => (await scrape()).restarts === i + 1, 30_000, 200), `kill ${i + 1}: kdrop_tracer_restarts_total = ${i + 1}`);
      assert.equal((await scrape()).drops, sent - (await scrape()).lost, `kill ${i + 1}: the dead instance's counts are kept`);
    }
    const end = await scrape();
    assert.equal(end.restarts, KILLS);
    assert.equal(end.lost, 0);
    assert.equal(end.drops, sent);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200, 'healthy after the restarts');
    assert.equal(await agent.stop(), 0);
  } finally {
    await agent?.stop('SIGKILL');
    await ns?.remove();
  }
});
