/**
 * Reliability: the kernel side changes under a running kdrop.
 * - A module loads after start (this VM's kernel has no loadable modules): a fixture proc tree whose
 *   kallsyms gains `[mod]` symbols after start, through KallsymsSymbolizer and through `kdrop --proc`.
 * - kernel.kptr_restrict flips to 2 (the real sysctl, always restored): `kdrop symbolize` and `kdrop watch`
 *   fail at start with KALLSYMS_RESTRICTED; a running watch keeps its table and keeps counting.
 * - tracefs unmounted under a running tracefs source: one clear error, exit 1, no hang; the next start on
 *   the remaining tracefs removes the instance the unmount made unreachable.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseKallsyms } from '../../src/symbolize/kallsyms.js';
import { KallsymsSymbolizer } from '../../src/symbolize/kallsyms-symbolizer.js';
import { SymbolTable } from '../../src/symbolize/symbol-table.js';
import { isKdropError, ErrorCodes } from '../../src/errors.js';
import { createNetns, kernelTestSkipReason, waitFor, type TestNetns } from '../helpers/netns.js';
import { startCli, sumRecords, type CliProcess } from '../helpers/cli.js';
import { dropFunction } from '../helpers/running-kernel.js';

const run = promisify(execFile);
const TRACEFS = '/sys/kernel/tracing';
const KPTR = '/proc/sys/kernel/kptr_restrict';
/** No Kubernetes API for these runs, whatever the machine has in ~/.kube. */
const NO_KUBE = { KUBECONFIG: '/nonexistent/kdrop-reliability-test' };

