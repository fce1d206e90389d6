import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { parseNetnsLink, readHostNetnsInode, readNetnsInode } from '../../../src/enrich/proc-scan.js';

test('parseNetnsLink', () => {
  assert.equal(parseNetnsLink('net:[4026531833]'), 4026531833);
  assert.equal(parseNetnsLink('net:[1]\n'), 1);
  for (const bad of ['mnt:[4026531833]', 'net:[]', 'net:[12a]', '4026531833', '']) {
    assert.throws(() => parseNetnsLink(bad), (err: unknown) => isKdropError(err, ErrorCodes.ENRICH_PARSE));
  }
});

test('readNetnsInode and readHostNetnsInode on a fixture proc tree', async () => {
  const proc = await mkdtemp(join(tmpdir(), 'kdrop-proc-'));
  try {
    await mkdir(join(proc, '1', 'ns'), { recursive: true });
    await symlink('net:[4026531840]', join(proc, '1', 'ns', 'net'));
    await mkdir(join(proc, '42', 'ns'), { recursive: true });
    await symlink('net:[4026532000]', join(proc, '42', 'ns', 'net'));
    await mkdir(join(proc, '43', 'ns'), { recursive: true });
    await symlink('garbage', join(proc, '43', 'ns', 'net'));
    assert.equal(await readNetnsInode(proc, 42), 4026532000);
    assert.equal(await readHostNetnsInode(proc), 4026531840);
    await assert.rejects(readNetnsInode(proc, 43), (err: unknown) => isKdropError(err, ErrorCodes.ENRICH_PARSE));
    assert.equal(await readNetnsInode(proc, 44), null, 'a vanished process is null, not an error');
    assert.equal(await readHostNetnsInode(join(proc, 'nope')), null);
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
});
