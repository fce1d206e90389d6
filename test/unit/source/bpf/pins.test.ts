import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findStalePins, pinDirFor } from '../../../../src/source/bpf/index.js';

/** A /proc/<pid>/stat whose field 22 (start time) is `start`. */
function stat(pid: number, start: number): string {
  const after = ['S', ...Array.from({ length: 18 }, () => '0'), String(start), '0'];
  return `${pid} (node (x)) ${after.join(' ')}\n`;
}

test('pin directories: ours are named pid-start-n; stale ones are those whose owner is gone or has another start time', async () => {
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
    for (const name of ['100-5555-0', '100-4444-0', '200-1-3', 'not-ours', '300-x-1']) mkdirSync(join(root, name), { recursive: true });
    const stale = (await findStalePins(root, proc)).map((p) => p.slice(root.length + 1)).sort();
    assert.deepEqual(stale, ['100-4444-0', '200-1-3']);
    assert.deepEqual(await findStalePins(join(dir, 'absent'), proc), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
