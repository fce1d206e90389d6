/**
 * The kernel probe started at process start (src/source/bpf/prestart.ts): `kdrop watch` adopts it and
 * counts exactly; when the command fails before any source starts, the prestarted probe is stopped and its
 * pins are removed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createNetns, kernelTestSkipReason, waitFor, type TestNetns } from '../helpers/netns.js';
import { probeSkipReason } from '../helpers/probe.js';
import { startCli, sumRecords } from '../helpers/cli.js';
import { DEFAULT_PIN_ROOT } from '../../src/source/bpf/pins.js';

const skip = kernelTestSkipReason() ?? probeSkipReason() ?? false;
const made: TestNetns[] = [];
after(async () => {
  for (const ns of made) await ns.remove();
});

/** Pin directories of process `pid` under the default root. */
const pinsOf = (pid: number): string[] => (existsSync(DEFAULT_PIN_ROOT) ? readdirSync(DEFAULT_PIN_ROOT).filter((d) => d.startsWith(`${pid}-`)) : []);

/** Pids of kdrop-probe processes whose command line names a pin dir of `pid`. */
function probesOf(pid: number): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
    } catch {
      continue; // gone
    }
    if (cmd.includes('kdrop-probe') && cmd.includes(`${DEFAULT_PIN_ROOT}/${pid}-`)) found.push(Number(p));
  }
  return found;
}

test('watch adopts the probe started at process start and counts exactly; its pins are gone after exit', { skip }, async () => {
  const ns = await createNetns('kdroppre');
  made.push(ns);
  const w = startCli(['watch', '--json', '--interval', '1s', '--netns', String(ns.inode)], { KDROP_LOG_LEVEL: 'debug' });
  try {
    await w.waitForLog('watching skb:kfree_skb', 60_000);
    assert.ok(w.stderrLines.some((l) => l.includes('adopting the kdrop-probe started at process start')), w.stderrLines.join('\n'));
    assert.equal(pinsOf(w.child.pid!).length, 1);
    await ns.sendUdp(123, { family: 4, port: 9 });
    assert.equal(await w.stop('SIGINT'), 0);
  } finally {
    await w.stop('SIGKILL');
  }
  assert.equal(sumRecords(w.stdoutLines, (r) => r['netns'] === ns.inode && r['reason'] === 'NO_SOCKET'), 123);
  const first = JSON.parse(w.stdoutLines[0]!) as { interval_s: number };
  assert.ok(first.interval_s < 1, `the first interval is shorter than 1 s: ${first.interval_s}`);
  assert.deepEqual(pinsOf(w.child.pid!), []);
});

test('a command that fails before its source starts stops the prestarted probe and removes its pins', { skip }, async () => {
  const a = startCli(['agent', '--interval', '1s', '--metrics-address', '127.0.0.1:1', '--labels', 'no.such.label'], { KDROP_LOG_LEVEL: 'debug' });
  const pid = a.child.pid!;
  // The probe was started (its pin dir named after this pid) before the config was read.
  const seen = await waitFor(() => probesOf(pid).length > 0 || a.child.exitCode !== null, 10_000, 5);
  const code = await a.exited;
  assert.equal(code, 2, a.stderrLines.join('\n'));
  assert.match(a.stderrLines.join('\n'), /KDROP_E_CONFIG/);
  assert.ok(await waitFor(() => probesOf(pid).length === 0, 5_000), `no probe of ${pid} left`);
  assert.deepEqual(pinsOf(pid), []);
  if (!seen) assert.fail('the probe was not seen running before the agent exited');
});
