/**
 * Replay tests of BpftraceSource: a fake bpftrace (fake-bpftrace.js) prints recorded NDJSON, so the
 * diff/restart/stop logic runs without root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TracepointFormat } from '../../../../src/kernel/types.js';
import { BpftraceSource, dialectForVersion, findStaleBpftrace, OWNER_ENV } from '../../../../src/source/bpftrace/index.js';
import { isKdropError, ErrorCodes } from '../../../../src/errors.js';
import type { DropSample } from '../../../../src/source/types.js';

const fake = fileURLToPath(new URL('./fake-bpftrace.js', import.meta.url));
const fixture = (name: string): string[] =>
  readFileSync(fileURLToPath(new URL(`../../../../../test/fixtures/bpftrace/${name}`, import.meta.url)), 'utf8').split('\n');
const format: TracepointFormat = {
  name: 'kfree_skb',
  id: 1,
  fields: ['skbaddr', 'location', 'rx_sk', 'protocol', 'reason'].map((name) => ({ name, type: 'void *', offset: 0, size: 8, signed: false })),
  printFmt: '',
  reasons: new Map(),
};
const START = ['{"type": "attached_probes", "data": {"probes": 2}}', '{"type": "printf", "data": "kdrop-ready\\n"}'];
const END = '{"type": "map", "data": {"@kdrop_end": 1}}';
const snap = (c: Record<string, number>, b: Record<string, number> = {}): string[] => [
  JSON.stringify({ type: 'map', data: { '@b': b } }),
  JSON.stringify({ type: 'map', data: { '@c': c } }),
  END,
];
const K4 = '0xffffffff82046f4c,3,2048,4026532177';
const K6 = '0xffffffff82107981,3,34525,4026532177';

interface Run {
  start?: string[];
  snapshots?: string[][];
  exit?: string[];
  dieAfter?: number;
  startStderr?: string;
  startExitCode?: number;
  ignoreSigint?: boolean;
}

function setup(runs: Run[]): { dir: string; env: () => void; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-fakebt-'));
  writeFileSync(join(dir, 'scenario.json'), JSON.stringify({ runs }));
  return {
    dir,
    env: () => {
      process.env['FAKE_BPFTRACE_SCENARIO'] = join(dir, 'scenario.json');
      process.env['FAKE_BPFTRACE_STATE'] = join(dir, 'state');
      process.env['FAKE_BPFTRACE_ARGS'] = join(dir, 'args');
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function source(extra: Partial<ConstructorParameters<typeof BpftraceSource>[0]> = {}): BpftraceSource {
  return new BpftraceSource({
    format,
    command: [process.execPath, fake],
    readIntervalMs: 0,
    collectTimeoutMs: 3000,
    restart: { maxRestarts: 2, initialDelayMs: 20, maxDelayMs: 100 },
    ...extra,
  });
}

const count = (s: readonly DropSample[], address: bigint, protocol: number): number =>
  s.filter((x) => x.address === address && x.protocol === protocol).reduce((a, x) => a + x.count, 0);

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('recorded 0.17 run: cumulative totals per key, final counts from the exit print', async () => {
  const lines = fixture('v0.17-snapshots.ndjson');
  // recorded: ready, empty snapshot, snapshot (5 v4 + 2 v6), then the exit print (8 v4 + 2 v6)
  const run: Run = { start: lines.slice(0, 2), snapshots: [lines.slice(2, 3), lines.slice(3, 6)], exit: lines.slice(6) };
  const t = setup([run]);
  t.env();
  const src = source();
  try {
    await src.start();
    assert.deepEqual(src.features, { reason: true, netns: true, bytes: true });
    assert.deepEqual(await src.collect(), []);
    const s1 = await src.collect();
    assert.equal(count(s1, 0xffffffff82046f4cn, 0x0800), 5);
    assert.equal(count(s1, 0xffffffff82107981n, 0x86dd), 2);
    const v4 = s1.find((x) => x.protocol === 0x0800);
    assert.deepEqual(v4, { address: 0xffffffff82046f4cn, reasonCode: 3, protocol: 0x0800, netns: 4026532177, count: 5, bytes: 50 });
    await src.stop();
    const s2 = await src.collect();
    assert.equal(count(s2, 0xffffffff82046f4cn, 0x0800), 8);
    assert.equal(count(s2, 0xffffffff82107981n, 0x86dd), 2);
    assert.deepEqual(src.stats(), { lostEvents: 0, restarts: 0, badLines: 0 });
    const args = JSON.parse(readFileSync(join(t.dir, 'args.0'), 'utf8')) as string[];
    assert.deepEqual(args.slice(0, 4), ['-f', 'json', '-k', '-e']);
    assert.match(args[4] ?? '', /^tracepoint:skb:kfree_skb \{$/m);
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('recorded 0.23 rawtracepoint run: signed locations and network-order protocols are normalised', async () => {
  const lines = fixture('v0.23-rawtracepoint-snapshots.ndjson');
  const t = setup([{ start: lines.slice(0, 2), snapshots: [lines.slice(3, 6)], exit: lines.slice(6) }]);
  t.env();
  const src = source({ dialect: dialectForVersion({ major: 0, minor: 23, patch: 2 }) });
  try {
    await src.start();
    const s = await src.collect();
    assert.equal(count(s, 0xffffffff82046f4cn, 0x0800), 5);
    assert.equal(count(s, 0xffffffff82107981n, 0x86dd), 2);
    const args = JSON.parse(readFileSync(join(t.dir, 'args.0'), 'utf8')) as string[];
    assert.ok(!args.includes('-k'), 'no -k on 0.23');
    assert.match(args.at(-1) ?? '', /^rawtracepoint:kfree_skb \{$/m);
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('bpftrace dies: restarted, the dead instance is the base, totals never decrease', async () => {
  const t = setup([
    { start: START, snapshots: [snap({ [K4]: 5 }, { [K4]: 50 }), snap({ [K4]: 9 })], dieAfter: 2 },
    { start: START, snapshots: [snap({ [K4]: 2, [K6]: 1 }, { [K4]: 20, [K6]: 11 })], exit: snap({ [K4]: 4, [K6]: 1 }, { [K4]: 40, [K6]: 11 }) },
  ]);
  t.env();
  const src = source();
  try {
    await src.start();
    assert.equal(count(await src.collect(), 0xffffffff82046f4cn, 0x0800), 5);
    assert.equal(count(await src.collect(), 0xffffffff82046f4cn, 0x0800), 9);
    const pid = src.pid;
    void src.collect(); // third SIGUSR1: the fake dies
    await until(() => src.pid !== undefined && src.pid !== pid);
    assert.equal(src.stats().restarts, 1);
    let s = await src.collect();
    assert.equal(count(s, 0xffffffff82046f4cn, 0x0800), 11);
    assert.equal(count(s, 0xffffffff82107981n, 0x86dd), 1);
    assert.equal(s.find((x) => x.protocol === 0x0800)?.bytes, 50 + 20);
    await src.stop();
    s = await src.collect();
    assert.equal(count(s, 0xffffffff82046f4cn, 0x0800), 13);
    assert.equal(src.stats().restarts, 1);
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('restart budget exhausted: onFatal gets TRACER_DIED; counts are kept', async () => {
  const t = setup([
    { start: START, snapshots: [snap({ [K4]: 3 })], dieAfter: 1 },
    { startStderr: 'ERROR: attach failed\n', startExitCode: 1 },
  ]);
  t.env();
  const src = source();
  const fatal: Error[] = [];
  src.onFatal((e) => fatal.push(e));
  try {
    await src.start();
    assert.equal(count(await src.collect(), 0xffffffff82046f4cn, 0x0800), 3);
    void src.collect();
    await until(() => fatal.length > 0);
    assert.ok(isKdropError(fatal[0], ErrorCodes.TRACER_DIED));
    assert.equal(src.stats().restarts, 2);
    assert.equal(count(await src.collect(), 0xffffffff82046f4cn, 0x0800), 3);
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('exit during start: BPFTRACE_START carrying stderr', async () => {
  const stderr = readFileSync(fileURLToPath(new URL('../../../../../test/fixtures/bpftrace/v0.17-bad-program.stderr.txt', import.meta.url)), 'utf8');
  const t = setup([{ startStderr: stderr, startExitCode: 1 }]);
  t.env();
  const src = source();
  try {
    await assert.rejects(src.start(), (e) => isKdropError(e, ErrorCodes.BPFTRACE_START) && /does not contain a field named/.test(e.message));
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('stop: a bpftrace that ignores SIGINT is killed after stopTimeoutMs; the last snapshot stays', async () => {
  const t = setup([{ start: START, snapshots: [snap({ [K4]: 4 })], ignoreSigint: true }]);
  t.env();
  const src = source({ stopTimeoutMs: 300 });
  try {
    await src.start();
    const pid = src.pid as number;
    assert.equal(count(await src.collect(), 0xffffffff82046f4cn, 0x0800), 4);
    const began = Date.now();
    await src.stop();
    const took = Date.now() - began;
    assert.ok(took >= 250 && took < 5000, `stop took ${took} ms (SIGKILL after 300 ms)`);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    assert.equal(src.pid, undefined);
    assert.equal(count(await src.collect(), 0xffffffff82046f4cn, 0x0800), 4);
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('start: a bpftrace that never attaches is killed after startTimeoutMs, BPFTRACE_START', async () => {
  const t = setup([{ start: ['{"type": "attached_probes", "data": {"probes": 2}}'] }]);
  t.env();
  const src = source({ startTimeoutMs: 300 });
  try {
    await assert.rejects(src.start(), (e) => isKdropError(e, ErrorCodes.BPFTRACE_START) && /did not attach within 300 ms/.test(e.message));
    assert.equal(src.pid, undefined);
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('stop() while start() is still waiting for the probe to attach: the spawned bpftrace is stopped, none is left', async () => {
  const t = setup([{ start: ['{"type": "attached_probes", "data": {"probes": 2}}'] }]);
  t.env();
  const src = source({ startTimeoutMs: 60_000, stopTimeoutMs: 2000 });
  try {
    const started = src.start();
    const pidFile = join(t.dir, 'args.0.pid');
    // The fake writes its pid with writeFileSync: the file exists (empty) a moment before it holds the pid.
    await until(() => existsSync(pidFile) && /^\d+$/.test(readFileSync(pidFile, 'utf8')));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const began = Date.now();
    await src.stop();
    assert.ok(Date.now() - began < 10_000, 'stop did not wait for the 60 s start timeout');
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the bpftrace spawned by start() is gone');
    await started.catch(() => undefined);
    assert.equal(src.pid, undefined);
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('map full (recorded helper errors) counts as lost events; bad lines are counted, not fatal', async () => {
  const full = fixture('v0.17-map-full.ndjson').filter((l) => l.includes('helper_error'));
  const t = setup([{ start: [...START, ...full, 'garbage', '{"type": "map", "data": {"@c": {"0x1,2": 1}}}'], snapshots: [snap({ [K4]: 3 })] }]);
  t.env();
  const src = source();
  try {
    await src.start();
    assert.equal(count(await src.collect(), 0xffffffff82046f4cn, 0x0800), 3);
    // two failed updates on the count() line (12); the ones on the sum() line (13) are not drops
    assert.deepEqual(src.stats(), { lostEvents: 2, restarts: 0, badLines: 2 });
  } finally {
    await src.stop();
    t.cleanup();
  }
});

test('findStaleBpftrace: only bpftrace processes whose kdrop owner is gone', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kdrop-proc-'));
  const proc = (pid: number, comm: string, env: string[], starttime = '100'): void => {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
    writeFileSync(join(root, String(pid), 'environ'), env.join('\0'));
    // fields after "(comm) ": state ppid ... starttime is the 20th
    writeFileSync(join(root, String(pid), 'stat'), `${pid} (${comm}) S ${Array.from({ length: 18 }, () => '0').join(' ')} ${starttime} 0 0\n`);
  };
  try {
    proc(10, 'node', [], '500'); // a live kdrop
    proc(11, 'bpftrace', ['PATH=/bin', `${OWNER_ENV}=10:500`]); // ours, owner alive
    proc(12, 'bpftrace', [`${OWNER_ENV}=99:500`]); // owner gone
    proc(13, 'bpftrace', [`${OWNER_ENV}=10:400`]); // pid reused by another process
    proc(14, 'bpftrace', ['PATH=/bin']); // not kdrop's
    proc(15, 'node', [`${OWNER_ENV}=99:1`]); // not bpftrace
    assert.deepEqual((await findStaleBpftrace(root)).sort(), [12, 13]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
