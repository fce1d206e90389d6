/** `kdrop top`: the data the view shows, independent of where it came from (local pipeline or agent API). */
import type { Scope } from '../enrich/types.js';

export { GROUP_BYS, type GroupBy, type SortBy } from '../vocabulary/top-grouping.js';
import type { GroupBy, SortBy } from '../vocabulary/top-grouping.js';

/**
 * One counted series in one interval: the finest grain top keeps. Fields the source does not know are
 * null (an agent exports only its --labels; the local pipeline knows all of them).
 */
export interface TopSample {
  readonly reason: string | null;
  readonly function: string | null;
  readonly scope: Scope | null;
  /** Kubernetes namespace and pod (scope pod only). */
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly netns: number | null;
  /** The Kubernetes node whose agent counted it (`kubectl kdrop top`); absent or null for one host. */
  readonly node?: string | null;
  /** Drops in this interval. */
  readonly delta: number;
  /** Drops since the series started, when the source counts them (the agent does); else top sums deltas. */
  readonly total?: number;
  /** The latest example flow of this series (sampled drops, when the probe provides them). */
  readonly example?: string;
  /** A kernel stack of that example, innermost first (function+offset). */
  readonly stack?: readonly string[];
}

/** Where the data comes from and how healthy it is: the status line. */
export interface TopStatus {
  /** bpftrace | tracefs | bpf, or `agent <url>: bpftrace` for a remote source. */
  readonly source: string;
  /** Events the tracer lost since it started (counts are short by that much). */
  readonly lostEvents: number;
  /** Drops whose netns could not be attributed, cumulative. */
  readonly unattributed: number;
  /** A problem reaching the data (agent unreachable), shown instead of being fatal; null when fine. */
  readonly error: string | null;
  /** `kubectl kdrop top`: how many agents there are and which did not answer this time, and why. */
  readonly agents?: AgentsStatus;
}

export interface AgentsStatus {
  readonly total: number;
  readonly answered: number;
  /** One per agent that did not answer: its node (or pod when unscheduled) and why (timeout, refused, 403, ...). */
  readonly missing: readonly { readonly node: string; readonly why: string }[];
}

/** `agents 198/200` and, when some are missing, the first few of them. */
export function agentsText(a: AgentsStatus, max = 3): string {
  const head = `agents ${a.answered}/${a.total}`;
  if (a.missing.length === 0) return head;
  const shown = a.missing.slice(0, max).map((m) => `${m.node}: ${m.why}`);
  return `${head} (not answering: ${shown.join(', ')}${a.missing.length > max ? `, +${a.missing.length - max} more` : ''})`;
}

/** One interval as top ingests it. */
export interface TopInterval {
  /** Interval end, ms since the epoch. */
  readonly endMs: number;
  readonly intervalS: number;
  readonly samples: readonly TopSample[];
  readonly status: TopStatus;
  /** Kernel drop counters: those that grew (local pipeline), or every series with its total (the agent's drops API). */
  readonly counters?: readonly TopCounterSample[];
}

/** One kernel drop counter's growth in one interval, with its owner (beside the drops, never in them). */
export interface TopCounterSample {
  /** netstat | dev | conntrack | nic | qstats. */
  readonly source: string;
  /** ListenOverflows, tx_dropped, insert_failed, ... */
  readonly counter: string;
  readonly iface: string | null;
  readonly scope: Scope | null;
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly netns: number | null;
  /** The Kubernetes node whose agent read it (`kubectl kdrop top`); absent or null for one host. */
  readonly node?: string | null;
  /** Growth in this interval. */
  readonly delta: number;
  /** Since the series started, when the source keeps it (the agent does); else top sums deltas. */
  readonly total?: number;
}

/** A group's counter, as the row and the detail view show it. */
export interface TopCounter {
  /** `ListenOverflows`, or `tx_dropped eth0`. */
  readonly label: string;
  readonly rate: number;
  readonly total: number;
}

/** One row of the view: a group (pod, namespace, reason, function or netns). */
export interface TopRow {
  /** The group's key as shown (default/web-0, NO_SOCKET, 4026532301, ...). */
  readonly key: string;
  /** Extra words about the group (for netns: its owner), or null. */
  readonly detail: string | null;
  /** Drops per second over the last interval. */
  readonly rate: number;
  /** Drops since top started (local) or since the agent's series started (remote). */
  readonly total: number;
  /** Drops per interval, oldest first, the last `historyLength` intervals. */
  readonly history: readonly number[];
  /** The latest example flow in this group, or null when none was sampled. */
  readonly example: string | null;
  /** Kernel drop counters of this group that grew in the last interval (beside the drops), if any. */
  readonly counters?: readonly TopCounter[];
  /** The nodes the group's drops were counted on, sorted (empty when the source is one host). */
  readonly nodes: readonly string[];
}

/** A row's breakdown: reasons x functions, and the examples the group has. */
export interface TopBreakdown {
  readonly key: string;
  readonly cells: readonly { readonly reason: string; readonly function: string; readonly rate: number; readonly total: number }[];
  readonly examples: readonly string[];
  /** The latest example's kernel stack, or null. */
  readonly stack: readonly string[] | null;
  /** The group's kernel drop counters (beside the drops), if any. */
  readonly counters?: readonly TopCounter[];
}

export interface RowQuery {
  readonly groupBy: GroupBy;
  readonly sortBy: SortBy;
  /** Case-insensitive substring of the group key or detail; empty = all. */
  readonly filter: string;
}
