/** Durations in flags, env and config files: `5s`, `500ms`, `2m`, `1h`, or a bare number of seconds. */
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The longest duration a Node timer can wait (setTimeout turns anything longer into 1 ms). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Milliseconds (1 ms to MAX_DURATION_MS, about 24.8 days), or null when the text is not such a duration. */
export function parseDurationMs(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m?.[1]) return null;
  const ms = Math.round(Number(m[1]) * (units[m[2] ?? 's'] ?? 1000));
  return Number.isFinite(ms) && ms >= 1 && ms <= MAX_DURATION_MS ? ms : null;
}
