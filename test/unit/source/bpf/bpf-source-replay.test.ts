/**
 * BpfSource against a fake kdrop-probe (a Node script that speaks the line protocol): epoch de-dup after a
 * loader crash mid-drain, lost counters, idle keys forgotten, stop.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfSource } from '../../../../src/source/bpf/index.js';
import { DeltaTracker } from '../../../../src/source/delta.js';
import { ErrorCodes, isKdropError } from '../../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kdrop-fakeprobe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A fake loader: `script` maps the n-th start (0, 1, ...) to the lines printed at start (before READY is
 * added) and per dump; a dump script entry 'CRASH' makes it exit without END, 'SLEEP <ms>' waits. An END
 * line of a dump script answers the command (its id is added), as the real loader's do; 'END' alone
 * marks that the script printed its own; 'RAW <line>' prints a line as it is.
 */
function fakeProbe(name: string, starts: { atStart: string[]; dumps: string[][]; resumed?: boolean }[]): string {
  const path = join(dir, name);
  const state = join(dir, `${name}.n`);
  writeFileSync(
    path,
    `#!${process.execPath}
const fs = require('node:fs');
const starts = ${JSON.stringify(starts)};
let n = 0; try { n = Number(fs.readFileSync(${JSON.stringify(state)}, 'utf8')); } catch {}
fs.writeFileSync(${JSON.stringify(state)}, String(n + 1));
const me = starts[Math.min(n, starts.length - 1)];
const out = (l) => fs.writeSync(1, l + '\\n');
for (const l of me.atStart) out(l);
out('READY attach=tp_btf pinned=none resumed=' + ((me.resumed ?? n > 0) ? 1 : 0) + ' epoch=0 max_keys=16');
let d = 0, epoch = 1, busy = Promise.resolve();
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  busy = busy.then(async () => {
    const [cmd, id] = line.split(' ');
    if (cmd === 'stop') { out('BYE ' + id); process.exit(0); }
    const lines = me.dumps[d++] ?? [];
    for (const l of lines) {
      if (l === 'CRASH') process.exit(9);
      if (l.startsWith('SLEEP ')) { await new Promise((r) => setTimeout(r, Number(l.slice(6)))); continue; }
      if (l.startsWith('RAW ')) { out(l.slice(4)); continue; }
      if (l.startsWith('D ')) epoch = Number(l.split(' ')[1]);
      if (l.startsWith('END ') && !l.includes(' id=')) out(l.replace(/^END (\\d+)/, 'END $1 id=' + id));
      else if (l !== 'END') out(l);
    }
    // END of this dump's epoch, unless the script printed its own
    if (!lines.includes('END')) out('END ' + epoch + ' id=' + id + ' lost=0 misses=0 run_ns=0 run_cnt=0');
    epoch++;
  });
});
`,
  );
  chmodSync(path, 0o755);
  return path;
}

const A = 'ffffffff81000010';
const B = 'ffffffff81000020';
const C = 'ffffffff81000030';

