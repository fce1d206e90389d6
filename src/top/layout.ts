/**
 * The text of every line of the top screen, as plain strings of a fixed width: ink (view.ts) only adds
 * styles and puts them on the terminal, and the plain snapshot (snapshot-text.ts) reuses the columns.
 */
import { agentsText, type GroupBy, type SortBy, type TopBreakdown, type TopRow, type TopStatus } from './types.js';
import { fit, formatCount, formatRate, sparkline } from './sparkline.js';

export interface ScreenState {
  readonly width: number;
  readonly height: number;
  readonly rows: readonly TopRow[];
  readonly status: TopStatus;
  readonly groupBy: GroupBy;
  readonly sortBy: SortBy;
  readonly filter: string;
  /** The user is typing the filter (after `/`). */
  readonly filterEditing: boolean;
  readonly selected: number;
  readonly paused: boolean;
  readonly help: boolean;
  /** The selected row's breakdown when the detail view is open. */
  readonly detail: TopBreakdown | null;
  readonly intervals: number;
  readonly intervalS: number;
  /** HH:MM:SS of the latest interval, or null before the first. */
  readonly updated: string | null;
}

export type LineKind = 'title' | 'header' | 'row' | 'selected' | 'text' | 'status' | 'keys' | 'warn';

export interface ScreenLine {
  readonly text: string;
  readonly kind: LineKind;
}

export const GROUP_TITLES: Readonly<Record<GroupBy, string>> = {
  pod: 'POD',
  namespace: 'NAMESPACE',
  reason: 'REASON',
  function: 'FUNCTION',
  netns: 'NETNS',
  node: 'NODE',
};

export interface Columns {
  readonly key: number;
  /** The column after the key: OWNER (netns grouping) or NODE (rows from several nodes' agents); 0 = none. */
  readonly owner: number;
  readonly ownerTitle: 'OWNER' | 'NODE';
  readonly rate: number;
  readonly total: number;
  readonly trend: number;
  readonly example: number;
}

/** Column widths for a terminal width: the group and trend columns grow on wider terminals. */
/** A row's nodes as one cell: the first, and how many more. */
export function nodesCell(nodes: readonly string[]): string {
  return nodes.length === 0 ? '-' : nodes.length === 1 ? nodes[0]! : `${nodes[0]!} +${nodes.length - 1}`;
}

/** Whether the table has a NODE column: rows came from agents on nodes and the grouping is not by node. */
export function hasNodeColumn(rows: readonly TopRow[], groupBy: GroupBy): boolean {
  return groupBy !== 'node' && groupBy !== 'netns' && rows.some((r) => r.nodes.length > 0);
}

export function columns(width: number, groupBy: GroupBy, nodeColumn = false): Columns {
  const wide = width >= 140;
  const medium = width >= 100;
  const rate = 8;
  const total = 10;
  const trend = wide ? 24 : medium ? 16 : 10;
  const owner = groupBy === 'netns' ? (wide ? 30 : medium ? 22 : 16) : nodeColumn ? (wide ? 24 : medium ? 18 : 14) : 0;
  const key = groupBy === 'netns' ? 10 : wide ? 40 : medium ? 32 : 26;
  // marker + key, then a space before each other column (two before trend and example)
  const used = 1 + key + (owner > 0 ? 1 + owner : 0) + 1 + rate + 1 + total + 2 + trend + 2;
  return { key, owner, ownerTitle: groupBy === 'netns' ? 'OWNER' : 'NODE', rate, total, trend, example: Math.max(0, width - used) };
}

export function headerLine(c: Columns, groupBy: GroupBy): string {
  return [
    ' ',
    fit(GROUP_TITLES[groupBy], c.key),
    c.owner > 0 ? ` ${fit(c.ownerTitle, c.owner)}` : '',
    ` ${fit('RATE/s', c.rate, 'right')}`,
    ` ${fit('TOTAL', c.total, 'right')}`,
    `  ${fit('TREND', c.trend)}`,
    c.example > 0 ? `  ${fit('EXAMPLE', c.example)}` : '',
  ].join('');
}

