/**
 * Netns inode -> pod, combining the node's pods from the API (pod-cache.ts) with a scan of the host's /proc
 * (proc-scan.ts).
 *
 * - The root netns (that of pid 1 under the scanned /proc) is scope host, and so are hostNetwork pods, whose
 *   processes live in it.
 * - A netns some container process of a known pod is in is scope pod.
 * - Anything else is scope netns. A netns seen in a drop but unknown schedules a rescan (at most one per
 *   `minRescanIntervalMs`, default 2 s); only when a scan that began after its first sighting still does not
 *   know it, is it counted as unattributed (see unattributed()).
 * - When a pod is deleted, its netns mappings are dropped and `onPodDeleted` listeners get its UID, so the
 *   aggregation can expire its series.
 */
import { logger } from '../log.js';
import type { NetnsOwner, NetnsResolver } from './types.js';
import type { PodCache, PodInfo } from './pod-cache.js';
import { scanProc, type ProcScan } from './proc-scan.js';
import { HOST_OWNER, NETNS_OWNER } from './owners.js';

const log = logger('pod-resolver');


/** What the resolver needs from a pod cache (PodCache, or a fake in unit tests). */
export type PodLookup = Pick<PodCache, 'get' | 'onAdd' | 'onDelete'> & { close?(): Promise<void> };

export interface PodResolverOptions {
  readonly procDir: string;
  readonly pods: PodLookup;
  readonly minRescanIntervalMs?: number;
  /** Full rescan period as a safety net (default 60 s; 0 disables). */
  readonly rescanPeriodMs?: number;
  readonly now?: () => number;
  /** Replaces scanProc (unit tests). */
  readonly scan?: (procDir: string) => Promise<ProcScan>;
}

const MAX_PENDING = 4096;

export class PodNetnsResolver implements NetnsResolver {
  private scanResult: ProcScan | null = null;
  private readonly owners = new Map<number, NetnsOwner>();
  /** Unknown inodes -> time of first sighting. */
  private readonly pending = new Map<number, number>();
  private scanning: Promise<void> | null = null;
  private scanAgain = false;
  private lastScanStart = -Infinity;
  private lastCompletedScanStart = -Infinity;
  private rescanTimer: NodeJS.Timeout | undefined;
  private periodTimer: NodeJS.Timeout | undefined;
  private unattributedCount = 0;
  private readonly deleteListeners: Array<(uid: string) => void> = [];
  private readonly now: () => number;
  private readonly minInterval: number;
  private readonly scanFn: (procDir: string) => Promise<ProcScan>;
  private closed = false;

  private constructor(private readonly opts: PodResolverOptions) {
    this.now = opts.now ?? Date.now;
    this.minInterval = opts.minRescanIntervalMs ?? 2000;
    this.scanFn = opts.scan ?? scanProc;
    opts.pods.onAdd(() => {
      this.owners.clear();
      this.requestScan();
    });
    opts.pods.onDelete((pod) => this.podDeleted(pod));
    const period = opts.rescanPeriodMs ?? 60_000;
    if (period > 0) {
      this.periodTimer = setInterval(() => this.requestScan(), period);
      this.periodTimer.unref();
    }
  }

  /** Makes the resolver and completes a first /proc scan. */
  static async create(opts: PodResolverOptions): Promise<PodNetnsResolver> {
    const r = new PodNetnsResolver(opts);
    await r.rescan();
    return r;
  }

  /**
   * `drops` (optional, default 1) is what unattributed() adds when this netns cannot be attributed: a caller
   * that passes the entry's count makes unattributed() count packets rather than entries.
   */
  resolve(inode: number | null, drops = 1): NetnsOwner {
    if (inode === null) {
      this.unattributedCount += drops;
      return NETNS_OWNER;
    }
    const cached = this.owners.get(inode);
    if (cached !== undefined) return cached;
    const owner = this.lookup(inode);
    if (owner !== null) {
      this.owners.set(inode, owner);
      this.pending.delete(inode);
      return owner;
    }
    // Unknown: rescan before calling it unattributed.
    const first = this.pending.get(inode);
    if (first === undefined) {
      // Bounded: a flood of short-lived namespaces must not grow this without limit.
      if (this.pending.size >= MAX_PENDING) this.pending.clear();
      this.pending.set(inode, this.now());
      this.requestScan();
    } else if (this.lastCompletedScanStart >= first) {
      // A scan since its first sighting did not attribute it: a netns of no pod (or of a pod the API does not
      // show yet). No more rescans for it, or a busy foreign netns would rescan /proc every interval: a new
      // pod in the API and the periodic scan bring it in if it turns out to be a pod's.
      this.unattributedCount += drops;
    } else {
      this.requestScan();
    }
    return NETNS_OWNER;
  }

