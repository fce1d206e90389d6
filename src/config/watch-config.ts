import { z } from 'zod';
import { REASON_CLASSES, type ReasonClass } from '../enrich/reason-catalog.js';
import { durationMs, pick, sourceChoice, validate, type SourceChoice } from './common.js';

/** Flags of `kdrop watch` as commander gives them (repeatable filters as arrays). */
export interface WatchFlags {
  interval?: string;
  source?: string;
  json?: boolean;
  count?: string;
  pod?: string;
  all?: boolean;
  reason?: string[];
  excludeReason?: string[];
  class?: string[];
  function?: string[];
  netns?: string[];
  map?: string;
}

export interface WatchConfig {
  readonly intervalMs: number;
  readonly source: SourceChoice;
  readonly json: boolean;
  readonly count: number | undefined;
  readonly pod: { namespace: string; name: string } | undefined;
  readonly all: boolean;
  readonly reasons: string[];
  readonly excludeReasons: string[];
  readonly classes: ReasonClass[];
  readonly functions: string[];
  readonly netns: number[];
  readonly map: string | undefined;
}

const list = (items: string[] | undefined): string[] =>
  (items ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);

const schema = z.object({
  intervalMs: durationMs,
  source: sourceChoice,
  json: z.boolean(),
  count: z
    .string()
    .regex(/^[1-9]\d*$/, { message: 'expected a positive whole number of intervals' })
    .transform(Number)
    .optional(),
  pod: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, { message: 'expected NAMESPACE/NAME (lowercase Kubernetes names)' })
    .transform((s) => {
      const [namespace = '', name = ''] = s.split('/');
      return { namespace, name };
    })
    .optional(),
  all: z.boolean(),
  reasons: z.array(z.string().regex(/^[A-Za-z0-9_]+$/, { message: 'expected a reason name like NO_SOCKET' })),
  excludeReasons: z.array(z.string().regex(/^[A-Za-z0-9_]+$/, { message: 'expected a reason name like NO_SOCKET' })),
  classes: z.array(z.string().transform((s) => s.toLowerCase()).pipe(z.enum(REASON_CLASSES, { message: `expected one of ${REASON_CLASSES.join(', ')}` }))),
  functions: z.array(z.string().regex(/^[A-Za-z0-9_.$]+$/, { message: 'expected a kernel function name' })),
  netns: z.array(z.string().regex(/^\d+$/, { message: 'expected a netns inode number' }).transform(Number)),
  map: z.string().min(1).optional(),
});

/** flags > env (KDROP_*) > defaults, validated once. Throws one KdropError CONFIG listing every problem. */
export function watchConfig(flags: WatchFlags, env: NodeJS.ProcessEnv): WatchConfig {
  const v = validate(
    schema,
    {
      intervalMs: pick(flags.interval, env['KDROP_INTERVAL'], '5s'),
      source: pick(flags.source, env['KDROP_SOURCE'], 'auto'),
      json: flags.json ?? false,
      count: flags.count,
      pod: flags.pod,
      all: flags.all ?? false,
      reasons: list(flags.reason),
      excludeReasons: list(flags.excludeReason),
      classes: list(flags.class),
      functions: list(flags.function),
      netns: list(flags.netns),
      map: flags.map,
    },
    'kdrop watch options',
    {
      intervalMs: '--interval / KDROP_INTERVAL',
      source: '--source / KDROP_SOURCE',
      count: '--count',
      pod: '--pod',
      reasons: '--reason',
      excludeReasons: '--exclude-reason',
      classes: '--class',
      functions: '--function',
      netns: '--netns',
      map: '--map',
    },
  );
  return { ...v, count: v.count, pod: v.pod, map: v.map };
}
