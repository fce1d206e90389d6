/**
 * What kdrop-probe accepts, the same numbers as probe/kdrop.h (KDROP_*_LIMIT / _MIN / _MAX; a unit test
 * compares them), so that a value kdrop takes is never refused by the loader (where `auto` would fall
 * back to another source) and never overflows in the program: the per-key interval is at most
 * (HZ << 10) * 1000 / 1, and (burst - 1) times it must fit in 64 bits.
 */
export const PROBE_LIMITS = {
  maxKeys: { min: 1, max: 4_194_304 },
  /** Samples per second per key; the program keeps it in thousandths (1 per 1000 s at least). */
  sampleRate: { min: 0.001, max: 1_000_000 },
  sampleBurst: { min: 1, max: 1_000_000 },
  sampleMaxPerS: { min: 1, max: 1_000_000 },
} as const;
