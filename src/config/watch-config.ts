import { z } from 'zod';
import type { SourceChoice } from './common.js';
import { negatedFlag, resolveSettings, SHARED, type SettingsTable } from './settings.js';
import { SAMPLE_SETTINGS, sampleOptions } from './sample-settings.js';
import type { SampleOptions } from '../source/bpf/index.js';
import type { PodRef } from '../enrich/pod-filter.js';
import { FILTER_SETTINGS, list, names } from './filter-settings.js';
import { REASON_CLASSES, type ReasonClass } from '../enrich/reason-catalog.js';

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
  flows?: boolean;
  sampleRate?: string;
  sampleBurst?: string;
  sampleMaxPerS?: string;
  /** false with --no-counters (commander: true when not given). */
  counters?: boolean;
}

export interface WatchConfig {
  readonly intervalMs: number;
  readonly source: SourceChoice;
  readonly json: boolean;
  readonly count: number | undefined;
  readonly pod: PodRef | undefined;
  readonly all: boolean;
  readonly reasons: string[];
  readonly excludeReasons: string[];
  readonly classes: ReasonClass[];
  readonly functions: string[];
  readonly netns: number[];
  readonly map: string | undefined;
  /** --flows: the kernel's sampling (examples under each line); undefined without --flows. */
  readonly flows: SampleOptions | undefined;
  /** Read and print the kernel drop counters beside the drops (false: --no-counters). */
  readonly counters: boolean;
}

/** `kdrop watch`'s settings: the shared ones, then its own (flags only). */
const WATCH = {
  ...SHARED,
  json: { flag: '--json', default: false, schema: z.boolean() },
  count: { flag: '--count', schema: z.string().regex(/^[1-9]\d*$/, { message: 'expected a positive whole number of intervals' }).transform(Number).optional() },
  ...FILTER_SETTINGS,
  excludeReasons: { flag: '--exclude-reason', schema: names(/^[A-Za-z0-9_]+$/, 'expected a reason name like NO_SOCKET') },
  classes: { flag: '--class', schema: z.array(z.string().transform((s) => s.toLowerCase()).pipe(z.enum(REASON_CLASSES, { message: `expected one of ${REASON_CLASSES.join(', ')}` }))) },
  flows: { flag: '--flows', default: false, schema: z.boolean() },
  ...SAMPLE_SETTINGS,
} as const satisfies SettingsTable;

/** flags > env (KDROP_*) > defaults, validated once. Throws one KdropError CONFIG listing every problem. */
export function watchConfig(flags: WatchFlags, env: NodeJS.ProcessEnv): WatchConfig {
  const v = resolveSettings(
    WATCH,
    {
      flags: {
        interval: flags.interval,
        source: flags.source,
        json: flags.json,
        count: flags.count,
        pod: flags.pod,
        all: flags.all,
        reasons: list(flags.reason),
        excludeReasons: list(flags.excludeReason),
        classes: list(flags.class),
        functions: list(flags.function),
        netns: list(flags.netns),
        map: flags.map,
        flows: flags.flows,
        sampleRate: flags.sampleRate,
        sampleBurst: flags.sampleBurst,
        sampleMaxPerS: flags.sampleMaxPerS,
        counters: negatedFlag(flags.counters),
      },
      env,
    },
    'kdrop watch options',
  );
  return {
    intervalMs: v.interval,
    source: v.source,
    json: v.json,
    count: v.count,
    pod: v.pod,
    all: v.all,
    reasons: v.reasons,
    excludeReasons: v.excludeReasons,
    classes: v.classes,
    functions: v.functions,
    netns: v.netns,
    map: v.map,
    flows: v.flows ? sampleOptions(v, false) : undefined,
    counters: v.counters,
  };
}
