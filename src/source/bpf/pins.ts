/**
 * bpffs pins of kdrop-probe: maps and link live under <root>/<pid>-<starttime>-<n>/, so a restarted
 * loader goes on counting into the same maps. Who owns a directory is decided by a lock, never by a /proc
 * lookup alone (a kdrop in another PID namespace sees other pids): this process opens its directory and
 * hands the open file to each loader it starts (`--lock-fd`); the loader flock()s it, and the lock lives
 * as long as this process keeps the file open, across loader restarts. Loaders remove the sibling
 * directories whose lock they can take (probe/loader.c).
 */
import { mkdir, open, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime } from '../process-start.js';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/kdrop';

/** Where this kdrop pins: KDROP_PIN_ROOT (a directory in bpffs), else DEFAULT_PIN_ROOT. */
export function pinRootFrom(env: NodeJS.ProcessEnv = process.env): string {
  const r = env['KDROP_PIN_ROOT']?.trim();
  return r !== undefined && r !== '' ? r : DEFAULT_PIN_ROOT;
}

const BPF_FS_MAGIC = 0xcafe4a11;

let seq = 0;

/** A fresh pin directory for one source of this process. */
export async function pinDirFor(root: string, procRoot = '/proc', pid = process.pid): Promise<string> {
  const start = (await processStartTime(procRoot, pid)) ?? '0';
  return join(root, `${pid}-${start}-${seq++}`);
}

/**
 * Makes the pin directory and opens it, for the loader's lock; null where bpffs is not mounted there yet
 * (the loader mounts it and then locks through its own file: kdrop opens the directory after READY).
 */
export async function openPinDir(dir: string, create: boolean): Promise<FileHandle | null> {
  try {
    if (create) await mkdir(dir, { recursive: true, mode: 0o700 });
    if ((await statfs(dir)).type !== BPF_FS_MAGIC) return null;
    return await open(dir, 'r');
  } catch {
    return null;
  }
}

/** Removes a pin directory. Unlinking the pinned link detaches the program once no loader holds it. */
export async function removePins(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Whether the open directory `f` is still the one at `dir` (not removed, nor made again). */
export async function sameDir(f: FileHandle, dir: string): Promise<boolean> {
  const [a, b] = await Promise.all([f.stat().catch(() => null), stat(dir).catch(() => null)]);
  return a !== null && b !== null && a.ino === b.ino && a.dev === b.dev;
}