export function rowLine(c: Columns, r: TopRow, selected: boolean): string {
  return [
    selected ? '>' : ' ',
    fit(r.key, c.key),
    c.owner > 0 ? ` ${fit(c.ownerTitle === 'NODE' ? nodesCell(r.nodes) : (r.detail ?? ''), c.owner)}` : '',
    ` ${fit(formatRate(r.rate), c.rate, 'right')}`,
    ` ${fit(formatCount(r.total), c.total, 'right')}`,
    `  ${sparkline(r.history, c.trend)}`,
    c.example > 0 ? `  ${fit(counterText(r) + (r.example ?? '—'), c.example)}` : '',
  ].join('');
}

/** The kernel drop counters of a row that grew in the last interval, before its example: `[ListenOverflows 12/s] `. */
export function counterText(r: TopRow): string {
  if (r.counters === undefined || r.counters.length === 0) return '';
  return `[${r.counters.map((c) => `${c.label} ${formatRate(c.rate)}/s`).join(', ')}] `;
}

const KEYS_LINE = 'q quit  ? help  g group  s sort  / filter  space pause  ↑↓ select  Enter details';

const HELP: readonly string[] = [
  'Keys',
  '',
  '  ↑ ↓ PgUp PgDn Home End  move the selection',
  '  Enter                   details: reasons x functions, example flows, stack',
  '  Esc / Enter / ←         back from details or help (Esc also clears a filter)',
  '  g / G                   next / previous grouping',
  '  1 ... 6                 group by pod, namespace, reason, function, netns, node',
  '  s                       sort by rate per second or by total',
  '  /                       filter rows: type, Enter to keep, Esc to clear',
  '  space or p              pause (data is still read and shown on resume)',
  '  ?                       this help',
  '  q or Ctrl-C             quit',
  '',
  'RATE/s  drops per second in the last interval',
  'TOTAL   drops since top started (with --agent: since the series started)',
  'TREND   drops per interval, newest on the right',
  'EXAMPLE the latest sampled drop of the group (sources with samples only)',
];

