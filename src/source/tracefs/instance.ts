/**
 * A private tracefs instance (`<tracefs>/instances/kdrop-<pid>-<random>`) with only skb:kfree_skb
 * enabled: its own ring buffer, options and stats, so kdrop never touches the global trace buffer or
 * other tools' instances. An instance outlives a crashed creator; the pid in its name lets a later
 * start find and remove stale ones (removeStaleInstances).
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rmdir, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { logger } from '../../log.js';
import { lostOf, parseCpuStats } from './cpu-stats.js';

const log = logger('source.tracefs');

export const INSTANCE_PREFIX = 'kdrop-';
const NAME_RE = /^kdrop-(\d+)-[0-9a-z]+$/;

export interface InstanceOptions {
  /** Instance directory name; default kdrop-<pid>-<random hex>. */
  readonly name?: string;
  /** In-kernel event filter, e.g. `reason != 104`. */
  readonly filter?: string;
  /** Per-CPU ring buffer size in KiB; the kernel default when absent. */
  readonly bufferSizeKb?: number;
  /** Enable the event before returning (default true). */
  readonly enable?: boolean;
  /** Event to enable, default skb/kfree_skb. */
  readonly system?: string;
  readonly event?: string;
  /** More events recorded in the same buffer (e.g. qdisc/qdisc_drop), enabled and disabled with it. */
  readonly extraEvents?: readonly { readonly system: string; readonly event: string }[];
}

export interface TracefsInstance {
  readonly name: string;
  /** <tracefs>/instances/<name> */
  readonly dir: string;
  /** <dir>/events/<system>/<event> */
  readonly eventDir: string;
  /** Online CPU numbers that have a per_cpu directory in this instance. */
  readonly cpus: readonly number[];
  enable(): Promise<void>;
  /** Stops new events from being recorded; what is buffered stays readable. */
  disable(): Promise<void>;
  /** Sum over CPUs of overrun + commit overrun + dropped events. */
  lostEvents(): Promise<number>;
  /** Disables the event and removes the instance directory. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Instances this process created and has not removed yet. A name with this process's own pid that is not
 * in here was left by an earlier process with the same pid: in a container, a restarted agent usually
 * gets the same pid as the one that died.
 */
const ownInstances = new Set<string>();

/** A fresh instance name for this process. */
export function instanceName(pid: number = process.pid): string {
  return `${INSTANCE_PREFIX}${pid}-${randomBytes(4).toString('hex')}`;
}

/** The creator pid encoded in a kdrop instance name, or null for any other name. */
export function instancePid(name: string): number | null {
  const m = NAME_RE.exec(name);
  return m?.[1] === undefined ? null : Number(m[1]);
}

/** Whether a process with this pid exists (in this pid namespace). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function writeControl(path: string, value: string): Promise<void> {
  await writeFile(path, value);
}

function permissionError(what: string, err: unknown): KdropError {
  return new KdropError(ErrorCodes.PERMISSION, `cannot ${what}`, {
    expected: 'root (or CAP_SYS_ADMIN) with write access to tracefs',
    found: String((err as Error).message),
    cause: err,
  });
}

/** Disables the event and removes an instance directory by name. Missing instances are fine. */
export async function removeInstance(tracefsDir: string, name: string, opts: { system?: string; event?: string } = {}): Promise<void> {
  const dir = join(tracefsDir, 'instances', name);
  if (!(await exists(dir))) return;
  const enable = join(dir, 'events', opts.system ?? 'skb', opts.event ?? 'kfree_skb', 'enable');
  await writeControl(enable, '0').catch((err: unknown) => log.debug({ err, dir }, 'disabling the event before removal failed'));
  // rmdir fails with EBUSY while a reader still holds one of the instance's files open; the source
  // closes its files first, but the close may still be settling.
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') return;
      if (code === 'EBUSY' && attempt < 50) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      throw new KdropError(ErrorCodes.TRACEFS_MISSING, `cannot remove tracefs instance ${name}`, {
        expected: 'an instance directory that rmdir can remove',
        found: String((err as Error).message),
        hint: `remove it by hand: rmdir ${dir}`,
        cause: err,
      });
    }
  }
}

/**
 * Removes instances named kdrop-<pid>-* whose pid is not alive (left behind by a crashed kdrop), and those
 * with this process's pid that this process did not create (left by a dead process that had the same pid,
 * e.g. the previous run of a restarted container). Returns the names removed. Instances of other live
 * processes, this process's own instances and other names are never touched.
 */
export async function removeStaleInstances(tracefsDir: string, isAlive: (pid: number) => boolean = pidAlive): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(tracefsDir, 'instances'));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    const pid = instancePid(name);
    if (pid === null || ownInstances.has(name)) continue;
    if (pid !== process.pid && isAlive(pid)) continue;
    try {
      await removeInstance(tracefsDir, name);
      removed.push(name);
      log.info({ instance: name, pid }, 'removed a stale tracefs instance left by a process that is gone');
    } catch (err) {
      log.warn({ err, instance: name }, 'could not remove a stale tracefs instance');
    }
  }
  return removed;
}

