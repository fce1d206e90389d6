/**
 * `kdrop trace` and `kdrop watch --flows` as a user runs them: the built CLI, the real probe, drops with a
 * known flow in a fresh network namespace.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createNetns, type TestNetns } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';
import { startCli } from '../helpers/cli.js';
import { probeSkipReason } from '../helpers/probe.js';

const skip = probeSkipReason();
const sender = fileURLToPath(new URL('../helpers/flow-sender.js', import.meta.url));
const made: TestNetns[] = [];
after(async () => {
  for (const ns of made) await ns.remove();
});

async function netns(): Promise<TestNetns> {
  const ns = await createNetns('kdroptrace');
  made.push(ns);
  return ns;
}

test('trace --json --count 2 --proto udp --port 9: NDJSON records with the flow and the watch fields', { skip: skip ?? false, timeout: 90_000 }, async () => {
  const ns = await netns();
  const t = startCli(['trace', '--source', 'bpf', '--json', '--count', '2', '--netns', String(ns.inode), '--proto', 'udp', '--port', '9', '--stack']);
  try {
    await t.waitForLog('tracing sampled drops', 60_000);
    await ns.exec([process.execPath, sender, 'tcp', '4', '40300', '7']); // filtered out by --proto
    await ns.exec([process.execPath, sender, 'udp', '4', '40301', '9', '1', '10']);
    await ns.exec([process.execPath, sender, 'udp', '6', '40302', '9', '1', '10']);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([t.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 30_000)))]);
    clearTimeout(timer);
    assert.equal(code, 0, 'exits after --count events');
  } finally {
    await t.stop('SIGKILL');
  }
  const recs = t.stdoutLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(recs.length, 2);
  const [v4, v6] = recs;
  assert.deepEqual(
    [v4!['src_addr'], v4!['src_port'], v4!['dst_addr'], v4!['dst_port'], v4!['transport'], v4!['ifname'], v4!['reason'], v4!['function'], v4!['netns'], v4!['count']],
    ['127.0.0.1', 40301, '127.0.0.1', 9, 'udp', 'lo', 'NO_SOCKET', dropFunction('udp4'), ns.inode, 1],
  );
  assert.deepEqual([v6!['src_addr'], v6!['src_port'], v6!['network_type']], ['::1', 40302, 'ipv6']);
  assert.ok(Array.isArray(v4!['stack']) && String((v4!['stack'] as string[])[0]).startsWith(`${dropFunction('udp4')}+0x`));
});

test('trace with a source that cannot sample says so and exits 2', { skip: skip ?? false, timeout: 30_000 }, async () => {
  const t = startCli(['trace', '--source', 'tracefs']);
  assert.equal(await t.exited, 2);
  assert.match(t.stderrLines.join('\n'), /samples need the bpf source \(--source bpf\)/);
});

test('watch --flows: an e.g. line with the flow under the count line', { skip: skip ?? false, timeout: 90_000 }, async () => {
  const ns = await netns();
  const w = startCli(['watch', '--source', 'bpf', '--flows', '--interval', '500ms', '--netns', String(ns.inode)]);
  try {
    await w.waitForLog('watching skb:kfree_skb', 60_000);
    await ns.exec([process.execPath, sender, 'udp', '4', '40400', '53', '6', '10']);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await w.stop('SIGINT'), 0);
  } finally {
    await w.stop('SIGKILL');
  }
  const out = w.stdoutLines.join('\n');
  const line = `^6 packets dropped at ${dropFunction('udp4')}\\+0x[0-9a-f]+ \\(NO_SOCKET, error\\) \\[netns \\d+\\]\\n {4}e\\.g\\. udp 127\\.0\\.0\\.1:40400 -> 127\\.0\\.0\\.1:53 on lo \\(5 more suppressed\\)$`;
  assert.match(out, new RegExp(line, 'm'));
});