test('a loader that dies in the middle of a drain: the replay skips keys already taken, nothing counts twice', async () => {
  const probe = fakeProbe('crash', [
    { atStart: [], dumps: [[`D 5 ${A} 3 2048 11 5 50`, `D 5 ${B} 3 2048 11 3 30`, 'CRASH']] },
    // the successor replays epoch 5 (B was printed but not deleted) and C that was not printed yet
    { atStart: [`D 5 ${B} 3 2048 11 3 30`, `D 5 ${C} 3 2048 11 2 20`, 'END 5 lost=0 misses=0 run_ns=0 run_cnt=0'], dumps: [[`D 6 ${B} 3 2048 11 1 10`]] },
  ]);
  const src = new BpfSource({ hasReason: true, probe, pinRoot: null, readIntervalMs: 0, restart: { maxRestarts: 2, initialDelayMs: 10, maxDelayMs: 10 } });
  await src.start();
  try {
    await src.collect(); // the loader prints A and B of epoch 5, then dies
    for (let i = 0; i < 100 && (src.pid === undefined || src.stats().restarts === 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(src.stats().restarts, 1);
    const byAddr = new Map((await src.collect()).map((s) => [s.address.toString(16), s.count]));
    assert.deepEqual(Object.fromEntries(byAddr), { [A]: 5, [B]: 4, [C]: 2 });
  } finally {
    await src.stop();
  }
});

test('a loader restarted without its pins (a fresh program, epochs from 0 again) is still counted', async () => {
  const probe = fakeProbe('fresh', [
    { atStart: [], dumps: [[`D 1 ${A} 3 2048 11 5 50`], [`D 2 ${A} 3 2048 11 1 10`], ['CRASH']] },
    { atStart: [], resumed: false, dumps: [[`D 0 ${A} 3 2048 11 7 70`]] },
  ]);
  const src = new BpfSource({ hasReason: true, probe, pinRoot: null, readIntervalMs: 0, restart: { maxRestarts: 2, initialDelayMs: 10, maxDelayMs: 10 } });
  await src.start();
  try {
    await src.collect();
    await src.collect();
    await src.collect(); // crashes
    for (let i = 0; i < 100 && (src.pid === undefined || src.stats().restarts === 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await src.collect()).find((s) => s.address === BigInt(`0x${A}`))?.count, 13);
  } finally {
    await src.stop();
  }
});

/** Collects until the loader was restarted `n` times. */
async function untilRestarted(src: BpfSource, n: number): Promise<void> {
  for (let i = 0; i < 200 && (src.pid === undefined || src.stats().restarts < n); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(src.stats().restarts, n);
}

test('lost and recursion misses are reported and grow as the loader reports them', async () => {
  const probe = fakeProbe('lost', [{ atStart: [], dumps: [['END 1 lost=4 misses=1 run_ns=0 run_cnt=0', 'END'], ['END 2 lost=6 misses=1 run_ns=0 run_cnt=0', 'END']] }]);
  const src = new BpfSource({ hasReason: true, probe, pinRoot: null, readIntervalMs: 0 });
  await src.start();
  try {
    await src.collect();
    assert.equal(src.stats().lostEvents, 5);
    await src.collect();
    assert.equal(src.stats().lostEvents, 7);
  } finally {
    await src.stop();
  }
});

test('a fresh program (READY resumed=0 after a crash) starts its lost counter at 0: the total keeps what the first counted', async () => {
  const probe = fakeProbe('lost-fresh', [
    { atStart: [], dumps: [['END 1 lost=4 misses=1 run_ns=0 run_cnt=0', 'END'], ['CRASH']] },
    { atStart: [], resumed: false, dumps: [['END 0 lost=2 misses=0 run_ns=0 run_cnt=0', 'END']] },
  ]);
  const src = new BpfSource({ hasReason: true, probe, pinRoot: null, readIntervalMs: 0, restart: { maxRestarts: 2, initialDelayMs: 10, maxDelayMs: 10 } });
  await src.start();
  try {
    await src.collect();
    await src.collect(); // crashes
    await untilRestarted(src, 1);
    await src.collect();
    assert.equal(src.stats().lostEvents, 4 + 1 + 2);
  } finally {
    await src.stop();
  }
});

test('a resumed loader that cannot read recursion misses (no CAP_SYS_ADMIN: 0) does not count the pinned lost twice', async () => {
  const probe = fakeProbe('lost-resumed', [
    { atStart: [], dumps: [['END 1 lost=4 misses=1 run_ns=0 run_cnt=0', 'END'], ['CRASH']] },
    // the same pinned program: lost goes on from 4; misses cannot be read any more
    { atStart: [], resumed: true, dumps: [['END 2 lost=4 misses=0 run_ns=0 run_cnt=0', 'END'], ['END 3 lost=6 misses=0 run_ns=0 run_cnt=0', 'END']] },
  ]);
  const src = new BpfSource({ hasReason: true, probe, pinRoot: null, readIntervalMs: 0, restart: { maxRestarts: 2, initialDelayMs: 10, maxDelayMs: 10 } });
  await src.start();
  try {
    await src.collect();
    assert.equal(src.stats().lostEvents, 5);
    await src.collect(); // crashes
    await untilRestarted(src, 1);
    await src.collect();
    assert.equal(src.stats().lostEvents, 5, 'the pinned 4 once, and the 1 miss seen before');
    await src.collect();
    assert.equal(src.stats().lostEvents, 7);
  } finally {
    await src.stop();
  }
});

test('a reply answers its own command only: an END nobody asked for does not end a dump', async () => {
  // The loader prints an END without id (its own final dump, as after a signal) before the one that
  // answers the dump; the D line between belongs to the answer.
  const probe = fakeProbe('correlate', [{ atStart: [], dumps: [['RAW END 0 lost=0 misses=0 run_ns=0 run_cnt=0', 'SLEEP 300', `D 1 ${A} 3 2048 11 9 90`]] }]);
  const src = new BpfSource({ hasReason: true, probe, pinRoot: null, readIntervalMs: 0 });
  await src.start();
  try {
    const got = await src.collect();
    assert.equal(got.find((s) => s.address === BigInt(`0x${A}`))?.count, 9);
  } finally {
    await src.stop();
  }
});

test('a key idle for idleCollects collects is omitted and the DeltaTracker stays exact when it returns', async () => {
  const probe = fakeProbe('idle', [{ atStart: [], dumps: [[`D 1 ${A} 3 2048 11 5 50`], [], [], [`D 4 ${A} 3 2048 11 2 20`]] }]);
  const src = new BpfSource({ hasReason: false, probe, pinRoot: null, readIntervalMs: 0, idleCollects: 1 });
  const d = new DeltaTracker();
  await src.start();
  try {
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) counts.push(d.next(await src.collect()).reduce((a, s) => a + s.count, 0));
    assert.deepEqual(counts, [5, 0, 0, 2]);
    assert.equal(src.keysHeld, 1);
    assert.equal((await src.collect())[0]?.reasonCode, null, 'no reason field: reason null');
  } finally {
    await src.stop();
  }
});

test('a missing loader is PROBE_MISSING', async () => {
  const src = new BpfSource({ hasReason: true, probe: join(dir, 'nope'), pinRoot: null });
  await assert.rejects(src.start(), (err: unknown) => isKdropError(err, ErrorCodes.PROBE_MISSING));
});
