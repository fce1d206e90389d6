import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { findTracefs, parseMounts, tracefsCandidates } from '../../../src/kernel/tracefs.js';

test('parseMounts unescapes octal and skips short lines', () => {
  const m = parseMounts('nodev /sys/kernel/tracing tracefs rw,relatime 0 0\nbad line\ndebugfs /my\\040debug debugfs rw 0 0\n');
  assert.equal(m.length, 2);
  assert.deepEqual(m[1], { source: 'debugfs', mountPoint: '/my debug', fsType: 'debugfs', options: 'rw' });
  assert.deepEqual(tracefsCandidates(m), ['/sys/kernel/tracing', '/my debug/tracing']);
});

async function tree(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kdrop-tracefs-'));
  try {
    await mkdir(join(root, 'proc'), { recursive: true });
    await mkdir(join(root, 'sys'), { recursive: true });
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('findTracefs: explicit path wins', async () => {
  await tree(async (root) => {
    assert.equal(await findTracefs({ proc: join(root, 'proc'), sys: join(root, 'sys'), tracefs: '/x/y' }), '/x/y');
  });
});

test('findTracefs: a tracefs entry of mounts that has events/', async () => {
  await tree(async (root) => {
    const mnt = join(root, 'mnt', 'tracing');
    await mkdir(join(mnt, 'events'), { recursive: true });
    await writeFile(join(root, 'proc', 'mounts'), `proc /proc proc rw 0 0\nnodev /nonexistent tracefs rw 0 0\nnodev ${mnt} tracefs rw,relatime 0 0\n`);
    assert.equal(await findTracefs({ proc: join(root, 'proc'), sys: join(root, 'sys'), tracefs: null }), mnt);
  });
});

test('findTracefs: falls back to sys/kernel/debug/tracing', async () => {
  await tree(async (root) => {
    await writeFile(join(root, 'proc', 'mounts'), 'proc /proc proc rw 0 0\n');
    const dbg = join(root, 'sys', 'kernel', 'debug', 'tracing');
    await mkdir(join(dbg, 'events'), { recursive: true });
    assert.equal(await findTracefs({ proc: join(root, 'proc'), sys: join(root, 'sys'), tracefs: null }), dbg);
  });
});

test('findTracefs: nothing found -> TRACEFS_MISSING with the mount command', async () => {
  await tree(async (root) => {
    // No mounts file at all, and an empty tracing dir (not mounted) where tracefs usually is.
    await mkdir(join(root, 'sys', 'kernel', 'tracing'), { recursive: true });
    await assert.rejects(findTracefs({ proc: join(root, 'proc'), sys: join(root, 'sys'), tracefs: null }), (err: unknown) => {
      assert.ok(isKdropError(err, ErrorCodes.TRACEFS_MISSING));
      assert.match(err.message, /mount -t tracefs nodev .*kernel\/tracing/);
      return true;
    });
  });
});
