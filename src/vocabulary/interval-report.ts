/** What the pipeline hands its consumers (watch, agent, top, exporters) every interval. */
import type { SourceStats } from './drop-key.js';
import type { DropEntry } from '../enrich/types.js';
import type { CounterEntry } from '../enrich/counter-collector.js';

/** One interval's worth of drops, fully described, most drops first. */
export interface IntervalReport {
  readonly start: Date;
  readonly end: Date;
  readonly intervalS: number;
  readonly entries: readonly DropEntry[];
  readonly stats: SourceStats;
  /** Drops whose netns could not be attributed, cumulative. */
  readonly unattributed: number;
  /** True for the last (possibly partial) interval read while stopping. */
  readonly final: boolean;
  /** Kernel drop counters that grew in this interval (beside the drops, never in them); absent when not read. */
  readonly counters?: readonly CounterEntry[];
}

