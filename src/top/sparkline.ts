/** A small trend of the last intervals in block characters: `▁▂▃▅█`. */

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * The last `width` values as a sparkline scaled to their maximum; an interval without drops is a space
 * so a quiet series reads as blank and any drop shows at least `▁`. Shorter histories are left-padded.
 */
export function sparkline(values: readonly number[], width: number): string {
  if (width <= 0) return '';
  const tail = values.slice(-width);
  const max = Math.max(0, ...tail);
  let out = ' '.repeat(width - tail.length);
  for (const v of tail) {
    if (v <= 0 || max <= 0) out += ' ';
    else out += BLOCKS[Math.min(BLOCKS.length - 1, Math.ceil((v / max) * BLOCKS.length) - 1)]!;
  }
  return out;
}

/** A rate in a few characters: 0, 0.2, 12.5, 1234, 12.3k, 4.5M. */
export function formatRate(r: number): string {
  if (r <= 0) return '0';
  if (r < 10) return r.toFixed(1).replace(/\.0$/, '');
  if (r < 10_000) return String(Math.round(r));
  return compact(r);
}

/** A count exactly up to 9 999 999 (tests and operators compare totals), then 12.3M / 4.5G. */
export function formatCount(n: number): string {
  if (n < 10_000_000) return String(n);
  return compact(n);
}

function compact(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toFixed(1).replace(/\.0$/, '')}${unit}`;
  return String(n);
}

/** Cuts or pads `s` to exactly `width` characters (a cut ends in `…`). */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const chars = [...s];
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
  const pad = ' '.repeat(width - chars.length);
  return align === 'left' ? s + pad : pad + s;
}
