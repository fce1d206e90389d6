/**
 * Reliability: the tracer dies (SIGKILL of bpftrace, 10 times in a row) while drops flow.
 *
 * Drops made while no bpftrace is attached cannot be seen by anyone, so each batch is sent only after the
 * restart is confirmed (a new bpftrace pid that printed its ready marker after attaching), and the kill
 * comes only after the batch was read back. Under that protocol the total must equal the drops made,
 * exactly, and cumulative counts must never decrease.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TracepointFormat } from '../../src/kernel/types.js';
import { parseFormat } from '../../src/kernel/format.js';
import type { DropSample } from '../../src/source/types.js';
import { BpftraceSource } from '../../src/source/bpftrace/index.js';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { startCli, sumRecords } from '../helpers/cli.js';
import { FORMAT_PATH, bpftraceOf, bpftraceSkipReason, processGone } from '../helpers/tracer.js';
import { reasonCode } from '../helpers/running-kernel.js';

// The running kernel's code (numbering drifts between kernels); unused when skipped.
const NO_SOCKET = bpftraceSkipReason() === null ? reasonCode('NO_SOCKET') : -1;
const KILLS = 10;


const made: TestNetns[] = [];
after(async () => {
  for (const ns of made) await ns.remove();
});



const total = (s: readonly DropSample[], netns: number): number =>
  s.filter((x) => x.netns === netns && x.reasonCode === NO_SOCKET && x.protocol === 0x0800).reduce((a, x) => a + x.count, 0);

describe('tracer killed 10 times (BpftraceSource API)', { skip: bpftraceSkipReason() ?? false, timeout: 400_000 }, () => {
  test('each kill restarts bpftrace after a growing delay; counts never decrease; total = drops made; restarts = 10', { timeout: 400_000 }, async () => {
    const format: TracepointFormat = parseFormat(readFileSync(FORMAT_PATH, 'utf8'));
    // The default maxRestarts (5) on purpose: 10 kills of an attached tracer must not use it up.
    const policy = { maxRestarts: 5, initialDelayMs: 100, maxDelayMs: 1600 };
    const src = new BpftraceSource({ format, readIntervalMs: 500, restart: policy });
    const fatal: Error[] = [];
    src.onFatal((e) => fatal.push(e));
    const ns = await createNetns('kdroprel');
    made.push(ns);
    let last = 0;
    const read = async (): Promise<number> => {
      const t = total(await src.collect(), ns.inode);
      assert.ok(t >= last, `cumulative count went down: ${last} -> ${t}`);
      last = t;
      return t;
    };
    try {
      await src.start();
      let sent = 0;
      for (let i = 0; i <= KILLS; i++) {
        // Attached (start() resolved or the restart was confirmed): this batch is seen in full.
        const batch = 20 + i;
        await ns.sendUdp(batch, { family: 4, port: 9 });
        sent += batch;
        assert.ok(await waitFor(async () => (await read()) >= sent, 30_000, 100), `batch ${i}: counted ${last} of ${sent}`);
        assert.equal(await read(), sent, `batch ${i}: exact total`);
        if (i === KILLS) break;
        const pid = src.pid;
        assert.ok(pid !== undefined, 'a running bpftrace');
        const killedAt = Date.now();
        process.kill(pid, 'SIGKILL');
        assert.ok(await waitFor(() => src.pid !== undefined && src.pid !== pid, 60_000, 20), `kill ${i + 1}: bpftrace restarted`);
        const waited = Date.now() - killedAt;
        // Backoff: at least the policy's delay for this restart (a lower bound, so safe on a slow machine).
        const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** i);
        assert.ok(waited >= delay, `kill ${i + 1}: restarted after ${waited} ms, backoff delay ${delay} ms`);
        assert.equal(src.stats().restarts, i + 1);
        assert.equal(await read(), sent, `kill ${i + 1}: the dead instance's counts are kept`);
        assert.ok(await processGone(pid), 'the killed bpftrace is gone');
      }
      assert.equal(src.stats().restarts, KILLS);
      assert.equal(src.stats().lostEvents, 0);
      assert.deepEqual(fatal, []);
      await src.stop();
      assert.equal(total(await src.collect(), ns.inode), sent);
      assert.deepEqual(await bpftraceOf(process.pid), []);
    } finally {
      await src.stop();
      for (const pid of await bpftraceOf(process.pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('tracer killed 10 times under `kdrop watch --json` (default restart policy)', { skip: bpftraceSkipReason() ?? false, timeout: 600_000 }, () => {
  // Its own timeout: a subtest does not inherit the suite's, and npm test's default (180 s) is too short.
  test('watch keeps running; per-interval counts add up to the drops made; 10 restarts logged', { timeout: 600_000 }, async () => {
    const ns = await createNetns('kdroprel');
    made.push(ns);
    const w = startCli(['watch', '--source', 'bpftrace', '--json', '--interval', '1s', '--netns', String(ns.inode)], { KDROP_LOG_LEVEL: 'info' });
    const pid = w.child.pid!;
    const counted = (): number => sumRecords(w.stdoutLines, (r) => r['netns'] === ns.inode && r['reason'] === 'NO_SOCKET');
    const restartedLogs = (): Record<string, unknown>[] =>
      w.stderrLines.flatMap((l) => {
        try {
          const r = JSON.parse(l) as Record<string, unknown>;
          return r['msg'] === 'bpftrace restarted' ? [r] : [];
        } catch {
          return [];
        }
      });
    try {
      await w.waitForLog('watching skb:kfree_skb', 120_000);
      let sent = 0;
      for (let i = 0; i <= KILLS; i++) {
        const batch = 30 + i;
        await ns.sendUdp(batch, { family: 4, port: 9 });
        sent += batch;
        assert.ok(await waitFor(() => counted() >= sent, 30_000, 100), `batch ${i}: printed ${counted()} of ${sent}`);
        assert.equal(counted(), sent);
        if (i === KILLS) break;
        const [bt, ...more] = await bpftraceOf(pid);
        assert.ok(bt !== undefined && more.length === 0, `one bpftrace of kdrop ${pid}`);
        process.kill(bt, 'SIGKILL');
        // Default backoff: 0.5 s doubling to 30 s, so the 10 restarts take about 2.5 minutes.
        assert.ok(await waitFor(() => restartedLogs().length === i + 1, 90_000, 100), `kill ${i + 1}: restart logged`);
        assert.equal(restartedLogs().at(-1)?.['restarts'], i + 1);
        assert.equal(w.child.exitCode, null, 'watch is still running');
      }
      assert.equal(await w.stop('SIGINT'), 0);
    } finally {
      await w.stop('SIGKILL');
      for (const p of await bpftraceOf(pid)) process.kill(p, 'SIGKILL');
    }
    // Every NDJSON record is a positive per-interval delta: the running sum never decreases.
    for (const l of w.stdoutLines) {
      if (l.startsWith('{')) assert.ok((JSON.parse(l) as { count: number }).count > 0, l);
    }
    assert.equal(counted(), 30 * (KILLS + 1) + (KILLS * (KILLS + 1)) / 2, 'total printed = drops made');
    const stopped = w.stderrLines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r['msg'] === 'bpftrace source stopped');
    assert.equal(stopped?.['restarts'], KILLS);
    assert.equal(stopped?.['lostEvents'], 0);
  });
});
