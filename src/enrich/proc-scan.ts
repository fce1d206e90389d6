/**
 * Scans a procfs tree (the host's /proc, or a mount of it) for the network namespace of each pod:
 * `${proc}/<pid>/ns/net` (a symlink `net:[4026532177]`) gives the inode, `${proc}/<pid>/cgroup` the pod.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
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
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let inode: number | null;
    let cgroupText: string;
    try {
      inode = await readNetnsInode(procDir, name);
      if (inode === null) continue;
      const pid = Number(name);
      if (pid < (netnsPids.get(inode) ?? Infinity)) netnsPids.set(inode, pid);
      cgroupText = await readFile(join(procDir, name, 'cgroup'), 'utf8');
    } catch (err) {
      if (err instanceof KdropError) malformed++;
      continue;
    }
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