  /**
   * Sum of `drops` over resolve() calls whose netns was null, or still unknown after a /proc scan that began
   * after its first sighting. Callers that do not pass `drops` count entries (one per entry per interval).
   */
  unattributed(): number {
    return this.unattributedCount;
  }

  /** Called with the pod UID when a pod of this node is deleted. Returns an unsubscribe function. */
  onPodDeleted(listener: (uid: string) => void): () => void {
    this.deleteListeners.push(listener);
    return () => {
      const i = this.deleteListeners.indexOf(listener);
      if (i >= 0) this.deleteListeners.splice(i, 1);
    };
  }

  /** Scans /proc now (or waits for the scan in progress and runs one more). */
  async rescan(): Promise<void> {
    if (this.scanning !== null) {
      this.scanAgain = true;
      await this.scanning;
      if (this.scanning !== null) await this.scanning;
      return;
    }
    this.scanning = this.doScan();
    try {
      await this.scanning;
    } finally {
      this.scanning = null;
    }
    if (this.scanAgain && !this.closed) {
      this.scanAgain = false;
      await this.rescan();
    }
  }

  /** Inodes of the pods' netns as last scanned (tests, debugging). */
  knownNetns(): ReadonlyMap<number, string> {
    const m = new Map<number, string>();
    for (const [inode, members] of this.scanResult?.pods ?? []) m.set(inode, members.podUid);
    return m;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.rescanTimer);
    clearInterval(this.periodTimer);
    await this.scanning?.catch(() => undefined);
    await this.opts.pods.close?.();
  }

  private lookup(inode: number): NetnsOwner | null {
    const scan = this.scanResult;
    if (scan === null) return null;
    if (inode === scan.hostInode) return HOST_OWNER;
    const members = scan.pods.get(inode);
    if (members === undefined) return null;
    const pod = this.opts.pods.get(members.podUid);
    if (pod === undefined) return null;
    if (pod.hostNetwork) return HOST_OWNER;
    return Object.freeze({ scope: 'pod', namespace: pod.namespace, pod: pod.name, podUid: pod.uid });
  }

  /** Rate-limited: runs a scan now, or schedules one at the end of the current interval. */
  private requestScan(): void {
    if (this.closed || this.rescanTimer !== undefined) return;
    const wait = Math.max(0, this.lastScanStart + this.minInterval - this.now());
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = undefined;
      this.rescan().catch((err: unknown) => log.debug({ err: String(err) }, 'proc rescan failed'));
    }, wait);
    this.rescanTimer.unref();
  }

  private async doScan(): Promise<void> {
    const started = this.now();
    this.lastScanStart = started;
    const result = await this.scanFn(this.opts.procDir);
    this.scanResult = result;
    this.lastCompletedScanStart = started;
    this.owners.clear();
    log.debug(
      { processes: result.processes, podNetns: result.pods.size, malformed: result.malformed, conflicts: result.conflicts },
      'scanned /proc',
    );
  }

  private podDeleted(pod: PodInfo): void {
    const scan = this.scanResult;
    if (scan !== null) {
      const pods = scan.pods as Map<number, unknown>;
      for (const [inode, members] of scan.pods) {
        if (members.podUid === pod.uid || members.podUid === pod.runtimeUid) pods.delete(inode);
      }
    }
    this.owners.clear();
    for (const l of this.deleteListeners) {
      try {
        l(pod.uid);
      } catch (err) {
        log.debug({ err: String(err) }, 'onPodDeleted listener threw');
      }
    }
  }
}
