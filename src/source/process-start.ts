/** A process's start time from /proc: with its pid, it names a process uniquely within one PID namespace. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Start time (clock ticks since boot, field 22 of /proc/<pid>/stat), or null if the process is gone. */
export async function processStartTime(procRoot: string, pid: number): Promise<string | null> {
  const stat = await readFile(join(procRoot, String(pid), 'stat'), 'utf8').catch(() => null);
  if (stat === null) return null;
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? null; // field 22 is the 20th after state (field 3)
}
