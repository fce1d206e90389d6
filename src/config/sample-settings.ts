/**
 * The kernel's sampling rates, shared by `watch --flows`, `trace` and the agent's sample export: per key a
 * token bucket (rate per second, burst), and a cap over all keys per second. Flags, KDROP_SAMPLE_* env
 * variables and (agent) the config file.
 */
import { z } from 'zod';
import type { SettingsTable } from './settings.js';
import type { SampleOptions } from '../source/bpf/index.js';

const positiveInt = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} (a whole number from 1 to 1000000), found ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

const rate = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 1_000_000) {
    ctx.addIssue({ code: 'custom', message: `expected samples per second per key (a number above 0, e.g. 1 or 0.2), found ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

export const SAMPLE_SETTINGS = {
  sampleRate: { flag: '--sample-rate', env: ['KDROP_SAMPLE_RATE'], file: true, default: 1, schema: rate },
  sampleBurst: { flag: '--sample-burst', env: ['KDROP_SAMPLE_BURST'], file: true, default: 3, schema: positiveInt('samples a key may send at once') },
  sampleMaxPerS: { flag: '--sample-max-per-s', env: ['KDROP_SAMPLE_MAX_PER_S'], file: true, default: 1000, schema: positiveInt('samples per second over all keys') },
} as const satisfies SettingsTable;

export function sampleOptions(v: { sampleRate: number; sampleBurst: number; sampleMaxPerS: number }, stacks: boolean): SampleOptions {
  return { rate: v.sampleRate, burst: v.sampleBurst, maxPerS: v.sampleMaxPerS, stacks };
}

/** The words every command uses when the chosen source cannot sample. */
export const SAMPLES_NEED_BPF = 'samples need the bpf source (--source bpf): kdrop-probe, kernel BTF and root';
