/**
 * bpffs pins of kdrop-probe: maps and link live under <root>/<pid>-<starttime>-<n>/, named after the
 * kdrop process that owns them, so a restarted loader goes on counting into the same maps, and pins of
 * kdrop processes that are gone are found and removed at the next start.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime } from '../bpftrace/stale.js';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/kdrop';

let seq = 0;

/** A fresh pin directory for one source of this process. */
export async function pinDirFor(root: string, procRoot = '/proc', pid = process.pid): Promise<string> {
  const start = (await processStartTime(procRoot, pid)) ?? '0';
  return join(root, `${pid}-${start}-${seq++}`);
}

/** Pin directories under `root` whose owner process is gone (no such pid, or another start time). */
export async function findStalePins(root: string, procRoot = '/proc'): Promise<string[]> {
  const entries = await readdir(root).catch(() => [] as string[]);
  const stale: string[] = [];
  for (const name of entries) {
    const m = /^(\d+)-(\d+)-\d+$/.exec(name);
    if (!m?.[1] || !m[2]) continue; // not ours
    const start = await processStartTime(procRoot, Number(m[1]));
    if (start === null || start !== m[2]) stale.push(join(root, name));
  }
  return stale;
}

/** Removes a pin directory. Unlinking the pinned link detaches the program once no loader holds it. */
export async function removePins(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
