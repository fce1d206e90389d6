/** Finds where tracefs is mounted (or mounts it when allowed). */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, KdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import { logger } from '../log.js';

const log = logger('tracefs');
const run = promisify(execFile);

export interface MountEntry {
  readonly source: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly options: string;
}

/** `\040` style escapes of /proc/mounts. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Parses /proc/mounts text; lines that do not have at least 4 fields are skipped. */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 4) continue;
    const [source = '', mountPoint = '', fsType = '', options = ''] = parts;
    out.push({ source: unescapeMount(source), mountPoint: unescapeMount(mountPoint), fsType, options });
  }
  return out;
}

/** Tracefs directories named by mount entries: tracefs mounts, and `tracing/` under debugfs mounts. */
export function tracefsCandidates(mounts: readonly MountEntry[]): string[] {
  const direct = mounts.filter((m) => m.fsType === 'tracefs').map((m) => m.mountPoint);
  const viaDebugfs = mounts.filter((m) => m.fsType === 'debugfs').map((m) => join(m.mountPoint, 'tracing'));
  return [...direct, ...viaDebugfs];
}

async function hasEvents(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, 'events'))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * paths.tracefs when set; else a tracefs mount from `${proc}/mounts` that has events/; else
 * `${sys}/kernel/tracing` or `${sys}/kernel/debug/tracing` when they have events/; else, when opts.mount
 * and running as root, mounts tracefs at `${sys}/kernel/tracing`; else throws TRACEFS_MISSING.
 */
export async function findTracefs(paths: HostPaths, opts: { mount?: boolean } = {}): Promise<string> {
  if (paths.tracefs !== null) return paths.tracefs;
  const tried: string[] = [];
  let mountsText: string | null = null;
  try {
    mountsText = await readFile(join(paths.proc, 'mounts'), 'utf8');
  } catch (err) {
    log.debug({ err }, 'cannot read mounts');
  }
  if (mountsText !== null) {
    for (const dir of tracefsCandidates(parseMounts(mountsText))) {
      tried.push(dir);
      if (await hasEvents(dir)) return dir;
    }
  }
  const usual = [join(paths.sys, 'kernel', 'tracing'), join(paths.sys, 'kernel', 'debug', 'tracing')];
  for (const dir of usual) {
    tried.push(dir);
    if (await hasEvents(dir)) return dir;
  }
  const target = join(paths.sys, 'kernel', 'tracing');
  if (opts.mount === true && process.geteuid?.() === 0) {
    try {
      await run('mount', ['-t', 'tracefs', 'nodev', target], { timeout: 10_000 });
      log.info({ path: target }, 'mounted tracefs');
      if (await hasEvents(target)) return target;
    } catch (err) {
      throw new KdropError(ErrorCodes.TRACEFS_MISSING, 'tracefs is not mounted and mounting it failed', {
        expected: `tracefs mounted at ${target}`,
        found: `mount -t tracefs nodev ${target} failed: ${(err as Error).message}`,
        hint: 'mount it yourself, or in a container mount the host /sys/kernel/tracing (hostPath) and pass its path',
        cause: err,
      });
    }
  }
  throw new KdropError(ErrorCodes.TRACEFS_MISSING, 'tracefs is not mounted', {
    expected: 'a tracefs mount with an events/ directory',
    found: `none at ${[...new Set(tried)].join(', ')}`,
    hint: `run as root: mount -t tracefs nodev ${target} (in a container, mount the host's /sys/kernel/tracing)`,
  });
}