function bpftraceSkip(): string | null {
  const k = kernelTestSkipReason();
  if (k) return k;
  if (!existsSync('/usr/bin/bpftrace') && !existsSync('/usr/local/bin/bpftrace')) return 'bpftrace not installed';
  return null;
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
function track(w: CliProcess): CliProcess {
  cleanups.push(async () => {
    await w.stop('SIGKILL');
  });
  return w;
}
async function netns(): Promise<TestNetns> {
  const ns = await createNetns('kdroprel');
  cleanups.push(() => ns.remove());
  return ns;
}
function records(lines: readonly string[]): Record<string, unknown>[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}
/** Address of a core kernel text symbol in the real /proc/kallsyms (root, kptr_restrict < 2). */
function realSymbol(name: string): bigint {
  const line = readFileSync('/proc/kallsyms', 'utf8').split('\n').find((l) => l.endsWith(` ${name}`) && / [tT] /.test(l));
  assert.ok(line, `${name} in /proc/kallsyms`);
  const addr = BigInt(`0x${line.split(' ')[0]}`);
  assert.notEqual(addr, 0n, '/proc/kallsyms shows real addresses');
  return addr;
}
const hex = (a: bigint): string => a.toString(16).padStart(16, '0');

test('module loaded after start (fixture kallsyms): KallsymsSymbolizer resolves its symbols after a reload; a restricted reread keeps the old table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-proc-'));
  try {
    const file = join(dir, 'kallsyms');
    writeFileSync(file, 'ffffffff81000000 T _stext\nffffffff81001000 T _etext_fixture\n');
    let clock = 0;
    let kptr: number | null = 0;
    const reload = async (): Promise<SymbolTable> => SymbolTable.from(parseKallsyms(readFileSync(file, 'utf8'), { kptrRestrict: kptr, source: file }));
    const sym = new KallsymsSymbolizer(await reload(), { reload, now: () => clock, minReloadIntervalMs: 10_000 });
    const inMod = 0xffffffffc0a01234n;
    assert.equal(sym.resolve(inMod), null, 'unknown before the module loads');
    // The module loads: kallsyms gains its symbols (file order need not be sorted).
    writeFileSync(file, `ffffffffc0a01000 t mod_rcv\t[kdropmod]\nffffffff81000000 T _stext\nffffffffc0a02000 t mod_exit\t[kdropmod]\nffffffff81001000 T _etext_fixture\n`);
    clock = 5_000;
    await sym.prepare([inMod]);
    assert.equal(sym.resolve(inMod), null, 'a miss is not retried before the reload interval');
    clock = 10_000;
    await sym.prepare([inMod]);
    assert.deepEqual(sym.resolve(inMod), { function: 'mod_rcv', offset: 0x234, size: 0x1000, module: 'kdropmod' });
    assert.equal(sym.reloads(), 1);
    // kptr_restrict flips to 2: kallsyms shows zeros; the reload fails and the old table stays.
    kptr = 2;
    writeFileSync(file, '0000000000000000 t mod_rcv\t[kdropmod]\n0000000000000000 T _stext\n');
    clock = 30_000;
    await sym.prepare([0xffffffff90000000n]);
    assert.equal(sym.resolve(0xffffffff90000000n), null, 'an unknown address triggers a reload, which fails');
    assert.equal(sym.reloads(), 1, 'the failed reload did not replace the table');
    assert.equal(sym.resolve(inMod)?.function, 'mod_rcv');
    assert.equal(sym.resolve(0xffffffff81000010n)?.function, '_stext');
    await assert.rejects(reload(), (e) => isKdropError(e, ErrorCodes.KALLSYMS_RESTRICTED) && /kptr_restrict=2/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('module loaded after start: `kdrop --proc FIXTURE watch` names drops by the new [module] symbol', { skip: bpftraceSkip() ?? false, timeout: 180_000 }, async () => {
  // The real drop site (__udp4_lib_rcv+off; udp_rcv+off on 7.x) is unknown to the fixture at start; the
  // "module" that then appears covers it, so later drops must resolve to mod_udp_rcv [kdropmod] with the same offset.
  const udp = realSymbol(dropFunction('udp4'));
  const proc = mkdtempSync(join(tmpdir(), 'kdrop-proc-'));
  cleanups.push(() => rmSync(proc, { recursive: true, force: true }));
  mkdirSync(join(proc, 'sys', 'kernel'), { recursive: true });
  writeFileSync(join(proc, 'sys', 'kernel', 'kptr_restrict'), '0\n');
  writeFileSync(join(proc, 'kallsyms'), 'ffffffff81000000 T _stext\nffffffff81000100 T _stext_end\n');
  const ns = await netns();
  const w = track(startCli(['--proc', proc, 'watch', '--source', 'bpftrace', '--json', '--interval', '1s', '--netns', String(ns.inode)], NO_KUBE));
  await w.waitForLog('watching skb:kfree_skb', 90_000);
  await ns.sendUdp(10, { family: 4, port: 9 });
  assert.ok(await waitFor(() => sumRecords(w.stdoutLines, () => true) >= 10, 30_000, 100), 'first batch printed');
  const before = records(w.stdoutLines)[0]!;
  assert.equal(before['function'], null, 'unresolved before the module loads');
  assert.match(String(before['location']), /^0xffffffff[0-9a-f]{8}$/);
  const address = BigInt(String(before['address']));
  // The module loads (atomic replace of the fixture file).
  const tmp = join(proc, 'kallsyms.new');
  writeFileSync(tmp, `${hex(udp)} t mod_udp_rcv\t[kdropmod]\n${hex(udp + 0x2000n)} t mod_udp_end\t[kdropmod]\nffffffff81000000 T _stext\nffffffff81000100 T _stext_end\n`);
  renameSync(tmp, join(proc, 'kallsyms'));
  let sent = 10;
  // The symbolizer rereads kallsyms at most every 10 s, on a miss: keep making drops until they resolve.
  const resolved = await waitFor(
    async () => {
      await ns.sendUdp(5, { family: 4, port: 9 });
      sent += 5;
      await new Promise((r) => setTimeout(r, 1500));
      return records(w.stdoutLines).some((r) => r['function'] === 'mod_udp_rcv');
    },
    60_000,
    0,
  );
  assert.ok(resolved, `no record named mod_udp_rcv; last: ${w.stdoutLines.at(-1)}`);
  assert.equal(await w.stop('SIGINT'), 0);
  const named = records(w.stdoutLines).find((r) => r['function'] === 'mod_udp_rcv')!;
  assert.equal(named['module'], 'kdropmod');
  assert.equal(BigInt(String(named['address'])), address);
  assert.equal(named['offset'], Number(address - udp));
  assert.equal(named['location'], `mod_udp_rcv+0x${(address - udp).toString(16)}`);
  assert.equal(sumRecords(w.stdoutLines, (r) => r['netns'] === ns.inode), sent, 'every drop counted across the reload');
});

/** Runs fn with kernel.kptr_restrict set to value; always restores the original. */
async function withKptrRestrict<T>(value: number, fn: () => Promise<T>): Promise<T> {
  const original = readFileSync(KPTR, 'utf8').trim();
  try {
    writeFileSync(KPTR, String(value));
    return await fn();
  } finally {
    writeFileSync(KPTR, original);
    assert.equal(readFileSync(KPTR, 'utf8').trim(), original, 'kptr_restrict restored');
  }
}

test('kptr_restrict=2 at start: `kdrop symbolize` and `kdrop watch` fail with KALLSYMS_RESTRICTED and say how to fix it', { skip: kernelTestSkipReason() ?? (existsSync(KPTR) ? false : `no ${KPTR}`), timeout: 120_000 }, async () => {
  const [sym, watch] = await withKptrRestrict(2, async () => {
    const s = track(startCli(['symbolize', '0xffffffff81000000'], NO_KUBE));
    const w = track(startCli(['watch', '--source', 'tracefs', '--count', '1', '--interval', '1s'], NO_KUBE));
    return [await s.exited.then((code) => ({ code, p: s })), await w.exited.then((code) => ({ code, p: w }))];
  });
  assert.equal(sym.code, 2);
  const symErr = sym.p.stderrLines.join('\n');
  assert.match(symErr, /KDROP_E_KALLSYMS_RESTRICTED/);
  assert.match(symErr, /kptr_restrict=2/);
  assert.match(symErr, /sysctl -w kernel.kptr_restrict=1/);
  assert.equal(watch.code, 1);
  const watchErr = watch.p.stderrLines.filter((l) => l.startsWith('kdrop: '));
  assert.equal(watchErr.length, 1, 'one error line');
  assert.match(watchErr[0]!, /only zero addresses.*kptr_restrict=2.*\[KDROP_E_KALLSYMS_RESTRICTED\]$/);
  assert.ok(!watch.p.stderrLines.some((l) => /^\s+at /.test(l)), 'no stack trace');
  assert.deepEqual(readdirSync(`${TRACEFS}/instances`).filter((n) => n.startsWith(`kdrop-${watch.p.child.pid}-`)), [], 'nothing left behind');
});

test('kptr_restrict=2 while watching: the running watch keeps its symbols and its counts', { skip: bpftraceSkip() ?? (existsSync(KPTR) ? false : `no ${KPTR}`), timeout: 180_000 }, async () => {
  const ns = await netns();
  const w = track(startCli(['watch', '--source', 'bpftrace', '--json', '--interval', '1s', '--netns', String(ns.inode)], NO_KUBE));
  await w.waitForLog('watching skb:kfree_skb', 90_000);
  await ns.sendUdp(20, { family: 4, port: 9 });
  assert.ok(await waitFor(() => sumRecords(w.stdoutLines, () => true) >= 20, 30_000, 100));
  const printedBefore = w.stdoutLines.length;
  await withKptrRestrict(2, async () => {
    await ns.sendUdp(30, { family: 4, port: 9 });
    assert.ok(await waitFor(() => sumRecords(w.stdoutLines, () => true) >= 50, 30_000, 100), 'counting goes on');
  });
  assert.equal(w.child.exitCode, null, 'still running');
  assert.equal(await w.stop('SIGINT'), 0);
  const after = records(w.stdoutLines.slice(printedBefore));
  assert.ok(after.length > 0);
  const udp = dropFunction('udp4');
  for (const r of after) {
    assert.equal(r['function'], udp);
    assert.notEqual(r['address'], '0x0');
  }
  assert.equal(sumRecords(w.stdoutLines, (r) => r['netns'] === ns.inode && r['reason'] === 'NO_SOCKET'), 50);
});

test('tracefs unmounted under a running tracefs source: one clear error, exit 1, no hang; the next start removes the instance', { skip: kernelTestSkipReason() ?? (existsSync(`${TRACEFS}/instances`) ? false : `no ${TRACEFS}`), timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-tracefs-'));
  let mounted = false;
  cleanups.push(async () => {
    if (mounted) await run('umount', ['-l', dir]).catch(() => undefined);
    rmdirSync(dir);
  });
  await run('mount', ['-t', 'tracefs', 'nodev', dir]);
  mounted = true;
  const w = track(startCli(['--tracefs', dir, 'watch', '--source', 'tracefs', '--json', '--interval', '1s'], NO_KUBE));
  await w.waitForLog('watching skb:kfree_skb', 60_000);
  const pid = w.child.pid!;
  const mine = (): string[] => readdirSync(`${TRACEFS}/instances`).filter((n) => n.startsWith(`kdrop-${pid}-`));
  // tracefs has one superblock: the instance made through DIR is visible under /sys/kernel/tracing too.
  const [instance] = mine();
  assert.ok(instance !== undefined);
  cleanups.push(() => {
    if (mine().length > 0) rmdirSync(`${TRACEFS}/instances/${instance}`);
  });
  await run('umount', ['-l', dir]);
  mounted = false;
  const code = await Promise.race([w.exited, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 60_000))]);
  assert.equal(code, 1, 'exits 1 (not a hang, not a crash loop)');
  const errors = w.stderrLines.filter((l) => l.startsWith('kdrop: '));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /tracefs instance kdrop-\d+-[0-9a-f]+ is no longer reachable at .*unmounted.*\[KDROP_E_TRACEFS_MISSING\]$/);
  assert.equal(w.stderrLines.filter((l) => l.includes('"tracefs source failed"')).length, 1, 'failed once, no retry loop');
  // The instance is unreachable through DIR; the next start on the real mount removes it.
  assert.deepEqual(mine(), [instance]);
  const next = track(startCli(['watch', '--source', 'tracefs', '--count', '1', '--interval', '1s'], NO_KUBE));
  assert.equal(await next.exited, 0);
  assert.deepEqual(mine(), [], 'removed by the next start');
});
