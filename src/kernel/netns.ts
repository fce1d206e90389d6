/** Network namespace inodes, as `readlink /proc/<pid>/ns/net` shows them (`net:[4026531833]`). */
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, KdropError, excerpt } from '../errors.js';
import type { HostPaths } from '../host-paths.js';

/** Parses `net:[4026531833]` into 4026531833. */
export function parseNsLink(text: string): number {
  const m = /^net:\[(\d+)\]$/.exec(text.trim());
  if (m === null || m[1] === undefined) {
    throw new KdropError(ErrorCodes.ENRICH_PARSE, 'cannot parse network namespace link', {
      expected: '"net:[INODE]"',
      found: excerpt(text),
    });
  }
  return Number(m[1]);
}

/** The netns inode of a process, from readlink of `${procDir}/${pid}/ns/net`. */
export async function readNetnsInode(procDir: string, pid: number | 'self'): Promise<number> {
  const path = join(procDir, String(pid), 'ns', 'net');
  let link: string;
  try {
    link = await readlink(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const permission = code === 'EACCES' || code === 'EPERM';
    throw new KdropError(permission ? ErrorCodes.PERMISSION : ErrorCodes.ENRICH_PARSE, `cannot read ${path}`, {
      expected: 'a readable ns/net link',
      found: code,
      ...(permission ? { hint: 'reading other processes\' namespaces needs root (CAP_SYS_PTRACE)' } : {}),
      cause: err,
    });
  }
  return parseNsLink(link);
}

/** The host's netns inode (that of pid 1), or null when it cannot be read. */
export async function hostNetnsInode(paths: HostPaths): Promise<number | null> {
  try {
    return await readNetnsInode(paths.proc, 1);
  } catch {
    return null;
  }
}
