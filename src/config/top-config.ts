import { z } from 'zod';
import { durationMs, type SourceChoice } from './common.js';
import { negatedFlag, resolveSettings, SHARED, type SettingsTable } from './settings.js';
import { GROUP_BYS, SORT_BYS, type GroupBy, type SortBy } from '../vocabulary/top-grouping.js';

/** Flags of `kdrop top` as commander gives them. */
export interface TopFlags {
  interval?: string;
  source?: string;
  groupBy?: string;
  sort?: string;
  agent?: string;
  count?: string;
  map?: string;
  plain?: boolean;
  /** false with --no-counters (commander: true when not given). */
  counters?: boolean;
}

export interface TopConfig {
  readonly intervalMs: number;
  readonly source: SourceChoice;
  readonly groupBy: GroupBy;
  readonly sortBy: SortBy;
  /** The agent to read from (its metrics address), or undefined for this host's kernel. */
  readonly agent: string | undefined;
  /** Stop after this many intervals (plain output; undefined = until a signal). */
  readonly count: number | undefined;
  readonly map: string | undefined;
  /** Plain snapshots even on a terminal. */
  readonly plain: boolean;
  /** False when NO_COLOR is set (to anything but the empty string). */
  readonly colors: boolean;
  /** Show the kernel drop counters (false: --no-counters: not read locally, not shown from an agent). */
  readonly counters: boolean;
}

/** `kdrop top`'s settings: the shared ones (its own default interval: 2s, at least 100ms), then its own. */
const TOP = {
  ...SHARED,
  interval: { ...SHARED.interval, default: '2s', schema: durationMs.refine((ms) => ms >= 100, { message: 'expected at least 100ms' }) },
  groupBy: { flag: '--group-by', default: 'pod', schema: z.enum(GROUP_BYS, { error: (iss) => `expected one of ${GROUP_BYS.join(', ')}, found ${JSON.stringify(iss.input)}` }) },
  sortBy: { flag: '--sort', default: 'rate', schema: z.enum(SORT_BYS, { error: (iss) => `expected rate or total, found ${JSON.stringify(iss.input)}` }) },
  agent: { flag: '--agent', schema: z.string().min(1).optional() },
  count: { flag: '--count', schema: z.string().regex(/^[1-9]\d*$/, { message: 'expected a positive whole number of intervals' }).transform(Number).optional() },
} as const satisfies SettingsTable;

/** flags > env (KDROP_*) > defaults, validated once. Throws one KdropError CONFIG listing every problem. */
export function topConfig(flags: TopFlags, env: NodeJS.ProcessEnv): TopConfig {
  const v = resolveSettings(
    TOP,
    { flags: { interval: flags.interval, source: flags.source, groupBy: flags.groupBy, sortBy: flags.sort, agent: flags.agent, count: flags.count, map: flags.map, counters: negatedFlag(flags.counters) }, env },
    'kdrop top options',
  );
  const noColor = env['NO_COLOR'];
  return {
    intervalMs: v.interval,
    source: v.source,
    groupBy: v.groupBy,
    sortBy: v.sortBy,
    agent: v.agent,
    count: v.count,
    map: v.map,
    plain: flags.plain ?? false,
    colors: noColor === undefined || noColor === '',
    counters: v.counters,
  };
}
