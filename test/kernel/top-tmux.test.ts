/**
 * `kdrop top` in a real terminal: tmux runs it full-screen (120x40) as root, drops are made in a fresh
 * netns, and the screen is read back with `tmux capture-pane`. The netns row shows the exact total; the
 * grouping and filter keys change the screen; `q` (and Ctrl-C) leave the alternate screen and give the shell back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';
import { cliPath } from '../helpers/cli.js';
import { bpftraceSkipReason } from '../helpers/tracer.js';
import { columns } from '../../src/top/layout.js';

const run = promisify(execFile);
const WIDTH = 120;
const HEIGHT = 40;
const SOCKET = `kdroptest-${process.pid}-${randomBytes(3).toString('hex')}`;
const SESSION = 'top';

function skipReason(): string | null {
  const r = bpftraceSkipReason();
  if (r) return r;
  try {
    execFileSync('tmux', ['-V']);
  } catch {
    return 'tmux not installed (scripts/setup.sh --test)';
  }
  return null;
}

const tmux = async (...args: string[]): Promise<string> => (await run('tmux', ['-L', SOCKET, ...args])).stdout;
const screen = (): Promise<string> => tmux('capture-pane', '-p', '-t', SESSION);
const keys = (...k: string[]): Promise<string> => tmux('send-keys', '-t', SESSION, ...k);
const type = (text: string): Promise<string> => tmux('send-keys', '-t', SESSION, '-l', text);

let last = '';
async function until(what: string, check: (s: string) => boolean, timeoutMs = 30_000): Promise<string> {
  const ok = await waitFor(async () => check((last = await screen())), timeoutMs, 200);
  assert.ok(ok, `${what}; the screen:\n${last}`);
  return last;
}

/** The TOTAL of the row whose key is `key`, read at the columns the view uses for this width. */
function totalOf(text: string, key: string, groupBy: 'netns' | 'pod'): number | null {
  const c = columns(WIDTH, groupBy);
  const start = 1 + c.key + (c.owner > 0 ? 1 + c.owner : 0) + 1 + c.rate + 1;
  for (const line of text.split('\n')) {
    if (line.slice(1, 1 + c.key).trimEnd() !== key) continue;
    const total = line.slice(start, start + c.total).trim();
    return /^\d+$/.test(total) ? Number(total) : null;
  }
  return null;
}

const made: TestNetns[] = [];
after(async () => {
  // Stop a kdrop left running by a failed assertion (it stops its tracer on SIGINT), then tmux.
  const pane = Number((await tmux('display-message', '-p', '-t', SESSION, '#{pane_pid}').catch(() => '')).trim());
  const kids = pane > 0 ? (await run('pgrep', ['-P', String(pane)]).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((p) => /^\d+$/.test(p)).map(Number) : [];
  for (const pid of kids) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      /* gone */
    }
  }
  await waitFor(() => kids.every((pid) => !existsSync(`/proc/${pid}`)), 20_000);
  await tmux('kill-server').catch(() => undefined);
  for (const ns of made) await ns.remove();
});

