import type { DropSource } from './source/types.js';
import type { IntervalReport } from './vocabulary/interval-report.js';
import type { DropEntry } from './enrich/types.js';
import { DeltaTracker } from './source/delta.js';
import { describe, type DescribeContext } from './enrich/describe.js';
import type { CounterEntry } from './enrich/counter-collector.js';
import { compareText } from './vocabulary/order.js';

export interface PipelineOptions extends DescribeContext {
  readonly source: DropSource;
  readonly now?: () => Date;
  /** Start of the first interval (default: now): when the source began counting. */
  readonly start?: Date;
  /** Kernel drop counters read beside the drops each tick (src/enrich/counter-collector.ts). */
  readonly counters?: { tick(): Promise<CounterEntry[]> };
}

/**
 * source -> (deltas) -> symbolize -> enrich. Filtering, label selection and export happen in the
 * consumers of the reports. The source must already be started.
 */
export class Pipeline {
  private readonly deltas = new DeltaTracker();
  private readonly now: () => Date;
  private last: Date;
  private stopped = false;

  constructor(private readonly opts: PipelineOptions) {
    this.now = opts.now ?? (() => new Date());
    this.last = opts.start ?? this.now();
  }

  /** Reads the source and returns what happened since the previous tick. */
  async tick(): Promise<IntervalReport> {
    const [cumulative, counters] = await Promise.all([this.opts.source.collect(), this.readCounters()]);
    return await this.report(cumulative, false, counters);
  }

  /** Stops the source, reads its final counts and returns the last partial interval. Idempotent. */
  async finish(): Promise<IntervalReport> {
    if (!this.stopped) {
      this.stopped = true;
      await this.opts.source.stop();
    }
    const [cumulative, counters] = await Promise.all([this.opts.source.collect(), this.readCounters()]);
    return await this.report(cumulative, true, counters);
  }

  /** Counters never fail a tick: an error leaves them out of this interval. */
  private async readCounters(): Promise<CounterEntry[] | undefined> {
    return await this.opts.counters?.tick().catch(() => []);
  }

  private async report(cumulative: Parameters<DeltaTracker['next']>[0], final: boolean, counters?: CounterEntry[]): Promise<IntervalReport> {
    const end = this.now();
    const start = this.last;
    this.last = end;
    const deltas = this.deltas.next(cumulative);
    // New text (a module loaded after start) is learned here, asynchronously, before resolving.
    await this.opts.symbolizer.prepare?.(deltas.map((d) => d.address));
    const entries = deltas.map((s) => describe(this.opts, s));
    entries.sort(byCountDesc);
    return {
      start,
      end,
      intervalS: Math.max(0, (end.getTime() - start.getTime()) / 1000),
      entries,
      stats: this.opts.source.stats(),
      unattributed: this.opts.resolver.unattributed(),
      final,
      ...(counters ? { counters } : {}),
    };
  }
}

function byCountDesc(a: DropEntry, b: DropEntry): number {
  return b.count - a.count || compareText(a.location, b.location) || (a.netns ?? 0) - (b.netns ?? 0);
}
