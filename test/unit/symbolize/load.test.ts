import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { loadSymbolizer } from '../../../src/symbolize/load.js';

test('loadSymbolizer: System.map when given; errors for missing or symbol-less files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kdrop-map-'));
  const paths = { proc: join(dir, 'proc'), sys: join(dir, 'sys'), tracefs: null };
  try {
    await writeFile(join(dir, 'System.map'), 'ffffffff8024c920 t unix_stream_recvmsg\nffffffff8024cea1 t udp_v4_lookup_longway\n');
    const s = await loadSymbolizer({ map: join(dir, 'System.map'), paths });
    assert.equal(s.resolve(0xffffffff8024cd0fn)?.function, 'unix_stream_recvmsg');
    await assert.rejects(loadSymbolizer({ map: join(dir, 'missing.map'), paths }), (err: unknown) => isKdropError(err, ErrorCodes.CONFIG));
    await writeFile(join(dir, 'data.map'), 'ffffffff8024c920 d some_data\n');
    await assert.rejects(loadSymbolizer({ map: join(dir, 'data.map'), paths }), (err: unknown) => isKdropError(err, ErrorCodes.KALLSYMS_PARSE));
    // Without a map: kallsyms under paths.proc (absent here).
    await assert.rejects(loadSymbolizer({ map: undefined, paths }), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