/** The whole screen: exactly `height` lines (fewer only when height < 5), none wider than `width`. */
export function screenLines(s: ScreenState): ScreenLine[] {
  const width = Math.max(20, s.width);
  const height = Math.max(5, s.height);
  const c = columns(width, s.groupBy, hasNodeColumn(s.rows, s.groupBy));
  const out: ScreenLine[] = [];

  const left = `kdrop top  group ${s.groupBy}  sort ${s.sortBy}  every ${formatSeconds(s.intervalS)}  ${s.intervals} interval${s.intervals === 1 ? '' : 's'}`;
  const right = `${s.paused ? 'PAUSED  ' : ''}${s.updated ?? '--:--:--'}`;
  out.push({ kind: 'title', text: fit(`${fit(left, Math.max(0, width - right.length - 1))} ${right}`, width) });

  const body = height - 4; // title, header, status, keys
  const bodyLines: ScreenLine[] = [];
  if (s.help) {
    out.push({ kind: 'header', text: fit(' Help', width) });
    for (const l of HELP) bodyLines.push({ kind: 'text', text: fit(l, width) });
  } else if (s.detail !== null) {
    out.push({ kind: 'header', text: fit(` ${GROUP_TITLES[s.groupBy]} ${s.detail.key}  (Esc back)`, width) });
    bodyLines.push(...detailLines(s.detail, width));
  } else {
    out.push({ kind: 'header', text: fit(headerLine(c, s.groupBy), width) });
    if (s.rows.length === 0) {
      bodyLines.push({ kind: 'text', text: fit(s.filter !== '' ? `  no ${s.groupBy} matches "${s.filter}"` : s.intervals === 0 ? '  waiting for the first interval…' : '  no drops yet', width) });
    } else {
      const sel = Math.min(Math.max(0, s.selected), s.rows.length - 1);
      const offset = Math.max(0, Math.min(sel - body + 1, s.rows.length - body));
      for (let i = offset; i < Math.min(s.rows.length, offset + body); i++) {
        bodyLines.push({ kind: i === sel ? 'selected' : 'row', text: fit(rowLine(c, s.rows[i]!, i === sel), width) });
      }
    }
  }
  for (let i = 0; i < body; i++) out.push(bodyLines[i] ?? { kind: 'text', text: ' '.repeat(width) });

  const st = s.status;
  const statusText = [
    `source ${st.source || '?'}`,
    ...(st.agents !== undefined ? [agentsText(st.agents)] : []),
    `lost ${formatCount(st.lostEvents)}`,
    `unattributed ${formatCount(st.unattributed)}`,
    `${s.rows.length} ${s.groupBy === 'netns' ? 'netns' : `${s.groupBy}${s.rows.length === 1 ? '' : 's'}`}`,
    ...(s.filter !== '' && !s.filterEditing ? [`filter "${s.filter}"`] : []),
    ...(st.error !== null ? [`error: ${st.error}`] : []),
  ].join('  ');
  out.push({ kind: st.error !== null || st.lostEvents > 0 || (st.agents?.missing.length ?? 0) > 0 ? 'warn' : 'status', text: fit(statusText, width) });
  out.push({ kind: 'keys', text: fit(s.filterEditing ? `/${s.filter}█  (Enter keep, Esc clear)` : KEYS_LINE, width) });
  return out;
}

function detailLines(d: TopBreakdown, width: number): ScreenLine[] {
  const out: ScreenLine[] = [];
  const fnW = Math.max(16, Math.min(48, width - 24 - 8 - 10 - 6));
  out.push({ kind: 'header', text: fit(` ${fit('REASON', 24)} ${fit('FUNCTION', fnW)} ${fit('RATE/s', 8, 'right')} ${fit('TOTAL', 10, 'right')}`, width) });
  if (d.cells.length === 0) out.push({ kind: 'text', text: fit('  (no drops in this group any more)', width) });
  for (const cell of d.cells) {
    out.push({ kind: 'row', text: fit(` ${fit(cell.reason, 24)} ${fit(cell.function, fnW)} ${fit(formatRate(cell.rate), 8, 'right')} ${fit(formatCount(cell.total), 10, 'right')}`, width) });
  }
  out.push({ kind: 'text', text: fit('', width) });
  out.push({ kind: 'header', text: fit(' Example flows', width) });
  if (d.examples.length === 0) out.push({ kind: 'text', text: fit('  — (none sampled: the source reports counts only)', width) });
  for (const e of d.examples.slice(0, 5)) out.push({ kind: 'text', text: fit(`  ${e}`, width) });
  if (d.counters !== undefined && d.counters.length > 0) {
    out.push({ kind: 'header', text: fit(` ${fit('KERNEL COUNTER (beside the drops)', 24 + 1 + fnW)} ${fit('RATE/s', 8, 'right')} ${fit('TOTAL', 10, 'right')}`, width) });
    for (const c of d.counters) out.push({ kind: 'row', text: fit(` ${fit(c.label, 24 + 1 + fnW)} ${fit(formatRate(c.rate), 8, 'right')} ${fit(formatCount(c.total), 10, 'right')}`, width) });
  }
  out.push({ kind: 'header', text: fit(' Kernel stack', width) });
  if (d.stack === null || d.stack.length === 0) out.push({ kind: 'text', text: fit('  —', width) });
  else for (const f of d.stack) out.push({ kind: 'text', text: fit(`  ${f}`, width) });
  return out;
}

function formatSeconds(s: number): string {
  if (s <= 0) return '?';
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
}
