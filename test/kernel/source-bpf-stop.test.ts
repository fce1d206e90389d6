/**
 * kdrop-probe's lifecycle against the real kernel: every stop path reports every drop counted (the
 * loader's own final dump), replies answer their own commands, a pin directory is owned through a lock
 * that holds across PID namespaces, a link pinned where resume fails is taken over, arguments are checked.
 * Each test pins under its own root (KDROP_PIN_ROOT), so no other kdrop's pins are ever touched.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { cliPath, sumRecords } from '../helpers/cli.js';
import { PROBE, probeSkipReason } from '../helpers/probe.js';

const skip = probeSkipReason();

const namespaces: TestNetns[] = [];
const roots: string[] = [];
const children: ChildProcess[] = [];
async function newNs(): Promise<TestNetns> {
  const ns = await createNetns('kdropstop');
  namespaces.push(ns);
  return ns;
}
/** A pin root of this test only (removed at the end). */
function newRoot(): string {
  const r = `/sys/fs/bpf/kdrop-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  roots.push(r);
  return r;
}
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const ns of namespaces) await ns.remove();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly err: string[];
  readonly exited: Promise<number | null>;
  waitLine(pred: (l: string) => boolean, timeoutMs?: number): Promise<string>;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, detached = false): Proc {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached });
  children.push(child);
  const lines: string[] = [];
  const err: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters) w();
  });
  createInterface({ input: child.stderr! }).on('line', (l) => {
    err.push(l);
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    err,
    exited,
    waitLine(pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const l = [...lines, ...err].find(pred);
          if (l !== undefined) resolve(l);
          return l !== undefined;
        };
        if (check()) return;
        const t = setTimeout(() => reject(new Error(`no such line within ${timeoutMs} ms; stdout:\n${lines.slice(-20).join('\n')}\nstderr:\n${err.slice(-20).join('\n')}`)), timeoutMs);
        waiters.push(() => {
          if (check()) clearTimeout(t);
        });
        void exited.then(() => {
          if (!check()) {
            clearTimeout(t);
            reject(new Error(`exited before the line; stdout:\n${lines.slice(-20).join('\n')}\nstderr:\n${err.slice(-20).join('\n')}`));
          }
        });
      });
    },
  };
}

/** Sum of the D lines' counts for a netns. */
function dSum(lines: readonly string[], netns: number): number {
  return lines.filter((l) => l.startsWith('D ')).reduce((a, l) => (Number(l.split(' ')[5]) === netns ? a + Number(l.split(' ')[6]) : a), 0);
}

describe('kdrop-probe: commands and the final dump', { skip: skip ?? false, timeout: 120_000 }, () => {
  test('three commands in one write: each reply carries its command id, stop is not left buffered', async () => {
    const p = run(PROBE, ['--no-samples']);
    await p.waitLine((l) => l.startsWith('READY '));
    p.child.stdin!.write('dump 1\ndump 2\nstop 3\n');
    const code = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    assert.equal(code, 0, `the loader exits on the stop queued behind two dumps; stdout:\n${p.lines.join('\n')}`);
    const replies = p.lines.filter((l) => l.startsWith('END ') || l.startsWith('BYE')).map((l) => (l.startsWith('BYE') ? l : (/ id=(\d+)/.exec(l)?.[0] ?? 'END')));
    assert.deepEqual(replies, [' id=1', ' id=2', 'END', 'END', 'BYE 3']);
  });

  for (const how of ['SIGINT', 'SIGTERM', 'SIGHUP', 'stdin closed'] as const) {
    test(`${how}: the drops counted just before are printed in the final dump, every one`, async () => {
      const ns = await newNs();
      const p = run(PROBE, ['--no-samples']);
      await p.waitLine((l) => l.startsWith('READY '));
      await ns.sendUdp(300, { family: 4, port: 9 });
      if (how === 'stdin closed') p.child.stdin!.end();
      else p.child.kill(how);
      assert.equal(await p.exited, 0);
      assert.equal(dSum(p.lines, ns.inode), 300);
      assert.equal(p.lines.at(-1), 'BYE');
    });
  }
});

describe('kdrop watch --source bpf: every stop path reports every drop', { skip: skip ?? false, timeout: 240_000 }, () => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    test(`${sig} to the whole process group ~0.1 s after 500 drops: all 500 reported`, async () => {
      const ns = await newNs();
      const w = run(process.execPath, [cliPath, 'watch', '--source', 'bpf', '--json', '--interval', '30s', '--netns', String(ns.inode)], { KDROP_PROBE: PROBE, KDROP_LOG_LEVEL: 'info', KDROP_PIN_ROOT: newRoot() }, true);
      await w.waitLine((l) => l.includes('"watching skb:kfree_skb"'), 60_000);
      await ns.sendUdp(500, { family: 4, port: 9 });
      await new Promise((r) => setTimeout(r, 100));
      process.kill(-w.child.pid!, sig); // as a terminal does: kdrop and its loader both get it
      assert.equal(await w.exited, 0, w.err.slice(-10).join('\n'));
      assert.equal(sumRecords(w.lines, (r) => r['netns'] === ns.inode), 500);
    });
  }
});

describe('pins across PID namespaces', { skip: skip ?? false, timeout: 180_000 }, () => {
  test('a kdrop in another PID namespace leaves a running kdrop its pins; the first keeps counting', async () => {
    const root = newRoot();
    const ns = await newNs();
    const env = { KDROP_PROBE: PROBE, KDROP_LOG_LEVEL: 'info', KDROP_PIN_ROOT: root };
    const a = run(process.execPath, [cliPath, 'watch', '--source', 'bpf', '--json', '--interval', '1s', '--netns', String(ns.inode)], env);
    await a.waitLine((l) => l.includes('"watching skb:kfree_skb"'), 60_000);
    const mine = readdirSync(root);
    assert.equal(mine.length, 1);
    // The second kdrop sees its own /proc only: the first's pid does not exist there.
    const b = run('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, cliPath, 'watch', '--source', 'bpf', '--json', '--interval', '1s', '--count', '1'], env);
    assert.equal(await b.exited, 0, b.err.slice(-10).join('\n'));
    assert.ok(existsSync(`${root}/${mine[0]}/link`), `the first kdrop's pins are kept (${root}: ${existsSync(root) ? readdirSync(root).join(' ') : 'gone'})`);
    await ns.sendUdp(40, { family: 4, port: 9 });
    assert.ok(await waitFor(() => sumRecords(a.lines, (r) => r['netns'] === ns.inode) >= 40, 30_000, 100));
    a.child.kill('SIGINT');
    assert.equal(await a.exited, 0);
    assert.equal(sumRecords(a.lines, (r) => r['netns'] === ns.inode), 40);
    assert.equal(existsSync(root), false, 'the last kdrop out removes the root');
  });

  test("a directory whose lock nobody holds is removed by the next loader; a locked one is kept", async () => {
    const root = newRoot();
    const held = run(PROBE, ['--no-samples', '--pin-dir', `${root}/1-1-0`]);
    await held.waitLine((l) => l.startsWith('READY '));
    mkdirSync(`${root}/2-2-0`);
    execFileSync('touch', ['-d', '2 hours ago', `${root}/2-2-0`]); // empty and old: its creator is gone
    const p = run(PROBE, ['--no-samples', '--pin-dir', `${root}/3-3-0`]);
    await p.waitLine((l) => l.startsWith('READY '));
    assert.deepEqual(readdirSync(root).sort(), ['1-1-0', '3-3-0']);
    assert.ok(p.lines.some((l) => l === `W removed pins left by a kdrop that is gone: ${root}/2-2-0`));
    // A second loader on a directory another one holds is refused, and touches nothing.
    const second = run(PROBE, ['--no-samples', '--pin-dir', `${root}/1-1-0`]);
    assert.equal(await second.exited, 1);
    assert.match(second.err.join('\n'), /cannot lock the pin directory .*another kdrop holds it/);
    assert.ok(existsSync(`${root}/1-1-0/link`));
    for (const x of [held, p]) x.child.stdin!.end();
    await Promise.all([held.exited, p.exited]);
  });

  test("a lock held for a moment (another kdrop's stale-pin scan of a fresh directory) is waited for, not taken for an owner", async () => {
    const root = newRoot();
    const dir = `${root}/4-4-0`;
    mkdirSync(dir, { recursive: true });
    // What a starting kdrop's loader does to its siblings: flock each for as long as its check takes.
    const scan = run('flock', ['--exclusive', dir, 'sh', '-c', 'echo locked; sleep 0.5']);
    await scan.waitLine((l) => l === 'locked');
    const p = run(PROBE, ['--no-samples', '--pin-dir', dir]);
    await p.waitLine((l) => l.startsWith('READY '));
    assert.equal(await scan.exited, 0);
    assert.ok(existsSync(`${dir}/link`), 'the loader pinned into its directory');
    p.child.stdin!.end();
    assert.equal(await p.exited, 0);
  });

  test('a link pinned where resume fails is taken over, never left beside a second program', async () => {
    const root = newRoot();
    const dir = `${root}/4-4-0`;
    mkdirSync(`${dir}/link`, { recursive: true }); // not a link: resume cannot open it
    const p = run(PROBE, ['--no-samples', '--pin-dir', dir]);
    await p.waitLine((l) => l.startsWith('READY '));
    assert.ok(p.lines.some((l) => l.startsWith(`W took over ${dir}/link`)), p.lines.join('\n'));
    assert.equal(lstatSync(`${dir}/link`).isDirectory(), false, 'our link is pinned there now');
    const show = execFileSync('bpftool', ['link', 'show', 'pinned', `${dir}/link`]).toString();
    assert.match(show, /tracing|raw_tracepoint|perf_event/);
    p.child.stdin!.end();
    assert.equal(await p.exited, 0);
  });
});

