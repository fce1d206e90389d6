import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TracefsSource } from '../../../../src/source/tracefs/tracefs-source.js';
import { fixtureFormat, fixtureText } from './local-format.js';

test('features come from the format: reason where the field exists, never netns or bytes', () => {
  assert.deepEqual(new TracefsSource({ tracefsDir: '/nonexistent', format: fixtureFormat('6.18') }).features, { reason: true, netns: false, bytes: false });
  assert.deepEqual(new TracefsSource({ tracefsDir: '/nonexistent', format: fixtureFormat('5.15') }).features, { reason: false, netns: false, bytes: false });
});

test('a format without location is refused at construction', () => {
  const f = fixtureFormat('6.18');
  assert.throws(() => new TracefsSource({ tracefsDir: '/x', format: { ...f, fields: f.fields.filter((x) => x.name !== 'location') } }), { code: 'KDROP_E_FORMAT_PARSE' });
});

test('start() without tracefs fails with TRACEFS_MISSING; stop() and collect() still work', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-tracefs-'));
  try {
    const source = new TracefsSource({ tracefsDir: dir, format: fixtureFormat('6.18') });
    await assert.rejects(source.start(), { code: 'KDROP_E_TRACEFS_MISSING' });
    await source.stop();
    await source.stop();
    assert.deepEqual(await source.collect(), []);
    assert.deepEqual(source.stats(), { lostEvents: 0, restarts: 0, badLines: 0 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('start() on a tree without the tracepoint fails with TRACEPOINT_MISSING and removes its instance', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-tracefs-'));
  try {
    await mkdir(join(dir, 'events'), { recursive: true });
    await mkdir(join(dir, 'instances'));
    await writeFile(join(dir, 'events', 'header_page'), fixtureText('header_page-6.18.txt'));
    await writeFile(join(dir, 'events', 'header_event'), fixtureText('header_event-6.18.txt'));
    const source = new TracefsSource({ tracefsDir: dir, format: fixtureFormat('6.18'), instanceName: 'kdrop-1-unit' });
    await assert.rejects(source.start(), { code: 'KDROP_E_TRACEPOINT_MISSING' });
    assert.deepEqual(await readdir(join(dir, 'instances')), []);
    await assert.rejects(source.start(), 'a source starts once');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
