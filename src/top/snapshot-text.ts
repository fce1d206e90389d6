/** The plain form of `kdrop top` when stdout is not a terminal: one table per interval, no escapes. */
import type { GroupBy, SortBy, TopRow, TopStatus } from './types.js';
import { GROUP_TITLES, counterText } from './layout.js';
import { formatRate, sparkline } from './sparkline.js';

export interface SnapshotOptions {
  readonly time: Date;
  readonly groupBy: GroupBy;
  readonly sortBy: SortBy;
  readonly intervalS: number;
  readonly status: TopStatus;
  /** Trend width in intervals. */
  readonly trend?: number;
}

/**
 * One snapshot: a title line, a header, one line per row (full keys and exact totals, so the text can
 * be grepped and compared), and a blank line. Columns are separated by at least two spaces.
 */
export function formatSnapshot(rows: readonly TopRow[], o: SnapshotOptions): string {
  const st = o.status;
  const title = [
    `kdrop top ${o.time.toISOString()}`,
    `group ${o.groupBy}`,
    `sort ${o.sortBy}`,
    `interval ${o.intervalS}s`,
    `source ${st.source}`,
    `lost ${st.lostEvents}`,
    `unattributed ${st.unattributed}`,
    ...(st.error !== null ? [`error: ${st.error}`] : []),
  ].join('  ');
  const trend = o.trend ?? 10;
  const owner = o.groupBy === 'netns';
  const table: string[][] = [[GROUP_TITLES[o.groupBy], ...(owner ? ['OWNER'] : []), 'RATE/s', 'TOTAL', 'TREND', 'EXAMPLE']];
  for (const r of rows) {
    table.push([r.key, ...(owner ? [r.detail ?? '-'] : []), formatRate(r.rate), String(r.total), sparkline(r.history, trend), counterText(r) + (r.example ?? '—')]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => [...(row[i] ?? '')].length)));
  const numeric = new Set([owner ? 2 : 1, owner ? 3 : 2]);
  const lines = table.map((row) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - [...cell].length);
        return numeric.has(i) ? pad + cell : i === row.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
  if (rows.length === 0) lines.push('(no drops)');
  return `${title}\n${lines.join('\n')}\n\n`;
}
