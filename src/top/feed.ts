import type { TopInterval } from './types.js';

/** Where top's intervals come from: this host's pipeline, or an agent's drops API. */
export interface TopFeed {
  /** For the status line before the first interval. */
  readonly label: string;
  /** True when `next()` failing is worth showing and retrying (a remote agent) rather than fatal. */
  readonly retryable: boolean;
  /** The interval since the previous call; null when there is nothing new (the agent has not read yet). */
  next(): Promise<TopInterval | null>;
  /** The last partial interval when stopping (null when there is none), then releases everything. */
  finish(): Promise<TopInterval | null>;
  /** Aborts this signal when the feed fails for good (tracer restart budget spent). */
  readonly fatal: AbortSignal;
  /** Why `fatal` aborted. */
  fatalError(): Error | null;
}
