/**
 * The source stage: something that counts skb:kfree_skb hits per key. Sources know nothing of
 * Kubernetes, symbols or reason names; they report raw kernel values.
 */
import type { FlowSample } from '../vocabulary/flow-sample.js';
import type { DropKey, SourceStats } from '../vocabulary/drop-key.js';

/** What identifies one counted series at the source (src/vocabulary/drop-key.ts). */
export type { DropKey } from '../vocabulary/drop-key.js';

/** Cumulative totals for one key since the source started (across tracer restarts). */
export interface DropSample extends DropKey {
  readonly count: number;
  /** Sum of skb->len, or null when the source cannot see lengths. */
  readonly bytes: number | null;
}

export type SourceName = 'bpf' | 'bpftrace' | 'tracefs';

export interface SourceFeatures {
  /** The kernel's tracepoint has the reason field. */
  readonly reason: boolean;
  /** The source reports the netns inode per drop. */
  readonly netns: boolean;
  /** The source reports skb->len sums. */
  readonly bytes: boolean;
}

export type { SourceStats } from '../vocabulary/drop-key.js';

export interface DropSource {
  readonly name: SourceName;
  /** Known after start(). */
  readonly features: SourceFeatures;
  /** Attaches to the tracepoint. Resolves once counting has begun; rejects with a KdropError. */
  start(): Promise<void>;
  /**
   * When counting began (ms since the epoch), where that was before start() resolved (the kernel probe
   * started at process start, src/source/bpf/early.ts); absent: when start() resolved.
   */
  readonly attachedAt?: number | undefined;
  /**
   * Cumulative counts since start(), one entry per key. Per key, count and bytes never decrease
   * between calls, not even across a tracer restart. Works after stop() too: then it returns the
   * final totals read while stopping. A source may omit a key that did not grow for a while (to bound
   * its memory); the consumer then forgets it, and if the key comes back its total starts again from
   * zero (counting only what came after it was omitted).
   */
  collect(): Promise<DropSample[]>;
  stats(): SourceStats;
  /** Detaches and reads the final counts. Idempotent. Leaves no process or tracefs instance behind. */
  stop(): Promise<void>;
  /** Called when the source fails for good (restart budget exhausted); the caller decides to exit. */
  onFatal(listener: (err: Error) => void): void;
  /**
   * Sources that sample drops (bpf, when started with samples on) hand each sampled drop to the listener;
   * returns an unsubscribe function. Absent on sources that cannot sample (bpftrace, tracefs).
   */
  onSample?(listener: (s: FlowSample) => void): () => void;
}

/** Sample counters of a sampling source (cumulative for the running program). */
export interface SampleStats {
  /** Samples the kernel emitted into the ring buffer. */
  readonly emitted: number;
  /** Drops not sampled (their key's or the global bucket was empty): counted, not shown. */
  readonly suppressed: number;
  /** Samples lost because the ring buffer was full. */
  readonly ringFull: number;
  /** Samples sent without their stack (the stack map was full). */
  readonly stackFailed: number;
}

/** A stable string for a key, for use in Maps. */
export function keyString(k: DropKey): string {
  return `${k.address.toString(16)},${k.reasonCode ?? ''},${k.protocol},${k.netns ?? ''}`;
}
