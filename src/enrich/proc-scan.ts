/**
 * Scans a procfs tree (the host's /proc, or a mount of it) for the network namespace of each pod:
 * `${proc}/<pid>/ns/net` (a symlink `net:[4026532177]`) gives the inode, `${proc}/<pid>/cgroup` the pod.
 */
import { open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { KdropError, ErrorCodes, excerpt } from '../errors.js';
import { parseProcCgroup } from './cgroup.js';
import { logger } from '../log.js';

const log = logger('proc-scan');

export interface NetnsMembers {
  readonly podUid: string;
  readonly containerIds: ReadonlySet<string>;
}

export interface ProcScan {
  /** Netns inode -> pod, for namespaces that some container process of a pod is in. */
  readonly pods: ReadonlyMap<number, NetnsMembers>;
  /** The root (host) netns (see readHostNetnsInode), null when unreadable. */
  readonly hostInode: number | null;
  /** Processes read, and processes skipped because a file was malformed (vanished processes are not counted). */
  readonly processes: number;
  readonly malformed: number;
  /** Netns claimed by more than one pod (the first pod found keeps it). */
  readonly conflicts: number;
  /** Every netns seen (pods', the host's, any other) -> one process in it (the lowest pid read). */
  readonly netnsPids: ReadonlyMap<number, number>;
}

/** `net:[4026532177]` -> 4026532177. Throws ENRICH_PARSE on anything else. */
export function parseNetnsLink(link: string): number {
  const m = /^net:\[(\d+)\]$/.exec(link.trim());
  if (!m?.[1]) {
    throw new KdropError(ErrorCodes.ENRICH_PARSE, 'cannot parse a /proc/<pid>/ns/net link', {
      expected: '"net:[<inode>]"',
      found: excerpt(link),
    });
  }
  return Number(m[1]);
}

/** The netns inode of one process, null when it is gone or unreadable. Throws ENRICH_PARSE on a malformed link. */
export async function readNetnsInode(procDir: string, pid: number | string): Promise<number | null> {
  let link: string;
  try {
    link = await readlink(join(procDir, String(pid), 'ns', 'net'));
  } catch {
    return null;
  }
  return parseNetnsLink(link);
}

/**
 * The root netns inode: that of pid 1, or, where pid 1's ns links cannot be read (some sandboxes and VMs deny
 * it even to root; in a container it needs hostPID and CAP_SYS_PTRACE), that of `self`, the reading process:
 * right when kdrop runs in the host netns (hostNetwork), wrong otherwise, so that fallback is logged once.
 */
export async function readHostNetnsInode(procDir: string): Promise<number | null> {
  const init = await readNetnsInode(procDir, 1).catch(() => null);
  if (init !== null) return init;
  const self = await readNetnsInode(procDir, 'self').catch(() => null);
  if (self !== null && !warnedSelf) {
    warnedSelf = true;
    const n = selfNetnsNotice(process.env['KUBERNETES_SERVICE_HOST'] !== undefined);
    log[n.level]({ proc: procDir, inode: self }, n.message);
  }
  return self;
}

/**
 * What to say when pid 1's netns cannot be read and kdrop's own is taken for the host's: in a pod that is
 * right only with hostNetwork (a warning); on a plain host kdrop runs in the host's netns anyway.
 */
export function selfNetnsNotice(inPod: boolean): { level: 'warn' | 'debug'; message: string } {
  return inPod
    ? { level: 'warn', message: "cannot read pid 1's netns: this pod's netns is taken as the host's (right only with hostNetwork)" }
    : { level: 'debug', message: "cannot read pid 1's netns: kdrop's own netns is taken as the host's" };
}

let warnedSelf = false;

/**
 * Reads every `<pid>` directory under procDir. Processes that vanish during the scan are skipped silently,
 * malformed files are counted. Only processes in a container cgroup of a pod claim a netns for it: pod-level
 * helpers such as CRI-O's conmon live in the pod's cgroup tree but in the host netns.
 */
export async function scanProc(procDir: string): Promise<ProcScan> {
  const hostInode = await readHostNetnsInode(procDir);
  const entries = await readdir(procDir);
  const pods = new Map<number, { podUid: string; containerIds: Set<string> }>();
  let processes = 0;
  let malformed = 0;
  let conflicts = 0;
  const netnsPids = new Map<number, number>();
  // The two reads of each process run for many processes at once (one after the other, each a round trip
  // through libuv's thread pool, they took ~0.6 ms per process: 45 ms for 71 processes, on the start path of
  // watch and the agent); the results are folded in directory order, as before.
  const reads: ProcessRead[] = [];
  const pids = entries.filter((name) => /^\d+$/.test(name));
  for (let i = 0; i < pids.length; i += SCAN_BATCH) reads.push(...(await Promise.all(pids.slice(i, i + SCAN_BATCH).map((name) => readProcess(procDir, name)))));
  for (const r of reads) {
    if (r === 'gone') continue;
    if (r === 'malformed') {
      malformed++;
      continue;
    }
    const { pid, inode, cgroupText } = r;
    if (pid < (netnsPids.get(inode) ?? Infinity)) netnsPids.set(inode, pid);
    if (cgroupText === null) continue;
    processes++;
    let ref;
    try {
      ref = parseProcCgroup(cgroupText);
    } catch {
      malformed++;
      continue;
    }
    if (ref === null || ref.containerId === null || inode === hostInode) continue;
    const prev = pods.get(inode);
    if (prev === undefined) {
      pods.set(inode, { podUid: ref.podUid, containerIds: new Set([ref.containerId]) });
    } else if (prev.podUid === ref.podUid) {
      prev.containerIds.add(ref.containerId);
    } else {
      conflicts++;
    }
  }
  return { pods, hostInode, processes, malformed, conflicts, netnsPids };
}

/** Processes read at once by scanProc. */
const SCAN_BATCH = 64;

type ProcessRead = 'gone' | 'malformed' | { readonly pid: number; readonly inode: number; readonly cgroupText: string | null };

/** One process's netns inode and cgroup file (null: gone between the two reads); a malformed ns link counts. */
async function readProcess(procDir: string, name: string): Promise<ProcessRead> {
  let inode: number | null;
  try {
    inode = await readNetnsInode(procDir, name);
  } catch (err) {
    return err instanceof KdropError ? 'malformed' : 'gone';
  }
  if (inode === null) return 'gone';
  const cgroupText = await readSmallText(join(procDir, name, 'cgroup')).catch(() => null);
  return { pid: Number(name), inode, cgroupText };
}

/**
 * A small /proc file as text, through a 4 KB buffer that grows only for a longer file. readFile gives every
 * /proc file (size 0 to stat) a 64 KB buffer: 64 processes read at once held 4 MiB, which outlived the scan
 * until V8's next full collection (measured on the agent with 200 netns: +4.3 MiB of array buffers for
 * seconds after each scan).
 */
export async function readSmallText(path: string, first = 4096): Promise<string> {
  const fh = await open(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(first);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
      if (bytesRead === 0) return buf.toString('utf8', 0, total);
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
