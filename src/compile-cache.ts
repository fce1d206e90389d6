/**
 * V8's code cache on disk (node:module enableCompileCache), so that a `kdrop watch` or agent started after the
 * first one does not compile its modules again: measured on the bundle, compiling them was 86-142 ms of the
 * main thread before "watching", 8-14 ms with the cache (docs/performance.md).
 *
 * Not for the agent: V8 deserializes the cached bytecode of every function that ran when the cache was made,
 * and the agent's RSS measured 1-4 MiB higher with it (medians 75.2-79.1 against 74.1-75.0 MiB, four pairs);
 * the agent starts once per node and its pod's root file system is read-only anyway.
 *
 * kdrop runs as root, and V8 trusts what it deserializes: the cache lives in the user's own cache directory
 * ($XDG_CACHE_HOME/kdrop/v8, else ~/.cache/kdrop/v8), never in a shared /tmp, and is used only when that
 * directory and its parent are the user's own and writable by no one else. KDROP_COMPILE_CACHE=off turns it off;
 * NODE_COMPILE_CACHE (Node's own setting) wins when set. Where the directory cannot be made (a read-only root
 * file system, as in the chart's pod) kdrop just compiles, as without it.
 */
// A namespace import: Node before 22.1 has no enableCompileCache, and a named import would fail to link before
// node-version.ts can say which Node kdrop needs.
import * as nodeModule from 'node:module';
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The directory to use, or why none: a pure decision on the environment and the file system's answers. */
export function compileCacheDir(env: NodeJS.ProcessEnv, uid: number, home: string = homedir(), argv: readonly string[] = []): { dir: string } | { off: string } {
  if (argv.includes('agent')) return { off: 'the agent: memory before start-up time' };
  if (env['NODE_COMPILE_CACHE'] !== undefined) return { off: 'NODE_COMPILE_CACHE is set: Node applies it' };
  if (env['KDROP_COMPILE_CACHE'] === 'off') return { off: 'KDROP_COMPILE_CACHE=off' };
  const base = env['XDG_CACHE_HOME'] || join(home, '.cache');
  const dir = join(base, 'kdrop', 'v8');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const d of [dir, dirname(dir)]) {
      const st = lstatSync(d);
      if (!st.isDirectory()) return { off: `${d} is not a directory` };
      if (st.uid !== uid) return { off: `${d} belongs to uid ${st.uid}, not ${uid}` };
      if ((st.mode & 0o022) !== 0) return { off: `${d} is writable by others (mode ${(st.mode & 0o777).toString(8)})` };
    }
  } catch (err) {
    return { off: `cannot make ${dir}: ${(err as Error).message}` };
  }
  return { dir };
}

const where = compileCacheDir(process.env, process.getuid?.() ?? -1, homedir(), process.argv.slice(2));
// Its status is not checked: a FAILED one (a full disk, say) only costs the compile time the cache would save.
if ('dir' in where) (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache?.(where.dir);
