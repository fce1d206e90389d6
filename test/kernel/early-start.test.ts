/**
 * The kernel probe started at process start (src/source/bpf/early.ts) keeps the pin-directory protocol of
 * every other loader: its directory is locked through the open file kdrop keeps (fd 3 of the loader), the
 * BpfSource adopts that directory, lock and loader, a second kdrop (another PID namespace) leaves it its
 * pins, a restarted loader locks through the same file; an early start that fails falls back to the usual
 * start (then to the next source of `auto`); a command that ends before its source starts stops it and
 * removes its pins. Each test pins under its own root (KDROP_PIN_ROOT).
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { cliPath, startCli, sumRecords, type CliProcess } from '../helpers/cli.js';
import { PROBE, probeSkipReason } from '../helpers/probe.js';

const skip = probeSkipReason() ?? false;
const namespaces: TestNetns[] = [];
const roots: string[] = [];
const clis: CliProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'kdrop-early-'));
after(async () => {
  for (const c of clis) await c.stop('SIGKILL');
  for (const ns of namespaces) await ns.remove();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

function newRoot(): string {
  const r = `/sys/fs/bpf/kdrop-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  roots.push(r);
  return r;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
  const c = startCli(args, { KDROP_LOG_LEVEL: 'debug', ...env });
  clis.push(c);
  return c;
}

/** Parsed JSON log lines with this msg. */
function logs(c: CliProcess, msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of c.stderrLines) {
    try {
      const r = JSON.parse(l) as Record<string, unknown>;
      if (r['msg'] === msg) out.push(r);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** Inodes of the directories flock()ed (WRITE) on this machine, from /proc/locks. */
function flockedInodes(): Set<number> {
  const out = new Set<number>();
  for (const l of readFileSync('/proc/locks', 'utf8').split('\n')) {
    const m = /FLOCK\s+ADVISORY\s+WRITE\s+\d+\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(l);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

/** The paths the open files of process `pid` name. */
function openPaths(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/**
 * A kdrop-probe that records each start (its argv and pid, one line in `log`) and fails the first `failures`
 * starts (exit 1, as a loader that cannot attach), then runs the real one (fd 3, the lock, passes through exec).
 * `--qstats` runs (the counters' queue-stats read) go to the real one unrecorded.
 */
function probeWrapper(name: string, failures: number): { path: string; starts(): string[] } {
  const path = join(tmp, name);
  const log = join(tmp, `${name}.log`);
  writeFileSync(
    path,
    // The counters' queue-stats read (`--qstats`, once per interval) is not a start: passed through unrecorded.
    `#!/bin/sh
if [ "$1" = "--qstats" ]; then exec '${PROBE}' "$@"; fi
echo "$$ $*" >> '${log}'
n=$(($(wc -l < '${log}') - 1))
if [ "$n" -lt ${failures} ]; then echo "kdrop-probe: cannot attach to kfree_skb: test failure $n" >&2; exit 1; fi
exec '${PROBE}' "$@"
`,
    { mode: 0o755 },
  );
  return { path, starts: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

/** Live processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) found.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return found;
}

describe('the kernel probe started at process start', { skip, timeout: 180_000 }, () => {
  test('watch adopts it on its locked pin directory; another kdrop keeps off; a restart locks through the same file; exact', async () => {
    const root = newRoot();
    const ns = await createNetns('kdropearly');
    namespaces.push(ns);
    const env = { KDROP_PROBE: PROBE, KDROP_PIN_ROOT: root };
    const a = cli(['watch', '--source', 'bpf', '--json', '--interval', '1s', '--netns', String(ns.inode)], env);
    await a.waitForLog('watching skb:kfree_skb', 60_000);
    const pid = a.child.pid!;
    const adopted = logs(a, 'adopting the kdrop-probe started at process start');
    assert.equal(adopted.length, 1, a.stderrLines.join('\n'));
    const dirs = readdirSync(root);
    assert.equal(dirs.length, 1);
    const dir = join(root, dirs[0]!);
    assert.equal(adopted[0]!['dir'], dir);
    assert.match(dirs[0]!, new RegExp(`^${pid}-\\d+-0$`), 'named after this process, the first of its sequence');
    const loaderPid = logs(a, 'kernel probe attached to kfree_skb')[0]!['loaderPid'] as number;
    assert.equal(adopted[0]!['loaderPid'], loaderPid, 'the attached loader is the early one');
    // The lock: the directory is flock()ed, through an open file of kdrop itself that the loader has as fd 3.
    assert.ok(flockedInodes().has(statSync(dir).ino), `${dir} is locked (/proc/locks)`);
    assert.ok(openPaths(pid).includes(dir), 'kdrop keeps the directory open');
    assert.equal(readlinkSync(`/proc/${loaderPid}/fd/3`), dir, 'the loader got it as fd 3');

    // A second kdrop, in a PID namespace where the first's pid does not exist, scans for stale pins.
    const b = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, cliPath, 'watch', '--source', 'bpf', '--json', '--interval', '1s', '--count', '1'], {
      stdio: 'ignore',
      env: { ...process.env, ...env, KDROP_LOG_LEVEL: 'warn' },
    });
    assert.equal(await new Promise((r) => b.once('exit', r)), 0);
    assert.ok(existsSync(join(dir, 'link')), `the first kdrop's pins are kept (${readdirSync(root).join(' ')})`);

    // The adopted loader dies: its successor runs on the same directory, locked through the same file.
    process.kill(loaderPid, 'SIGKILL');
    assert.ok(
      await waitFor(() => {
        const l = processesWith(`--pin-dir\0${dir}`).filter((p) => p !== loaderPid);
        return l.length === 1 && readlinkSync(`/proc/${l[0]}/fd/3`) === dir;
      }, 30_000),
      'a new loader on the same directory with the lock file as fd 3',
    );
    assert.ok(flockedInodes().has(statSync(dir).ino), 'still locked');

    await ns.sendUdp(40, { family: 4, port: 9 });
    assert.ok(await waitFor(() => sumRecords(a.stdoutLines, (r) => r['netns'] === ns.inode) >= 40, 30_000));
    assert.equal(await a.stop('SIGINT'), 0);
    assert.equal(sumRecords(a.stdoutLines, (r) => r['netns'] === ns.inode), 40);
    assert.equal(existsSync(dir), false, 'its pins are gone after exit');
  });

  test('an early start that fails falls back to the usual start on a fresh locked directory, and counts exactly', async () => {
    const root = newRoot();
    const ns = await createNetns('kdropearly');
    namespaces.push(ns);
    const probe = probeWrapper('fail-once', 1);
    const a = cli(['watch', '--source', 'bpf', '--json', '--interval', '1s', '--netns', String(ns.inode)], { KDROP_PROBE: probe.path, KDROP_PIN_ROOT: root });
    await a.waitForLog('watching skb:kfree_skb', 60_000);
    const pid = a.child.pid!;
    const starts = probe.starts();
    assert.equal(starts.length, 2, starts.join('\n'));
    assert.match(starts[0]!, new RegExp(`--pin-dir ${root}/${pid}-\\d+-0 --no-samples --lock-fd 3$`), 'the early start, locked');
    assert.match(starts[1]!, new RegExp(`--pin-dir ${root}/${pid}-\\d+-1 --no-samples --lock-fd 3$`), 'the usual start, locked, on a fresh directory');
    assert.equal(logs(a, 'the kdrop-probe started at process start is not used; starting one the usual way').length, 1);
    const dirs = readdirSync(root);
    assert.deepEqual(dirs.map((d) => d.replace(/^\d+-\d+-/, '')), ['1'], `only the usual start's directory is left: ${dirs.join(' ')}`);
    assert.ok(flockedInodes().has(statSync(join(root, dirs[0]!)).ino));
    await ns.sendUdp(25, { family: 4, port: 9 });
    assert.ok(await waitFor(() => sumRecords(a.stdoutLines, (r) => r['netns'] === ns.inode) >= 25, 30_000));
    assert.equal(await a.stop('SIGINT'), 0);
    assert.equal(sumRecords(a.stdoutLines, (r) => r['netns'] === ns.inode), 25);
    assert.deepEqual(existsSync(root) ? readdirSync(root) : [], []);
  });

  test('auto with a probe that never attaches: the next source counts; no probe and no pins are left', async () => {
    const root = newRoot();
    const probe = probeWrapper('fail-always', 1000);
    const a = cli(['watch', '--source', 'auto', '--json', '--interval', '1s', '--count', '1'], { KDROP_PROBE: probe.path, KDROP_PIN_ROOT: root });
    assert.equal(await a.exited, 0, a.stderrLines.join('\n').slice(-2000));
    assert.equal(probe.starts().length, 2, 'the early start and the usual one were tried');
    assert.equal(logs(a, 'bpf source unavailable, trying the next one').length, 1, a.stderrLines.join('\n').slice(-2000));
    assert.deepEqual(existsSync(root) ? readdirSync(root) : [], []);
    assert.deepEqual(processesWith(root), []);
  });

  test('a command that fails before its source starts stops the early probe and removes its pins', async () => {
    const root = newRoot();
    const probe = probeWrapper('record', 0);
    // --reason is checked against the running kernel's names once the host's facts are read.
    const a = cli(['watch', '--source', 'bpf', '--json', '--reason', 'NO_SUCH_REASON_HERE'], { KDROP_PROBE: probe.path, KDROP_PIN_ROOT: root });
    assert.equal(await a.exited, 2, a.stderrLines.join('\n'));
    assert.match(a.stderrLines.join('\n'), /KDROP_E_CONFIG/);
    assert.equal(probe.starts().length, 1, 'the probe was started before the filters were checked');
    assert.ok(await waitFor(() => processesWith(root).length === 0, 5_000), 'no probe left');
    assert.deepEqual(existsSync(root) ? readdirSync(root) : [], []);
  });

  test('not started early where the source would not run it: --source tracefs, --flows', async () => {
    for (const args of [
      ['watch', '--source', 'tracefs', '--json', '--count', '1', '--interval', '500ms'],
      ['watch', '--source', 'bpf', '--flows', '--json', '--count', '1', '--interval', '500ms'],
    ]) {
      const root = newRoot();
      const probe = probeWrapper(`never-${args.includes('--flows') ? 'flows' : 'tracefs'}`, 0);
      const a = cli(args, { KDROP_PROBE: probe.path, KDROP_PIN_ROOT: root });
      assert.equal(await a.exited, 0, a.stderrLines.join('\n').slice(-2000));
      assert.equal(logs(a, 'adopting the kdrop-probe started at process start').length, 0);
      // --flows runs the probe with samples, the usual way (one start); tracefs none.
      assert.equal(probe.starts().length, args.includes('--flows') ? 1 : 0, probe.starts().join('\n'));
      assert.deepEqual(existsSync(root) ? readdirSync(root) : [], []);
    }
  });
});
