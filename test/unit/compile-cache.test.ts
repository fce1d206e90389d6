import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCacheDir } from '../../src/compile-cache.js';

const uid = process.getuid?.() ?? 0;

test('compileCacheDir: the user cache directory, made private; off when Node or the user says so', () => {
  const home = mkdtempSync(join(tmpdir(), 'kdrop-cc-'));
  try {
    assert.deepEqual(compileCacheDir({}, uid, home), { dir: join(home, '.cache', 'kdrop', 'v8') });
    assert.equal(existsSync(join(home, '.cache', 'kdrop', 'v8')), true);
    assert.deepEqual(compileCacheDir({ XDG_CACHE_HOME: join(home, 'xdg') }, uid, home), { dir: join(home, 'xdg', 'kdrop', 'v8') });
    assert.match((compileCacheDir({ NODE_COMPILE_CACHE: '/x' }, uid, home) as { off: string }).off, /NODE_COMPILE_CACHE/);
    assert.match((compileCacheDir({ KDROP_COMPILE_CACHE: 'off' }, uid, home) as { off: string }).off, /KDROP_COMPILE_CACHE=off/);
    assert.match((compileCacheDir({}, uid, home, ['agent', '--source', 'bpf']) as { off: string }).off, /the agent/);
    assert.ok('dir' in compileCacheDir({}, uid, home, ['watch', '--source', 'bpf']));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('compileCacheDir: refuses a directory of another user, one others may write, or a symlink', () => {
  const home = mkdtempSync(join(tmpdir(), 'kdrop-cc-'));
  try {
    const xdg = join(home, 'c');
    mkdirSync(join(xdg, 'kdrop', 'v8'), { recursive: true, mode: 0o700 });
    assert.match((compileCacheDir({ XDG_CACHE_HOME: xdg }, uid + 1, home) as { off: string }).off, new RegExp(`belongs to uid ${uid}, not ${uid + 1}`));
    chmodSync(join(xdg, 'kdrop'), 0o777);
    assert.match((compileCacheDir({ XDG_CACHE_HOME: xdg }, uid, home) as { off: string }).off, /kdrop is writable by others \(mode 777\)/);
    chmodSync(join(xdg, 'kdrop'), 0o700);
    if (uid === 0) {
      chownSync(join(xdg, 'kdrop', 'v8'), 65534, 65534);
      assert.match((compileCacheDir({ XDG_CACHE_HOME: xdg }, 0, home) as { off: string }).off, /v8 belongs to uid 65534, not 0/);
    }
    const other = join(home, 'o');
    mkdirSync(join(other, 'kdrop'), { recursive: true, mode: 0o700 });
    symlinkSync(join(home, 'elsewhere'), join(other, 'kdrop', 'v8'));
    mkdirSync(join(home, 'elsewhere'));
    assert.match((compileCacheDir({ XDG_CACHE_HOME: other }, uid, home) as { off: string }).off, /v8 is not a directory/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('kdrop fills its code cache on a first run and V8 accepts it on the next', () => {
  const xdg = mkdtempSync(join(tmpdir(), 'kdrop-cc-'));
  try {
    const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.js');
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: xdg, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
    delete env['NODE_COMPILE_CACHE'];
    delete env['KDROP_COMPILE_CACHE'];
    const run = () => spawnSync(process.execPath, [cli, 'explain', 'NO_SOCKET'], { env, encoding: 'utf8' });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.ok(readdirSync(join(xdg, 'kdrop', 'v8')).length > 0, 'cache entries written');
    const second = run();
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /NO_SOCKET/);
    assert.match(second.stderr, /V8 code cache for ESM \S+\/program\.js was accepted/);
    assert.doesNotMatch(first.stderr, /program\.js was accepted/, 'nothing to accept on the first run');
  } finally {
    rmSync(xdg, { recursive: true, force: true });
  }
});
