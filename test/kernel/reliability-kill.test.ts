/**
 * Reliability: `kdrop watch` killed with SIGKILL (no chance to clean up).
 * - bpftrace source: the death signal (setpriv --pdeathsig) ends its bpftrace at once; where setpriv is
 *   unavailable (simulated by a PATH whose setpriv fails) the orphan survives and the next start kills it.
 * - tracefs source: the instance kdrop-<pid>-* stays behind; the next start removes it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, rmdirSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, kernelTestSkipReason, waitFor, type TestNetns } from '../helpers/netns.js';
import { startCli, sumRecords, type CliProcess } from '../helpers/cli.js';
import { bpftraceOf, bpftraceSkipReason, processGone } from '../helpers/tracer.js';

const TRACEFS = '/sys/kernel/tracing';

function tracefsSkip(): string | null {
  return kernelTestSkipReason() ?? (existsSync(`${TRACEFS}/instances`) ? null : `no ${TRACEFS}/instances`);
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});



function instancesOf(pid: number): string[] {
  return readdirSync(`${TRACEFS}/instances`).filter((n) => n.startsWith(`kdrop-${pid}-`));
}

function track(w: CliProcess): CliProcess {
  cleanups.push(async () => {
    await w.stop('SIGKILL');
  });
  return w;
}

test('SIGKILL of `kdrop watch --source bpftrace`: its bpftrace dies with it (death signal)', { skip: bpftraceSkipReason() ?? false, timeout: 120_000 }, async () => {
  const w = track(startCli(['watch', '--source', 'bpftrace', '--json', '--interval', '1s']));
  await w.waitForLog('watching skb:kfree_skb', 90_000);
  const pid = w.child.pid!;
  const tracers = await bpftraceOf(pid);
  assert.equal(tracers.length, 1, 'one bpftrace running for this kdrop');
  const [bt] = tracers as [number];
  cleanups.push(async () => {
    if (!(await processGone(bt))) process.kill(bt, 'SIGKILL');
  });
  w.child.kill('SIGKILL');
  await w.exited;
  assert.ok(await waitFor(() => processGone(bt), 20_000, 100), `bpftrace ${bt} outlived its kdrop ${pid}`);
});

test('SIGKILL of kdrop without a death signal: the orphan bpftrace survives, the next start kills it and counts exactly', { skip: bpftraceSkipReason() ?? false, timeout: 180_000 }, async () => {
  // A PATH whose setpriv fails: kdrop then runs bpftrace without --pdeathsig (as on hosts without util-linux setpriv).
  const bin = mkdtempSync(join(tmpdir(), 'kdrop-nosetpriv-'));
  cleanups.push(() => rmSync(bin, { recursive: true, force: true }));
  writeFileSync(join(bin, 'setpriv'), '#!/bin/sh\nexit 1\n');
  chmodSync(join(bin, 'setpriv'), 0o755);
  const env = { PATH: `${bin}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
  const first = track(startCli(['watch', '--source', 'bpftrace', '--json', '--interval', '1s'], env));
  await first.waitForLog('watching skb:kfree_skb', 90_000);
  const [orphan] = await bpftraceOf(first.child.pid!);
  assert.ok(orphan !== undefined, 'first kdrop runs a bpftrace');
  cleanups.push(async () => {
    if (!(await processGone(orphan))) process.kill(orphan, 'SIGKILL');
  });
  // kdrop asks bpftrace to print its maps every second (SIGUSR1); a print that lands after kdrop died
  // hits a closed pipe and SIGPIPE ends the orphan by chance. Freeze kdrop first, let a print in flight
  // finish into the pipe buffer, then kill it: the orphan then has no reason to write, and stays.
  first.child.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 1500));
  first.child.kill('SIGKILL');
  await first.exited;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await processGone(orphan), false, 'without a death signal the bpftrace outlives kdrop (the case the stale scan exists for)');

  const ns: TestNetns = await createNetns('kdroprel');
  cleanups.push(() => ns.remove());
  const second = track(startCli(['watch', '--source', 'bpftrace', '--json', '--interval', '1s', '--netns', String(ns.inode)], env));
  await second.waitForLog('watching skb:kfree_skb', 90_000);
  assert.ok(await waitFor(() => processGone(orphan), 20_000, 100), `the next start did not remove the stale bpftrace ${orphan}`);
  assert.ok(second.stderrLines.some((l) => l.includes('killing a bpftrace left behind')), 'the removal is logged');
  await ns.sendUdp(25, { family: 4, port: 9 });
  assert.ok(await waitFor(() => sumRecords(second.stdoutLines, (r) => r['netns'] === ns.inode) >= 25, 30_000, 100));
  assert.equal(await second.stop('SIGINT'), 0);
  assert.equal(sumRecords(second.stdoutLines, (r) => r['netns'] === ns.inode && r['reason'] === 'NO_SOCKET'), 25);
  assert.deepEqual(await bpftraceOf(second.child.pid!), []);
});

test('SIGKILL of `kdrop watch --source tracefs`: the instance stays; the next start removes it', { skip: tracefsSkip() ?? false, timeout: 120_000 }, async () => {
  const first = track(startCli(['watch', '--source', 'tracefs', '--json', '--interval', '1s']));
  await first.waitForLog('watching skb:kfree_skb', 60_000);
  const pid = first.child.pid!;
  const left = instancesOf(pid);
  assert.equal(left.length, 1, 'one instance while running');
  cleanups.push(() => {
    for (const name of instancesOf(pid)) rmdirSync(`${TRACEFS}/instances/${name}`);
  });
  first.child.kill('SIGKILL');
  await first.exited;
  assert.deepEqual(instancesOf(pid), left, 'a SIGKILLed kdrop cannot remove its instance');

  const second = track(startCli(['watch', '--source', 'tracefs', '--json', '--interval', '1s', '--count', '1']));
  await second.waitForLog('watching skb:kfree_skb', 60_000);
  assert.deepEqual(instancesOf(pid), [], 'the next start removed the stale instance');
  const removed = second.stderrLines.find((l) => l.includes('removed stale kdrop tracefs instances'));
  assert.ok(removed?.includes(left[0]!), 'the removal names the instance');
  assert.equal(await second.exited, 0);
  assert.deepEqual(instancesOf(second.child.pid!), [], 'and removed its own on exit');
});

test('restarted with the same pid (a container restart): the dead run\'s kdrop-<pid>-* instance is removed, this run\'s own are kept', { skip: tracefsSkip() ?? false, timeout: 120_000 }, async () => {
  const { TracefsSource } = await import('../../src/source/tracefs/index.js');
  const { readTracepointFormat } = await import('../../src/kernel/format.js');
  const format = await readTracepointFormat(TRACEFS);
  // What a previous run with this pid left: a real instance named like ours, still enabled.
  const leftover = `kdrop-${process.pid}-deadbeef`;
  const { mkdirSync, writeFileSync: write } = await import('node:fs');
  mkdirSync(`${TRACEFS}/instances/${leftover}`);
  cleanups.push(() => {
    if (existsSync(`${TRACEFS}/instances/${leftover}`)) rmdirSync(`${TRACEFS}/instances/${leftover}`);
  });
  write(`${TRACEFS}/instances/${leftover}/events/skb/kfree_skb/enable`, '1');
  const a = new TracefsSource({ tracefsDir: TRACEFS, format, filter: 'common_pid == 1' });
  const b = new TracefsSource({ tracefsDir: TRACEFS, format, filter: 'common_pid == 1' });
  cleanups.push(() => a.stop());
  cleanups.push(() => b.stop());
  await a.start();
  assert.equal(existsSync(`${TRACEFS}/instances/${leftover}`), false, 'the same-pid leftover was removed');
  await b.start();
  assert.ok(existsSync(`${TRACEFS}/instances/${a.instanceName!}`), "a second source does not remove the first one's instance");
  assert.deepEqual(instancesOf(process.pid).sort(), [a.instanceName!, b.instanceName!].sort());
  await a.stop();
  await b.stop();
  assert.deepEqual(instancesOf(process.pid), []);
});
