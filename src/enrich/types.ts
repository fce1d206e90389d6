/** The enrich stage: what a drop's network namespace belongs to, and the fully described drop. */

export type Scope = 'pod' | 'host' | 'netns';

export interface NetnsOwner {
  readonly scope: Scope;
  /** Kubernetes namespace, pod name and uid: set for scope pod only. */
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly podUid: string | null;
}

/** Maps a netns inode to its owner. Synchronous from a cache; may schedule a rescan on a miss. */
export interface NetnsResolver {
  /** `drops`: how many drops this lookup stands for, so `unattributed()` counts packets, not lookups. */
  resolve(inode: number | null, drops?: number): NetnsOwner;
  /** Drops whose netns could not be attributed so far (self-metric). */
  unattributed(): number;
  /**
   * Resolvers that know pods call the listener with the UID of each pod of this node that is deleted (the
   * agent then expires its series). Returns an unsubscribe function.
   */
  onPodDeleted?(listener: (uid: string) => void): () => void;
  close?(): Promise<void>;
}

/** One (location, reason, protocol, netns) entry of an interval, fully described. */
export interface DropEntry {
  readonly address: bigint;
  /** Symbol name without offset, or null when unknown. */
  readonly function: string | null;
  readonly offset: number | null;
  readonly module: string | null;
  /** `function+0xoff`, or the hex address when unknown. */
  readonly location: string;
  readonly reasonCode: number | null;
  /** Kernel name without SKB_DROP_REASON_, `UNKNOWN_<code>` for a code the kernel does not name, null without reason field. */
  readonly reason: string | null;
  readonly protocol: number;
  /** ipv4, ipv6, arp, or the ethertype in hex (0x86dd style). */
  readonly networkType: string;
  readonly netns: number | null;
  readonly owner: NetnsOwner;
  /** Drops in this interval (or, for totals, since start). */
  readonly count: number;
  readonly bytes: number | null;
}
