/**
 * The kernel's sampling rates, shared by `watch --flows`, `trace` and the agent's sample export: per key a
 * token bucket (rate per second, burst), and a cap over all keys per second. Flags, KDROP_SAMPLE_* env
 * variables and (agent) the config file.
 */
import { z } from 'zod';
import type { SettingsTable } from './settings.js';
import { PROBE_LIMITS, type SampleOptions } from '../source/bpf/index.js';

const wholeNumber = (what: string, { min, max }: { readonly min: number; readonly max: number }) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} (a whole number from ${min} to ${max}), found ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

const { sampleRate: RATE } = PROBE_LIMITS;
const rate = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n < RATE.min || n > RATE.max) {
    ctx.addIssue({ code: 'custom', message: `expected samples per second per key (a number from ${RATE.min} to ${RATE.max}, e.g. 1 or 0.2), found ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

export const SAMPLE_SETTINGS = {
  sampleRate: { flag: '--sample-rate', env: ['KDROP_SAMPLE_RATE'], file: true, default: 1, schema: rate },
  sampleBurst: { flag: '--sample-burst', env: ['KDROP_SAMPLE_BURST'], file: true, default: 3, schema: wholeNumber('samples a key may send at once', PROBE_LIMITS.sampleBurst) },
  sampleMaxPerS: { flag: '--sample-max-per-s', env: ['KDROP_SAMPLE_MAX_PER_S'], file: true, default: 1000, schema: wholeNumber('samples per second over all keys', PROBE_LIMITS.sampleMaxPerS) },
} as const satisfies SettingsTable;

export function sampleOptions(v: { sampleRate: number; sampleBurst: number; sampleMaxPerS: number }, stacks: boolean): SampleOptions {
  return { rate: v.sampleRate, burst: v.sampleBurst, maxPerS: v.sampleMaxPerS, stacks };
}

/** The words every command uses when the chosen source cannot sample. */
export const SAMPLES_NEED_BPF = 'samples need the bpf source (--source bpf): kdrop-probe, kernel BTF and root';
