import { z } from 'zod';
import { durationMs, pick, sourceChoice, validate, type SourceChoice } from './common.js';
import { GROUP_BYS, SORT_BYS, type GroupBy, type SortBy } from '../top/types.js';

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
}

const schema = z.object({
  intervalMs: durationMs.refine((ms) => ms >= 100, { message: 'expected at least 100ms' }),
  source: sourceChoice,
  groupBy: z.enum(GROUP_BYS, { error: (iss) => `expected one of ${GROUP_BYS.join(', ')}, found ${JSON.stringify(iss.input)}` }),
  sortBy: z.enum(SORT_BYS, { error: (iss) => `expected rate or total, found ${JSON.stringify(iss.input)}` }),
  agent: z.string().min(1).optional(),
  count: z
    .string()
    .regex(/^[1-9]\d*$/, { message: 'expected a positive whole number of intervals' })
    .transform(Number)
    .optional(),
  map: z.string().min(1).optional(),
});

/** flags > env (KDROP_*) > defaults, validated once. Throws one KdropError CONFIG listing every problem. */
export function topConfig(flags: TopFlags, env: NodeJS.ProcessEnv): TopConfig {
  const v = validate(
    schema,
    {
      intervalMs: pick(flags.interval, env['KDROP_INTERVAL'], '2s'),
      source: pick(flags.source, env['KDROP_SOURCE'], 'auto'),
      groupBy: pick(flags.groupBy, 'pod'),
      sortBy: pick(flags.sort, 'rate'),
      agent: flags.agent,
      count: flags.count,
      map: flags.map,
    },
    'kdrop top options',
    {
      intervalMs: '--interval / KDROP_INTERVAL',
      source: '--source / KDROP_SOURCE',
      groupBy: '--group-by',
      sortBy: '--sort',
      agent: '--agent',
      count: '--count',
      map: '--map',
    },
  );
  const noColor = env['NO_COLOR'];
  return {
    intervalMs: v.intervalMs,
    source: v.source,
    groupBy: v.groupBy,
    sortBy: v.sortBy,
    agent: v.agent,
    count: v.count,
    map: v.map,
    plain: flags.plain ?? false,
    colors: noColor === undefined || noColor === '',
  };
}
