/**
 * bpftrace version detection and the program dialect each version needs.
 */
import { execa } from 'execa';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';

export interface BpftraceVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** How a generated program must be written, and how the runner talks to it, for one bpftrace version. */
export interface BpftraceDialect {
  /**
   * How the probe reads the event:
   * - `tracepoint-arrow`: `tracepoint:skb:kfree_skb` with `args->field` (bpftrace < 0.19, e.g. 0.17);
   * - `tracepoint-dot`: `tracepoint:skb:kfree_skb` with `args.field` (0.19 made `args` a struct);
   * - `rawtracepoint`: `rawtracepoint:kfree_skb` with arg0 skb, arg1 location, arg2 reason (0.23+),
   *   which skips the classic tracepoint's record copy.
   */
  readonly attach: 'tracepoint-arrow' | 'tracepoint-dot' | 'rawtracepoint';
  /**
   * True where SIGUSR1 prints all maps by itself (bpftrace < 0.22); later versions removed that default
   * and need a `self:signal:SIGUSR1` probe that print()s the maps.
   */
  readonly sigusr1PrintsMaps: boolean;
  /** Environment variable that raises the map key limit (renamed in 0.20). */
  readonly maxMapKeysEnv: 'BPFTRACE_MAP_KEYS_MAX' | 'BPFTRACE_MAX_MAP_KEYS';
  /**
   * Flags needed for bpftrace to report failed map updates ("map full") as helper_error lines: `-k` on
   * 0.17 (where -k checks helpers other than reads); none on 0.23, which reports them by default and
   * where -k would add checks on every probe read.
   */
  readonly mapErrorFlags: readonly string[];
}

/** The oldest bpftrace kdrop's generated programs are tested with (Debian 12's). */
export const MIN_BPFTRACE = { major: 0, minor: 17 } as const;

const VERSION_RE = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/;

/** Parses `bpftrace --version` output: `bpftrace v0.17.0`, `bpftrace v0.23.5`, `bpftrace v0.21.2-1ubuntu`... */
export function parseBpftraceVersion(text: string): BpftraceVersion {
  const line = text.split('\n').find((l) => /bpftrace/i.test(l)) ?? text;
  const m = VERSION_RE.exec(line);
  if (!m?.[1] || !m[2]) {
    throw new KdropError(ErrorCodes.BPFTRACE_MISSING, 'cannot read the bpftrace version', {
      expected: 'a line like "bpftrace v0.17.0"',
      found: excerpt(text.trim()),
    });
  }
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? '0') };
}

function atLeast(v: BpftraceVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** The dialect for a version. Rawtracepoint is only chosen where it was verified (0.23). */
export function dialectForVersion(v: BpftraceVersion): BpftraceDialect {
  return {
    attach: atLeast(v, 0, 23) ? 'rawtracepoint' : atLeast(v, 0, 19) ? 'tracepoint-dot' : 'tracepoint-arrow',
    sigusr1PrintsMaps: !atLeast(v, 0, 22),
    maxMapKeysEnv: atLeast(v, 0, 20) ? 'BPFTRACE_MAX_MAP_KEYS' : 'BPFTRACE_MAP_KEYS_MAX',
    mapErrorFlags: atLeast(v, 0, 23) ? [] : ['-k'],
  };
}

/** Runs `<command> --version`; rejects with BPFTRACE_MISSING when bpftrace is absent or not runnable. */
export async function detectBpftrace(
  command: readonly string[],
): Promise<{ version: BpftraceVersion; dialect: BpftraceDialect }> {
  const [file, ...args] = command;
  if (file === undefined) {
    throw new KdropError(ErrorCodes.BPFTRACE_MISSING, 'no bpftrace command given', { expected: 'e.g. ["bpftrace"]', found: '[]' });
  }
  let result;
  try {
    result = await execa(file, [...args, '--version'], { reject: false, timeout: 30_000, stdin: 'ignore' });
  } catch (cause) {
    throw new KdropError(ErrorCodes.BPFTRACE_MISSING, `cannot run ${file}`, {
      expected: 'bpftrace installed and on PATH',
      found: String(cause),
      hint: 'install bpftrace (Debian: apt-get install bpftrace) or use --source tracefs',
      cause,
    });
  }
  if (result.failed || result.exitCode !== 0) {
    const code = (result as { code?: string }).code;
    throw new KdropError(ErrorCodes.BPFTRACE_MISSING, `${[file, ...args].join(' ')} --version failed`, {
      expected: 'bpftrace installed and runnable',
      found: code === 'ENOENT' ? 'command not found' : excerpt(`${result.stderr}${result.stdout}`.trim() || `exit ${result.exitCode}`, 200),
      hint: 'install bpftrace (Debian: apt-get install bpftrace) or use --source tracefs',
    });
  }
  const version = parseBpftraceVersion(`${result.stdout}\n${result.stderr}`);
  if (!atLeast(version, MIN_BPFTRACE.major, MIN_BPFTRACE.minor)) {
    throw new KdropError(ErrorCodes.BPFTRACE_MISSING, `bpftrace ${version.major}.${version.minor}.${version.patch} is too old`, {
      expected: `bpftrace ${MIN_BPFTRACE.major}.${MIN_BPFTRACE.minor} or newer`,
      found: `${version.major}.${version.minor}.${version.patch} (${[file, ...args].join(' ')})`,
      hint: 'upgrade bpftrace, or use --source bpf or tracefs',
    });
  }
  return { version, dialect: dialectForVersion(version) };
}
