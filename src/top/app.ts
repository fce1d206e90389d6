/** The interactive `kdrop top`: ink on the alternate screen, keys through the reducer in keys.ts. */
import { createElement as h, useEffect, useRef, useState, useSyncExternalStore, type ReactElement } from 'react';
import { render, useApp, useInput, useWindowSize } from 'ink';
import type { TopController } from './controller.js';
import { initialUi, reduceInput, type UiState } from './keys.js';
import { TopScreen } from './view.js';
import type { GroupBy, SortBy } from './types.js';

export interface TopAppProps {
  readonly controller: TopController;
  readonly groupBy: GroupBy;
  readonly sortBy: SortBy;
  readonly intervalS: number;
  readonly colors: boolean;
  /** Called once when the user quits (q, Ctrl-C). */
  readonly onQuit: () => void;
}

export function clock(ms: number | null): string | null {
  if (ms === null) return null;
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export function TopApp(p: TopAppProps): ReactElement {
  const { exit } = useApp();
  const size = useWindowSize();
  const c = p.controller;
  useSyncExternalStore(
    (l) => c.subscribe(l),
    () => c.version(),
  );
  const [ui, setUi] = useState<UiState>(() => initialUi(p.groupBy, p.sortBy));
  // Keys typed faster than React renders must see each other's effect: the reducer reads this ref.
  const current = useRef(ui);
  const rows = c.model.rows({ groupBy: ui.groupBy, sortBy: ui.sortBy, filter: ui.filter });
  const height = Math.max(5, size.rows);
  const pageSize = Math.max(1, height - 4);

  useEffect(() => c.setPaused(ui.paused), [c, ui.paused]);

  useInput((input, key) => {
    const now = current.current;
    const shown = c.model.rows({ groupBy: now.groupBy, sortBy: now.sortBy, filter: now.filter });
    const r = reduceInput(now, input, key, { rowKeys: shown.map((row) => row.key), pageSize });
    if (r.quit) {
      p.onQuit();
      exit();
      return;
    }
    current.current = r.ui;
    setUi(r.ui);
  });

  const model = c.model;
  return h(TopScreen, {
    width: Math.max(20, size.columns),
    height,
    rows,
    status: model.status(),
    groupBy: ui.groupBy,
    sortBy: ui.sortBy,
    filter: ui.filter,
    filterEditing: ui.filterEditing,
    selected: Math.min(ui.selected, Math.max(0, rows.length - 1)),
    paused: ui.paused,
    help: ui.help,
    detail: ui.detailKey === null ? null : model.breakdown(ui.groupBy, ui.detailKey),
    intervals: model.intervalCount(),
    intervalS: p.intervalS,
    updated: clock(model.lastUpdateMs()),
    colors: p.colors,
  });
}

/**
 * Shows the view until the user quits or `signal` aborts (SIGINT/SIGTERM from outside); the terminal
 * is restored (alternate screen left, cursor shown, raw mode off) before it resolves.
 */
export async function runInteractive(props: Omit<TopAppProps, 'onQuit'>, signal: AbortSignal): Promise<void> {
  let quit: () => void = () => undefined;
  const instance = render(h(TopApp, { ...props, onQuit: () => quit() }), {
    alternateScreen: true,
    // top runs this view only on a terminal (plain snapshots otherwise); ink would fall back to drawing
    // only the final frame wherever CI=true is set (a CI job's tmux, a developer's shell in a pipeline).
    interactive: true,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 10,
  });
  const onAbort = (): void => instance.unmount();
  signal.addEventListener('abort', onAbort, { once: true });
  quit = () => signal.removeEventListener('abort', onAbort);
  try {
    await instance.waitUntilExit();
  } finally {
    signal.removeEventListener('abort', onAbort);
    instance.cleanup();
  }
}
