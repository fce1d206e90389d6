/** Test doubles for the agent: a DropSource whose cumulative totals the test sets, and trivial stages. */
import type { DropSample, DropSource, SourceFeatures, SourceStats } from '../../../src/source/types.js';
import type { NetnsOwner, NetnsResolver } from '../../../src/enrich/types.js';
import type { Symbolizer } from '../../../src/symbolize/types.js';
import { Pipeline } from '../../../src/pipeline.js';
import type { AgentPipeline } from '../../../src/agent/agent.js';

export class FakeSource implements DropSource {
  readonly name = 'tracefs' as const;
  readonly features: SourceFeatures = { reason: true, netns: true, bytes: true };
  readonly totals = new Map<string, DropSample>();
  stats_: SourceStats = { lostEvents: 0, restarts: 0, badLines: 0 };
  started = false;
  stopped = false;
  collects = 0;
  /** Drops that "happen" while stopping (the last partial interval). */
  onStop: (() => void) | null = null;
  private fatal: ((err: Error) => void)[] = [];

  async start(): Promise<void> {
    this.started = true;
  }
  /** Adds drops to the cumulative total of a key. */
  drop(netns: number, count: number, opts: { address?: bigint; reasonCode?: number; bytesEach?: number } = {}): void {
    const address = opts.address ?? 0xffffffff81000100n;
    const reasonCode = opts.reasonCode ?? 3;
    const k = `${address},${reasonCode},${netns}`;
    const prev = this.totals.get(k);
    this.totals.set(k, {
      address,
      reasonCode,
      protocol: 0x0800,
      netns,
      count: (prev?.count ?? 0) + count,
      bytes: (prev?.bytes ?? 0) + count * (opts.bytesEach ?? 100),
    });
  }
  async collect(): Promise<DropSample[]> {
    this.collects++;
    return [...this.totals.values()];
  }
  stats(): SourceStats {
    return this.stats_;
  }
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.onStop?.();
  }
  onFatal(listener: (err: Error) => void): void {
    this.fatal.push(listener);
  }
  die(err: Error): void {
    for (const l of this.fatal) l(err);
  }
}

export const symbolizer: Symbolizer = {
  resolve: (address) => (address >= 0xffffffff81000000n ? { function: 'fake_rcv', offset: Number(address - 0xffffffff81000000n), size: null, module: null } : null),
};

/** netns 1 = host, 1000+ = pods default/pod-<n>, others unattributed (scope netns). */
export class FakeResolver implements NetnsResolver {
  misses = 0;
  private deleted: ((uid: string) => void)[] = [];
  resolve(inode: number | null): NetnsOwner {
    if (inode === 1) return { scope: 'host', namespace: null, pod: null, podUid: null };
    if (inode !== null && inode >= 1000 && inode < 2000) return { scope: 'pod', namespace: 'default', pod: `pod-${inode}`, podUid: `uid-${inode}` };
    this.misses++;
    return { scope: 'netns', namespace: null, pod: null, podUid: null };
  }
  unattributed(): number {
    return this.misses;
  }
  onPodDeleted(listener: (uid: string) => void): () => void {
    this.deleted.push(listener);
    return () => undefined;
  }
  deletePod(inode: number): void {
    for (const l of this.deleted) l(`uid-${inode}`);
  }
}

export interface FakePipeline extends AgentPipeline {
  readonly fake: FakeSource;
  closed: boolean;
}

export function fakePipeline(source = new FakeSource(), resolver: NetnsResolver = new FakeResolver()): FakePipeline {
  const pipeline = new Pipeline({ source, symbolizer, reasons: new Map([[3, 'NO_SOCKET']]), resolver });
  const p: FakePipeline = {
    pipeline,
    source,
    fake: source,
    closed: false,
    async close() {
      p.closed = true;
      await source.stop();
    },
  };
  return p;
}