async function readCpus(dir: string): Promise<number[]> {
  const entries = await readdir(join(dir, 'per_cpu')).catch(() => [] as string[]);
  return entries
    .map((e) => /^cpu(\d+)$/.exec(e)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Creates the instance, sets hash-ptr 0 (where the option exists), buffer_size_kb and the filter, then
 * enables the event (unless enable is false). On any failure the instance is removed again.
 */
export async function createInstance(tracefsDir: string, opts: InstanceOptions = {}): Promise<TracefsInstance> {
  const name = opts.name ?? instanceName();
  const system = opts.system ?? 'skb';
  const event = opts.event ?? 'kfree_skb';
  const instancesDir = join(tracefsDir, 'instances');
  const dir = join(instancesDir, name);
  const eventDir = join(dir, 'events', system, event);
  if (!(await exists(instancesDir))) {
    throw new KdropError(ErrorCodes.TRACEFS_MISSING, 'tracefs has no instances directory', {
      expected: `${instancesDir} (tracefs mounted, kernel 3.10 or later)`,
      found: 'no such directory',
      hint: 'mount tracefs: mount -t tracefs nodev /sys/kernel/tracing',
    });
  }
  try {
    await mkdir(dir);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'EACCES' || code === 'EPERM') throw permissionError(`create tracefs instance ${dir}`, err);
    throw new KdropError(ErrorCodes.TRACEFS_MISSING, `cannot create tracefs instance ${name}`, {
      expected: 'a new directory under instances/',
      found: String((err as Error).message),
      cause: err,
    });
  }
  ownInstances.add(name);
  let removed = false;
  const extraDirs = (opts.extraEvents ?? []).map((e) => join(dir, 'events', e.system, e.event));
  const remove = async (): Promise<void> => {
    if (removed) return;
    for (const d of extraDirs) await writeControl(join(d, 'enable'), '0').catch(() => undefined);
    await removeInstance(tracefsDir, name, { system, event });
    removed = true;
    ownInstances.delete(name);
    log.debug({ instance: name }, 'tracefs instance removed');
  };
  try {
    if (!(await exists(join(eventDir, 'enable')))) {
      throw new KdropError(ErrorCodes.TRACEPOINT_MISSING, `the tracepoint ${system}:${event} does not exist on this kernel`, {
        expected: `${eventDir}/enable`,
        found: 'no such file',
      });
    }
    // Raw addresses in text output on 5.12..6.1 (a no-op for the binary reader, harmless elsewhere).
    const hashPtr = join(dir, 'options', 'hash-ptr');
    if (await exists(hashPtr)) await writeControl(hashPtr, '0');
    if (opts.bufferSizeKb !== undefined) {
      if (!Number.isInteger(opts.bufferSizeKb) || opts.bufferSizeKb < 4) {
        throw new KdropError(ErrorCodes.CONFIG, 'invalid tracefs buffer size', {
          expected: 'an integer number of KiB per CPU, at least 4',
          found: String(opts.bufferSizeKb),
        });
      }
      await writeControl(join(dir, 'buffer_size_kb'), String(opts.bufferSizeKb));
    }
    if (opts.filter !== undefined && opts.filter.trim() !== '') {
      try {
        await writeControl(join(eventDir, 'filter'), opts.filter);
      } catch (err) {
        // After a rejected filter the kernel shows its parse error when the filter file is read back.
        const why = await readFile(join(eventDir, 'filter'), 'utf8').catch(() => '');
        throw new KdropError(ErrorCodes.CONFIG, `the kernel rejected the tracefs event filter`, {
          expected: `a filter over the ${system}:${event} fields, e.g. "reason != 104"`,
          found: `${excerpt(opts.filter)} (${why.trim() || String((err as Error).message)})`,
          cause: err,
        });
      }
    }
    for (const d of extraDirs) {
      if (!(await exists(join(d, 'enable')))) {
        throw new KdropError(ErrorCodes.TRACEPOINT_MISSING, `the tracepoint ${d.split('/').slice(-2).join(':')} does not exist on this kernel`, {
          expected: `${d}/enable`,
          found: 'no such file',
        });
      }
    }
    const cpus = await readCpus(dir);
    const setAll = async (value: '0' | '1'): Promise<void> => {
      // The drop event last on enable and first on disable: the extra events only annotate it.
      if (value === '1') for (const d of extraDirs) await writeControl(join(d, 'enable'), value);
      await writeControl(join(eventDir, 'enable'), value);
      if (value === '0') for (const d of extraDirs) await writeControl(join(d, 'enable'), value);
    };
    const instance: TracefsInstance = {
      name,
      dir,
      eventDir,
      cpus,
      enable: () => setAll('1'),
      disable: () => setAll('0'),
      async lostEvents() {
        let lost = 0;
        for (const cpu of cpus) {
          const text = await readFile(join(dir, 'per_cpu', `cpu${cpu}`, 'stats'), 'utf8');
          lost += lostOf(parseCpuStats(text));
        }
        return lost;
      },
      remove,
    };
    if (opts.enable ?? true) await instance.enable();
    log.debug({ instance: name, filter: opts.filter, bufferSizeKb: opts.bufferSizeKb, cpus }, 'tracefs instance created');
    return instance;
  } catch (err) {
    await remove().catch((cleanupErr: unknown) => log.warn({ err: cleanupErr, instance: name }, 'cleanup of a half-made tracefs instance failed'));
    if (err instanceof KdropError) throw err;
    const code = errnoOf(err);
    if (code === 'EACCES' || code === 'EPERM') throw permissionError(`configure tracefs instance ${dir}`, err);
    throw new KdropError(ErrorCodes.TRACEFS_MISSING, `cannot configure tracefs instance ${name}`, {
      expected: 'writable instance control files',
      found: String((err as Error).message),
      cause: err,
    });
  }
}
