import { z } from 'zod';
import { isIP } from 'node:net';
import type { SourceChoice } from './common.js';
import { resolveSettings, SHARED, type SettingsTable } from './settings.js';
import { SAMPLE_SETTINGS, sampleOptions } from './sample-settings.js';
import type { PodRef } from '../enrich/pod-filter.js';
import { FILTER_SETTINGS, list, names } from './filter-settings.js';
import type { SampleOptions } from '../source/bpf/index.js';

/** Flags of `kdrop trace` as commander gives them (repeatable filters as arrays). */
export interface TraceFlags {
  source?: string;
  json?: boolean;
  stack?: boolean;
  count?: string;
  pod?: string;
  all?: boolean;
  reason?: string[];
  function?: string[];
  netns?: string[];
  proto?: string[];
  port?: string[];
  host?: string[];
  map?: string;
  sampleRate?: string;
  sampleBurst?: string;
  sampleMaxPerS?: string;
}

export interface TraceConfig {
  readonly source: SourceChoice;
  readonly json: boolean;
  /** Stop after this many printed events (undefined = until a signal). */
  readonly count: number | undefined;
  readonly pod: PodRef | undefined;
  readonly all: boolean;
  readonly reasons: string[];
  readonly functions: string[];
  readonly netns: number[];
  readonly protos: string[];
  readonly ports: number[];
  readonly hosts: string[];
  readonly map: string | undefined;
  /** The kernel's sampling; `stacks` from --stack. */
  readonly samples: SampleOptions;
}

/** `kdrop trace`'s settings. */
const TRACE = {
  source: SHARED.source,
  map: SHARED.map,
  json: { flag: '--json', default: false, schema: z.boolean() },
  stack: { flag: '--stack', default: false, schema: z.boolean() },
  count: { flag: '--count', schema: z.string().regex(/^[1-9]\d*$/, { message: 'expected a positive whole number of events' }).transform(Number).optional() },
  ...FILTER_SETTINGS,
  protos: { flag: '--proto', schema: names(/^(tcp|udp|icmp|icmpv6|udplite|sctp|\d{1,3})$/i, 'expected tcp, udp, icmp, icmpv6 or an IP protocol number') },
  ports: {
    flag: '--port',
    schema: z.array(z.string().regex(/^\d{1,5}$/, { message: 'expected a port number' }).transform(Number).refine((n) => n <= 65535, { message: 'expected a port from 0 to 65535' })),
  },
  hosts: { flag: '--host', schema: z.array(z.string().refine((s) => isIP(s) !== 0, { message: 'expected an IPv4 or IPv6 address' })) },
  ...SAMPLE_SETTINGS,
} as const satisfies SettingsTable;

/** flags > env (KDROP_*) > defaults, validated once. Throws one KdropError CONFIG listing every problem. */
export function traceConfig(flags: TraceFlags, env: NodeJS.ProcessEnv): TraceConfig {
  const v = resolveSettings(
    TRACE,
    {
      flags: {
        source: flags.source,
        map: flags.map,
        json: flags.json,
        stack: flags.stack,
        count: flags.count,
        pod: flags.pod,
        all: flags.all,
        reasons: list(flags.reason),
        functions: list(flags.function),
        netns: list(flags.netns),
        protos: list(flags.proto),
        ports: list(flags.port),
        hosts: list(flags.host),
        sampleRate: flags.sampleRate,
        sampleBurst: flags.sampleBurst,
        sampleMaxPerS: flags.sampleMaxPerS,
      },
      env,
    },
    'kdrop trace options',
  );
  return {
    source: v.source,
    json: v.json,
    count: v.count,
    pod: v.pod,
    all: v.all,
    reasons: v.reasons,
    functions: v.functions,
    netns: v.netns,
    protos: v.protos,
    ports: v.ports,
    hosts: v.hosts,
    map: v.map,
    samples: sampleOptions(v, v.stack),
  };
}
