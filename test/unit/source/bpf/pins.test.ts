import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPinDir, pinDirFor } from '../../../../src/source/bpf/index.js';

/** A /proc/<pid>/stat whose field 22 (start time) is `start`. */
function stat(pid: number, start: number): string {
  const after = ['S', ...Array.from({ length: 18 }, () => '0'), String(start), '0'];
  return `${pid} (node (x)) ${after.join(' ')}\n`;
}

test('pin directories: ours are named pid-start-n, one per source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-pins-'));
  try {
    const proc = join(dir, 'proc');
    const root = join(dir, 'bpf');
    mkdirSync(join(proc, '100'), { recursive: true });
    writeFileSync(join(proc, '100', 'stat'), stat(100, 5555));
    const a = await pinDirFor(root, proc, 100);
    const b = await pinDirFor(root, proc, 100);
    assert.match(a, /\/100-5555-\d+$/);
    assert.notEqual(a, b, 'two sources of one process get two directories');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pin directory outside bpffs is not opened for the lock (the loader mounts bpffs, then locks itself)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-pins-'));
  try {
    assert.equal(await openPinDir(join(dir, 'kdrop', '1-2-0'), true), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
