import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNetnsLink, readNetnsInode, readSmallText, scanProc } from '../../../src/enrich/proc-scan.js';
import { FIXTURE_PROC, HOST_NS, NS_A, NS_B, NS_OTHER, NS_STATIC, POD_A, POD_B, STATIC_UID, hex } from './fixture.js';

test('parseNetnsLink reads the inode of net:[N]', () => {
  assert.equal(parseNetnsLink('net:[4026532177]'), 4026532177);
  assert.equal(parseNetnsLink('net:[4026531840]\n'), 4026531840);
});

for (const bad of ['mnt:[4026531841]', 'net:[]', 'net:4026531840', '', 'net:[12a]']) {
  test(`parseNetnsLink rejects ${JSON.stringify(bad)} with ENRICH_PARSE`, () => {
    assert.throws(() => parseNetnsLink(bad), (e: unknown) => isKdropError(e, ErrorCodes.ENRICH_PARSE));
  });
}

test('readNetnsInode: fixture symlink, missing process', async () => {
  assert.equal(await readNetnsInode(FIXTURE_PROC, 100), NS_A);
  assert.equal(await readNetnsInode(FIXTURE_PROC, 800), null);
  assert.equal(await readNetnsInode(FIXTURE_PROC, 424242), null);
});

test('scanProc maps each pod netns to its pod and containers', async () => {
  const scan = await scanProc(FIXTURE_PROC);
  assert.equal(scan.hostInode, HOST_NS);
  assert.deepEqual([...scan.pods.keys()].sort(), [NS_A, NS_B, NS_STATIC].sort());
  assert.equal(scan.pods.get(NS_A)?.podUid, POD_A);
  assert.deepEqual([...(scan.pods.get(NS_A)?.containerIds ?? [])].sort(), [hex('a'), hex('b'), hex('c')]);
  assert.equal(scan.pods.get(NS_B)?.podUid, POD_B);
  assert.deepEqual([...(scan.pods.get(NS_B)?.containerIds ?? [])], [hex('d')]);
  assert.equal(scan.pods.get(NS_STATIC)?.podUid, STATIC_UID);
  // The host netns is never claimed by a pod (conmon and hostNetwork containers live there).
  assert.equal(scan.pods.has(HOST_NS), false);
  assert.ok(!scan.pods.has(NS_OTHER), 'a netns of no pod container is not claimed');
  // 600 (bad cgroup) and 900 (bad ns link) are malformed; 800 has vanished and is not counted.
  assert.equal(scan.malformed, 2);
  assert.equal(scan.processes, 10);
  assert.equal(scan.conflicts, 0);
  // One pid per netns, every netns (the counters read through it): the lowest pid of each; 600's cgroup
  // file is malformed but its netns is real.
  assert.deepEqual(
    [...scan.netnsPids].sort((a, b) => a[0] - b[0]),
    [[HOST_NS, 1], [NS_A, 100], [NS_B, 200], [NS_STATIC, 700], [NS_OTHER, 500], [4026533000, 600]].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)),
  );
});

test('scanProc on a missing directory rejects', async () => {
  await assert.rejects(scanProc('/nonexistent/kdrop-proc'));
});

test('readSmallText: the whole file through a small buffer that grows (empty, exact fit, longer, multi-byte)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-small-text-'));
  try {
    const texts = ['', 'x'.repeat(16), `0::/kubepods.slice/é${'y'.repeat(10_000)}\n`, '12:cpu:/a\n11:memory:/b\n'];
    for (const [i, text] of texts.entries()) {
      const path = join(dir, String(i));
      await writeFile(path, text);
      for (const first of [1, 16, 4096]) assert.equal(await readSmallText(path, first), text, `file ${i}, first buffer ${first}`);
    }
    await assert.rejects(readSmallText(join(dir, 'absent')), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
    // A real /proc file (size 0 to stat), as the scan reads it.
    assert.equal(await readSmallText('/proc/self/cgroup'), await readFile('/proc/self/cgroup', 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
