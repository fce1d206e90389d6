import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInstance, instanceName, instancePid, pidAlive, removeStaleInstances } from '../../../../src/source/tracefs/instance.js';

async function fakeTracefs(instances: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-tracefs-'));
  await mkdir(join(dir, 'instances'));
  for (const name of instances) await mkdir(join(dir, 'instances', name));
  return dir;
}

test('instance names carry the pid and a random suffix', () => {
  const a = instanceName(4242);
  assert.match(a, /^kdrop-4242-[0-9a-f]{8}$/);
  assert.notEqual(a, instanceName(4242));
  assert.equal(instancePid(a), 4242);
  assert.equal(instancePid(instanceName()), process.pid);
  for (const other of ['kdrop', 'kdrop-', 'kdrop-abc-1', 'kdropexp-1-2', 'foo-1-2', 'kdrop-12', 'kdrop-1-2/x']) assert.equal(instancePid(other), null, other);
});

test('pidAlive: this process is alive, a pid above pid_max is not', () => {
  assert.equal(pidAlive(process.pid), true);
  assert.equal(pidAlive(4_194_304 + 1), false);
});

test('removeStaleInstances removes only kdrop-<dead pid>-* and reports them', async () => {
  const live = `kdrop-${process.pid}-aaaa`;
  const dir = await fakeTracefs(['kdrop-111-dead', 'kdrop-222-beef', 'kdrop-333-live', live, 'other-tool', 'kdrop-notapid-x']);
  try {
    const removed = await removeStaleInstances(dir, (pid) => pid === 333);
    assert.deepEqual(removed, ['kdrop-111-dead', 'kdrop-222-beef']);
    assert.deepEqual((await readdir(join(dir, 'instances'))).sort(), ['kdrop-333-live', 'kdrop-notapid-x', live, 'other-tool'].sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('removeStaleInstances on a tracefs without instances/ removes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-tracefs-'));
  try {
    assert.deepEqual(await removeStaleInstances(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('createInstance without the tracepoint fails with TRACEPOINT_MISSING and leaves nothing behind', async () => {
  const dir = await fakeTracefs([]);
  try {
    await assert.rejects(createInstance(dir, { name: 'kdrop-1-test' }), { code: 'KDROP_E_TRACEPOINT_MISSING' });
    assert.deepEqual(await readdir(join(dir, 'instances')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('createInstance without instances/ is TRACEFS_MISSING; an existing name is refused and kept', async () => {
  const bare = await mkdtemp(join(tmpdir(), 'kdrop-tracefs-'));
  const dir = await fakeTracefs(['kdrop-1-taken']);
  try {
    await assert.rejects(createInstance(bare), { code: 'KDROP_E_TRACEFS_MISSING' });
    await assert.rejects(createInstance(dir, { name: 'kdrop-1-taken' }), { code: 'KDROP_E_TRACEFS_MISSING' });
    assert.deepEqual(await readdir(join(dir, 'instances')), ['kdrop-1-taken']);
  } finally {
    await rm(bare, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});
