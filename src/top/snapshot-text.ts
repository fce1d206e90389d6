/** The plain form of `kdrop top` when stdout is not a terminal: one table per interval, no escapes. */
import type { GroupBy, SortBy, TopRow, TopStatus } from './types.js';
import { GROUP_TITLES, counterText, hasNodeColumn } from './layout.js';
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
    ...(st.agents !== undefined ? [`agents ${st.agents.answered}/${st.agents.total}`] : []),
    `lost ${st.lostEvents}`,
    `unattributed ${st.unattributed}`,
    ...(st.error !== null ? [`error: ${st.error}`] : []),
  ].join('  ');
  const trend = o.trend ?? 10;
  const nodeCol = hasNodeColumn(rows, o.groupBy);
  const owner = o.groupBy === 'netns' || nodeCol;
  const table: string[][] = [[GROUP_TITLES[o.groupBy], ...(owner ? [nodeCol ? 'NODE' : 'OWNER'] : []), 'RATE/s', 'TOTAL', 'TREND', 'EXAMPLE']];
  for (const r of rows) {
    // Every node in full: the plain text is for grep and comparison.
    const second = nodeCol ? (r.nodes.length === 0 ? '-' : r.nodes.join(',')) : (r.detail ?? '-');
    table.push([r.key, ...(owner ? [second] : []), formatRate(r.rate), String(r.total), sparkline(r.history, trend), counterText(r) + (r.example ?? '—')]);
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
  // Agents that did not answer are listed, never left out silently.
  for (const m of st.agents?.missing ?? []) lines.push(`agent on ${m.node} not answering: ${m.why}`);
  return `${title}\n${lines.join('\n')}\n\n`;
}
