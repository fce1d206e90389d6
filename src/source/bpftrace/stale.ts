/**
 * Finds bpftrace processes left behind by kdrop instances that died without stopping them (e.g. after a
 * SIGKILL of kdrop where the death signal was unavailable). Each bpftrace kdrop spawns carries
 * OWNER_ENV=<pid>:<starttime> of the kdrop process that spawned it; it is stale when that process is gone
 * (no such pid, or the pid now belongs to a process with another start time).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime } from '../process-start.js';

export const OWNER_ENV = 'KDROP_BPFTRACE_OWNER';

/** The value of OWNER_ENV for this process. */
export async function ownerTag(procRoot = '/proc', pid = process.pid): Promise<string> {
  return `${pid}:${(await processStartTime(procRoot, pid)) ?? '0'}`;
}

/** Pids of bpftrace processes whose kdrop owner is gone. Never returns a process of a live owner. */
export async function findStaleBpftrace(procRoot = '/proc'): Promise<number[]> {
  const entries = await readdir(procRoot).catch(() => [] as string[]);
  const stale: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const comm = await readFile(join(procRoot, name, 'comm'), 'utf8').catch(() => null);
    if (comm?.trim() !== 'bpftrace') continue;
    const environ = await readFile(join(procRoot, name, 'environ'), 'utf8').catch(() => null);
    if (environ === null) continue;
    const tag = environ.split('\0').find((e) => e.startsWith(`${OWNER_ENV}=`));
    if (tag === undefined) continue; // not ours
    const m = /^(\d+):(\d+)$/.exec(tag.slice(OWNER_ENV.length + 1));
    if (!m?.[1] || !m[2]) continue;
    const ownerStart = await processStartTime(procRoot, Number(m[1]));
    if (ownerStart === null || ownerStart !== m[2]) stale.push(Number(name));
  }
  return stale;
}