test('kdrop top in tmux: exact netns total, grouping, filter and detail keys; q and Ctrl-C restore the terminal', { skip: skipReason() ?? false }, async () => {
  const ns = await createNetns('kdroptop');
  made.push(ns);
  const N = 73;
  // A plain shell in a 120x40 terminal; top's exit status is printed after it.
  await tmux('new-session', '-d', '-s', SESSION, '-x', String(WIDTH), '-y', String(HEIGHT), 'env', '-u', 'KDROP_LOG_LEVEL', 'PS1=$ ', 'bash', '--norc', '--noprofile');
  await type(`clear; echo BEFORE-TOP; ${process.execPath} ${cliPath} top --interval 1s --group-by netns; echo TOP-EXIT:$?`);
  await keys('Enter');

  // The view is drawn once the source is attached; the first interval follows.
  await until('top shows its first interval', (s) => /kdrop top {2}group netns {2}sort rate {2}every 1s {2}[1-9]\d* interval/.test(s), 90_000);
  assert.equal((await tmux('display-message', '-p', '-t', SESSION, '#{alternate_on}')).trim(), '1', 'full screen on the alternate screen');
  assert.doesNotMatch(last, /BEFORE-TOP/, 'the shell is hidden while top runs');

  await ns.sendUdp(N, { family: 4, port: 9 });
  const inode = String(ns.inode);
  let s = await until(`the netns ${inode} row shows ${N} drops`, (t) => totalOf(t, inode, 'netns') === N);
  assert.match(s.split('\n').find((l) => l.slice(1).startsWith(inode)) ?? '', new RegExp(`^[ >]${inode} no pod `), 'owner column');
  // Two more intervals: the total stays exact (nothing counted twice).
  const seen = Number(/(\d+) intervals/.exec(s)?.[1]);
  s = await until('two more intervals', (t) => Number(/(\d+) intervals/.exec(t)?.[1]) >= seen + 2);
  assert.equal(totalOf(s, inode, 'netns'), N);
  assert.match(s, /source (bpf|bpftrace) {2}lost 0/);

  // g: the next grouping (netns -> pod); the netns is not a pod's, so it is its own row.
  await keys('g');
  s = await until('grouped by pod', (t) => /group pod/.test(t) && /^ POD /m.test(t));
  assert.equal(totalOf(s, `(netns ${inode})`, 'pod'), N);

  // /: a filter narrows the rows to the matching one; one that matches nothing says so.
  await type(`/${inode}`);
  await until('filter being typed', (t) => t.includes(`/${inode}█`));
  await keys('Enter');
  s = await until('filter kept', (t) => t.includes(`filter "${inode}"`));
  assert.match(s, / 1 pod {2}filter/);
  assert.equal(totalOf(s, `(netns ${inode})`, 'pod'), N);
  await keys('Escape');
  await until('filter cleared', (t) => !t.includes('filter "'));
  await type('/zzzz-no-such');
  await keys('Enter');
  await until('nothing matches', (t) => t.includes('no pod matches "zzzz-no-such"'));

  // Enter opens the selected row's breakdown: the reason and function of the drops.
  await type('/' + inode);
  await keys('Enter');
  await until('filtered again', (t) => t.includes(`filter "${inode}"`));
  await keys('Enter');
  s = await until('details', (t) => t.includes(`POD (netns ${inode})  (Esc back)`));
  assert.match(s, new RegExp(`NO_SOCKET +${dropFunction('udp4')} +\\S+ +${N}\\b`));
  await keys('Escape');

  // q: top exits 0, the alternate screen is left and the shell's screen is back.
  await keys('q');
  s = await until('top exited', (t) => t.includes('TOP-EXIT:'), 30_000);
  assert.match(s, /TOP-EXIT:0/);
  assert.match(s, /BEFORE-TOP/);
  assert.doesNotMatch(s, /kdrop top {2}group/);
  assert.equal((await tmux('display-message', '-p', '-t', SESSION, '#{alternate_on}')).trim(), '0', 'alternate screen left');
  assert.equal((await tmux('display-message', '-p', '-t', SESSION, '#{cursor_flag}')).trim(), '1', 'cursor shown again');
  // The terminal is back in cooked mode: the shell reads a line and runs it.
  await type('echo AFTER-$((40+2))');
  await keys('Enter');
  await until('the shell runs commands again', (t) => t.includes('AFTER-42'));

  // Ctrl-C (a key in raw mode) quits the same way.
  await type(`clear; ${process.execPath} ${cliPath} top --interval 1s --group-by reason; echo TOP-EXIT2:$?`);
  await keys('Enter');
  await until('top runs again', (t) => /kdrop top {2}group reason/.test(t), 90_000);
  await keys('C-c');
  s = await until('top exited on Ctrl-C', (t) => t.includes('TOP-EXIT2:'), 30_000);
  assert.match(s, /TOP-EXIT2:0/);
  assert.equal((await tmux('display-message', '-p', '-t', SESSION, '#{alternate_on}')).trim(), '0', 'alternate screen left');
});
