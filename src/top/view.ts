/** The top screen as ink components (no JSX: `h` is React.createElement). Pure: props in, frame out. */
import { createElement as h, type ReactElement } from 'react';
import { Box, Text } from 'ink';
import { screenLines, type LineKind, type ScreenState } from './layout.js';

export interface TopScreenProps extends ScreenState {
  /** False with NO_COLOR: no colors and no styles at all, the `>` marker shows the selection. */
  readonly colors: boolean;
}

type Style = { color?: string; bold?: boolean; inverse?: boolean; dimColor?: boolean };

const STYLES: Readonly<Record<LineKind, Style>> = {
  title: { bold: true, color: 'cyan' },
  header: { bold: true, inverse: true },
  row: {},
  selected: { inverse: true, color: 'yellow' },
  text: {},
  status: { color: 'green' },
  warn: { color: 'red', bold: true },
  keys: { dimColor: true },
};

export function TopScreen(props: TopScreenProps): ReactElement {
  const lines = screenLines(props);
  return h(
    Box,
    { flexDirection: 'column', width: props.width, height: lines.length },
    ...lines.map((l, i) => h(Text, { key: i, wrap: 'truncate', ...(props.colors ? STYLES[l.kind] : {}) }, l.text)),
  );
}
