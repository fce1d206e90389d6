import type { DropSample, DropSource, SourceFeatures, SourceStats } from '../../src/source/types.js';
import type { Symbolizer, Resolved } from '../../src/symbolize/types.js';
import type { NetnsOwner, NetnsResolver } from '../../src/enrich/types.js';

/** A DropSource for unit tests of pure code: replays a list of cumulative snapshots, one per collect(). */
export class ReplaySource implements DropSource {
  readonly name = 'bpftrace' as const;
  readonly features: SourceFeatures = { reason: true, netns: true, bytes: true };
  private i = 0;
  stopped = false;
  lost = 0;
  constructor(private readonly snapshots: DropSample[][], private readonly finalSnapshot?: DropSample[]) {}
  async start(): Promise<void> {}
  async collect(): Promise<DropSample[]> {
    if (this.stopped && this.finalSnapshot) return this.finalSnapshot;
    const s = this.snapshots[Math.min(this.i, this.snapshots.length - 1)] ?? [];
    this.i++;
    return s;
  }
  stats(): SourceStats {
    return { lostEvents: this.lost, restarts: 0, badLines: 0 };
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  onFatal(): void {}
}

/** Symbolizer over an inline table: [address, name, size, module]. */
export function tableSymbolizer(rows: [bigint, string, number, string | null][]): Symbolizer {
  return {
    resolve(address: bigint): Resolved | null {
      for (const [start, name, size, module] of rows) {
        if (address >= start && address < start + BigInt(size)) return { function: name, offset: Number(address - start), size, module };
      }
      return null;
    },
  };
}

/** host for `hostInode`, pods from a map, netns otherwise. */
export function mapResolver(hostInode: number, pods: Map<number, { namespace: string; pod: string; uid: string }> = new Map()): NetnsResolver {
  let unattributed = 0;
  return {
    resolve(inode: number | null, drops = 1): NetnsOwner {
      if (inode === hostInode) return { scope: 'host', namespace: null, pod: null, podUid: null };
      const p = inode === null ? undefined : pods.get(inode);
      if (p) return { scope: 'pod', namespace: p.namespace, pod: p.pod, podUid: p.uid };
      unattributed += drops;
      return { scope: 'netns', namespace: null, pod: null, podUid: null };
    },
    unattributed: () => unattributed,
  };
}

export function sample(address: bigint, reasonCode: number | null, netns: number | null, count: number, bytes: number | null = count * 100, protocol = 0x0800): DropSample {
  return { address, reasonCode, protocol, netns, count, bytes };
}
