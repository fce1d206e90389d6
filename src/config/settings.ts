/**
 * One settings mechanism for every command: each setting names its flag, its environment variables, its
 * config-file key (agent only) and its default, with a zod schema. resolveSettings() picks each value by
 * precedence (flag > env > config file > default), validates them all at once and throws ONE KdropError
 * (CONFIG) that lists every bad value under the name the user typed (`--interval`, `KDROP_SOURCE`,
 * `agent.json (seriesLimit)`). The tables themselves live next to their commands' types: watch-config.ts,
 * agent/config.ts; the values shared by both (interval, source, map) are defined once in SHARED.
 */
import { z } from 'zod';
import { KdropError, ErrorCodes } from '../errors.js';
import { durationMs, sourceChoice } from './common.js';

export interface Setting {
  /** The long flag, e.g. `--interval`. */
  readonly flag: string;
  /** Environment variables, highest precedence first. */
  readonly env?: readonly string[];
  /** Accepted in the JSON config file (agent) under the setting's key. */
  readonly file?: boolean;
  readonly default?: unknown;
  readonly schema: z.ZodType;
}

export type SettingsTable = Readonly<Record<string, Setting>>;

/** The parsed value of every setting of a table (optional where the setting has no default). */
export type Settings<T extends SettingsTable> = { [K in keyof T]: z.infer<T[K]['schema']> };

/** A boolean from a flag or config file (true/false) or an environment variable (`true` / `false`). */
const boolean = z.union([z.boolean(), z.enum(['true', 'false']).transform((x) => x === 'true')], { message: 'expected true or false' });

/** Settings `watch`, `top` and `agent` take, defined once. */
export const SHARED = {
  interval: { flag: '--interval', env: ['KDROP_INTERVAL'], file: true, default: '5s', schema: durationMs },
  source: { flag: '--source', env: ['KDROP_SOURCE'], file: true, default: 'auto', schema: sourceChoice },
  map: { flag: '--map', env: ['KDROP_MAP'], file: true, schema: z.string().min(1, { message: 'expected a System.map path' }).optional() },
  /** Read the kernel drop counters beside the drops (`--no-counters` / KDROP_COUNTERS=false turns the reader off). */
  counters: { flag: '--no-counters', env: ['KDROP_COUNTERS'], file: true, default: true, schema: boolean },
} as const satisfies SettingsTable;

/**
 * Commander sets a `--no-x` option to true when it is not given: only an explicit `--no-x` (false) is a
 * flag value; otherwise env, config file and default decide.
 */
export function negatedFlag(v: boolean | undefined): false | undefined {
  return v === false ? false : undefined;
}

export interface SettingsInput {
  /** Flag values as commander gives them, by setting key (undefined = not given). */
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: NodeJS.ProcessEnv;
  /** The config file's values by key, and its path (for messages). */
  readonly file?: { readonly path: string; readonly values: Readonly<Record<string, unknown>> };
  /** Problems found before validation (an unreadable config file): listed in the same error. */
  readonly problems?: readonly string[];
}

/** The value, or undefined when unset or blank. */
export const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v);

/**
 * Resolves and validates every setting of `table`. `what` names the whole in the error's first line
 * (`kdrop watch options`, `agent configuration`); `hint` is appended to it.
 */
export function resolveSettings<T extends SettingsTable>(table: T, input: SettingsInput, what: string, hint = ''): Settings<T> {
  const values: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const [key, s] of Object.entries(table)) {
    const flag = input.flags[key];
    const envName = (s.env ?? []).find((e) => nonEmpty(input.env[e]) !== undefined);
    const fileValue = s.file === true ? input.file?.values[key] : undefined;
    if (flag !== undefined) [values[key], origin[key]] = [flag, s.flag];
    else if (envName !== undefined) [values[key], origin[key]] = [input.env[envName], envName];
    else if (fileValue !== undefined) [values[key], origin[key]] = [fileValue, `${input.file?.path ?? 'config file'} (${key})`];
    else if (s.default !== undefined) [values[key], origin[key]] = [s.default, `default ${s.flag}`];
  }
  const schema = z.object(Object.fromEntries(Object.entries(table).map(([k, s]) => [k, s.schema])));
  const r = schema.safeParse(values);
  const problems = [...(input.problems ?? [])];
  if (!r.success) {
    for (const issue of r.error.issues) {
      const [head, ...rest] = issue.path.map(String);
      const name = head === undefined ? '(options)' : `${origin[head] ?? table[head]?.flag ?? head}${rest.map((x) => `[${x}]`).join('')}`;
      problems.push(`${name}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !r.success) {
    throw new KdropError(
      ErrorCodes.CONFIG,
      `invalid ${what} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}${hint}`,
    );
  }
  return r.data as Settings<T>;
}

/** The keys a config file may hold for `table`. */
export function fileKeys(table: SettingsTable): string[] {
  return Object.entries(table)
    .filter(([, s]) => s.file === true)
    .map(([k]) => k);
}
