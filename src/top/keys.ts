/** What each key does to the view's state: a pure reducer, so the key map is unit-tested without a terminal. */
import { GROUP_BYS, type GroupBy, type SortBy } from './types.js';

export interface UiState {
  readonly groupBy: GroupBy;
  readonly sortBy: SortBy;
  readonly filter: string;
  readonly filterEditing: boolean;
  readonly selected: number;
  /** Key of the row whose details are open, or null. */
  readonly detailKey: string | null;
  readonly help: boolean;
  readonly paused: boolean;
}

/** The subset of ink's Key this reducer reads. */
export interface KeyInfo {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly leftArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly tab?: boolean;
}

export interface KeyContext {
  /** Keys of the rows now shown, in order. */
  readonly rowKeys: readonly string[];
  /** Rows that fit on a page (PgUp/PgDn). */
  readonly pageSize: number;
}

export interface KeyResult {
  readonly ui: UiState;
  readonly quit: boolean;
}

export function initialUi(groupBy: GroupBy = 'pod', sortBy: SortBy = 'rate'): UiState {
  return { groupBy, sortBy, filter: '', filterEditing: false, selected: 0, detailKey: null, help: false, paused: false };
}

/** g / G cycle through the groupings of one host; `node` (kubectl kdrop top) is key 6 or --group-by node. */
const CYCLED: readonly GroupBy[] = GROUP_BYS.filter((g) => g !== 'node');

function cycle(g: GroupBy, step: number): GroupBy {
  const i = CYCLED.indexOf(g);
  if (i < 0) return step > 0 ? CYCLED[0]! : CYCLED[CYCLED.length - 1]!;
  return CYCLED[(i + step + CYCLED.length) % CYCLED.length]!;
}

export function reduceKey(ui: UiState, input: string, key: KeyInfo, ctx: KeyContext): KeyResult {
  const same = (u: UiState): KeyResult => ({ ui: u, quit: false });
  if (key.ctrl === true && input === 'c') return { ui, quit: true };

  if (ui.filterEditing) {
    if (key.return === true) return same({ ...ui, filterEditing: false, selected: 0 });
    if (key.escape === true) return same({ ...ui, filterEditing: false, filter: '', selected: 0 });
    if (key.backspace === true || key.delete === true) return same({ ...ui, filter: [...ui.filter].slice(0, -1).join(''), selected: 0 });
    if (key.ctrl === true || key.meta === true || key.tab === true || input === '') return same(ui);
    // Printable text (a paste arrives as one string); control characters are ignored.
    const text = [...input].filter((ch) => ch >= ' ' && ch !== '\u007f').join('');
    return same({ ...ui, filter: ui.filter + text, selected: 0 });
  }

  if (input === 'q') return { ui, quit: true };
  if (ui.help) {
    if (input === '?' || key.escape === true || key.return === true || key.leftArrow === true) return same({ ...ui, help: false });
    if (input === ' ' || input === 'p') return same({ ...ui, paused: !ui.paused });
    return same(ui);
  }
  if (input === '?') return same({ ...ui, help: true });
  if (input === ' ' || input === 'p') return same({ ...ui, paused: !ui.paused });
  if (ui.detailKey !== null) {
    if (key.escape === true || key.return === true || key.leftArrow === true || key.backspace === true) return same({ ...ui, detailKey: null });
    return same(ui);
  }

  const last = Math.max(0, ctx.rowKeys.length - 1);
  const move = (to: number): KeyResult => same({ ...ui, selected: Math.min(last, Math.max(0, to)) });
  if (key.upArrow === true || input === 'k') return move(ui.selected - 1);
  if (key.downArrow === true || input === 'j') return move(ui.selected + 1);
  if (key.pageUp === true) return move(ui.selected - ctx.pageSize);
  if (key.pageDown === true) return move(ui.selected + ctx.pageSize);
  if (key.home === true) return move(0);
  if (key.end === true) return move(last);
  if (key.return === true) {
    const k = ctx.rowKeys[Math.min(ui.selected, last)];
    return same(k === undefined ? ui : { ...ui, detailKey: k });
  }
  if (input === 'g' || input === 'G') return same({ ...ui, groupBy: cycle(ui.groupBy, input === 'g' ? 1 : -1), selected: 0 });
  if (/^[1-6]$/.test(input)) return same({ ...ui, groupBy: GROUP_BYS[Number(input) - 1]!, selected: 0 });
  if (input === 's') return same({ ...ui, sortBy: ui.sortBy === 'rate' ? 'total' : 'rate', selected: 0 });
  // A new filter replaces the one kept before (as a search in less does).
  if (input === '/') return same({ ...ui, filterEditing: true, filter: '', selected: 0 });
  if (key.escape === true && ui.filter !== '') return same({ ...ui, filter: '', selected: 0 });
  return same(ui);
}

/**
 * Input as it arrives: a terminal (or tmux, or a paste) can deliver several typed characters in one read,
 * e.g. `/web` right after each other; each printable character then counts as its own key press.
 */
export function reduceInput(ui: UiState, input: string, key: KeyInfo, ctx: KeyContext): KeyResult {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl === true || key.meta === true || chars.some((ch) => ch < ' ' || ch === '\u007f')) return reduceKey(ui, input, key, ctx);
  let r: KeyResult = { ui, quit: false };
  for (const ch of chars) {
    r = reduceKey(r.ui, ch, {}, ctx);
    if (r.quit) break;
  }
  return r;
}