describe('kdrop-probe arguments', { skip: skip ?? false }, () => {
  for (const [flag, value] of [
    ['--sample-burst', '-1'],
    ['--sample-burst', '0'],
    ['--sample-max-per-s', '1x'],
    ['--sample-rate', '0.0005'],
    ['--max-keys', '-5'],
  ] as const) {
    test(`${flag} ${value}: exit 2, the flag, what was expected and what was found`, async () => {
      const p = run(PROBE, [flag, value]);
      assert.equal(await p.exited, 2);
      assert.match(p.err.join('\n'), new RegExp(`^kdrop-probe: ${flag}: expected .* found "${value.replace('.', '\\.')}"$`, 'm'));
    });
  }
});

describe('stack ids', { skip: skip ?? false, timeout: 60_000 }, () => {
  /** Whether the pinned stack map holds `id`. */
  const holds = (dir: string, id: number): boolean => {
    const key = [id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, (id >>> 24) & 0xff].map(String);
    try {
      execFileSync('bpftool', ['map', 'lookup', 'pinned', `${dir}/stacks`, 'key', ...key], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };

  test('every sample with a stack id gets its K line; the id stays in the map after printing, until an interval passed without a sample naming it', async () => {
    const ns = await newNs();
    const dir = `${newRoot()}/5-5-0`;
    const p = run(PROBE, ['--stacks', '--sample-burst', '5', '--pin-dir', dir]);
    await p.waitLine((l) => l.startsWith('READY '));
    await ns.sendUdp(5, { family: 4, port: 9 }); // one key: a burst of 5 samples, mostly one stack
    let replies = 0;
    const dump = async (): Promise<void> => {
      p.child.stdin!.write(`dump ${++replies}\n`);
      await p.waitLine((l) => l.startsWith('END ') && l.includes(` id=${replies} `));
    };
    await dump();
    const samples = p.lines.map((l, i) => [l, p.lines[i - 1] ?? ''] as const).filter(([l]) => l.startsWith('S ') && Number(l.split(' ')[5]) === ns.inode);
    assert.equal(samples.length, 5, p.lines.join('\n'));
    const ids = new Set<number>();
    for (const [s, before] of samples) {
      const id = Number(s.split(' ')[17]);
      assert.ok(id >= 0, `a stack id: ${s}`);
      assert.ok(before.startsWith(`K ${id} `), `the line before ${s} is its stack, found: ${before}`);
      ids.add(id);
    }
    for (const id of ids) assert.ok(holds(dir, id), `stack ${id} still held right after its samples were printed`);
    // Freed once no sample named it for a whole interval between two dumps (the samples were read
    // before the first dump or during it): by the third dump at the latest.
    await dump();
    await dump();
    for (const id of ids) assert.equal(holds(dir, id), false, `stack ${id} freed`);
    p.child.stdin!.end();
    assert.equal(await p.exited, 0);
  });
});
