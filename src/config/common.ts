import { z } from 'zod';
import { KdropError, ErrorCodes } from '../errors.js';
import { parseDurationMs } from './duration.js';
import type { HostPaths } from '../host-paths.js';

/** A duration field: `5s`, `500ms`, `1m`, or seconds; becomes milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(String(v));
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 5s, 500ms or 1m, found ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

export const sourceChoice = z.enum(['auto', 'bpf', 'bpftrace', 'tracefs'], {
  error: (iss) => `expected auto, bpf, bpftrace or tracefs, found ${JSON.stringify(iss.input)}`,
});
export type SourceChoice = z.infer<typeof sourceChoice>;

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  error: (iss) => `expected one of fatal, error, warn, info, debug, trace, silent, found ${JSON.stringify(iss.input)}`,
});

export const logFormat = z.enum(['text', 'json'], {
  error: (iss) => `expected text or json, found ${JSON.stringify(iss.input)}`,
});

const dirPath = z.string().min(1, { message: 'expected a non-empty directory path' });
export const hostPathsSchema = z.object({
  proc: dirPath,
  sys: dirPath,
  nicSys: dirPath.optional(),
  tracefs: dirPath.nullable(),
  pinRoot: z.string().regex(/^\//, { message: 'expected an absolute directory path on bpffs' }).optional(),
});

/** Values from flags win over env, env over defaults; `undefined` means "not given here". */
export function pick<T>(...values: (T | undefined)[]): T | undefined {
  for (const v of values) if (v !== undefined) return v;
  return undefined;
}

/**
 * Validates once; every bad field is listed in one error. `names` maps a schema key to what the user
 * typed (`intervalMs` -> `--interval / KDROP_INTERVAL`), so the message names the flag, not our field.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, what: string, names: Readonly<Record<string, string>> = {}): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const [head, ...rest] = i.path.map(String);
    const field = head === undefined ? '(root)' : [names[head] ?? head, ...rest.map((x) => `[${x}]`)].join('');
    return `  ${field}: ${i.message}`;
  });
  throw new KdropError(ErrorCodes.CONFIG, `invalid ${what} (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
}

export function hostPathsFrom(
  flags: { proc?: string | undefined; sys?: string | undefined; nicSys?: string | undefined; tracefs?: string | undefined; pinRoot?: string | undefined },
  env: NodeJS.ProcessEnv,
): HostPaths {
  const pinRoot = pick(flags.pinRoot, env['KDROP_PIN_ROOT']);
  const nicSys = pick(flags.nicSys, env['KDROP_NIC_SYS_PATH']);
  return validate(
    hostPathsSchema,
    {
      proc: pick(flags.proc, env['KDROP_PROC_PATH'], '/proc'),
      sys: pick(flags.sys, env['KDROP_SYS_PATH'], '/sys'),
      tracefs: pick(flags.tracefs, env['KDROP_TRACEFS_PATH'], null),
      ...(pinRoot === undefined || pinRoot === '' ? {} : { pinRoot }),
      ...(nicSys === undefined || nicSys === '' ? {} : { nicSys }),
    },
    'host paths',
    { proc: '--proc / KDROP_PROC_PATH', sys: '--sys / KDROP_SYS_PATH', nicSys: '--nic-sys / KDROP_NIC_SYS_PATH', tracefs: '--tracefs / KDROP_TRACEFS_PATH', pinRoot: '--pin-root / KDROP_PIN_ROOT' },
  );
}
