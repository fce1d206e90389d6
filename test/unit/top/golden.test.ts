/**
 * Golden frames of `kdrop top` rendered by ink from recorded data, as text at 80x24 and 160x40, and the
 * plain snapshot. Regenerate with KDROP_UPDATE_GOLDEN=1 after an intended change, and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createElement as h, isValidElement, type ReactElement } from 'react';
import { renderToString } from 'ink';
import { TopModel } from '../../../src/top/model.js';
import { TopScreen, type TopScreenProps } from '../../../src/top/view.js';
import { formatSnapshot } from '../../../src/top/snapshot-text.js';
import { initialUi, type UiState } from '../../../src/top/keys.js';
import { recordedIntervals, T0 } from './recorded.js';

const golden = (name: string) => fileURLToPath(new URL(`../../../../test/fixtures/golden/${name}`, import.meta.url));

async function compare(name: string, actual: string): Promise<void> {
  if (process.env['KDROP_UPDATE_GOLDEN'] === '1') await writeFile(golden(name), actual);
  assert.equal(actual, await readFile(golden(name), 'utf8'));
}

function recordedModel(): TopModel {
  const m = new TopModel({ historyLength: 40 });
  for (const i of recordedIntervals()) m.ingest(i);
  return m;
}

function props(m: TopModel, width: number, height: number, ui: Partial<UiState> = {}): TopScreenProps {
  const u = { ...initialUi(), ...ui };
  const rows = m.rows({ groupBy: u.groupBy, sortBy: u.sortBy, filter: u.filter });
  return {
    width,
    height,
    rows,
    status: m.status(),
    groupBy: u.groupBy,
    sortBy: u.sortBy,
    filter: u.filter,
    filterEditing: u.filterEditing,
    selected: u.selected,
    paused: u.paused,
    help: u.help,
    detail: u.detailKey === null ? null : m.breakdown(u.groupBy, u.detailKey),
    intervals: m.intervalCount(),
    intervalS: 2,
    updated: '15:00:06',
    colors: false,
  };
}

/** What the terminal shows: ink's frame for a terminal `width` columns wide. */
function frame(p: TopScreenProps): string {
  const text = renderToString(h(TopScreen, p), { columns: p.width });
  const lines = text.split('\n');
  assert.equal(lines.length, p.height, `the frame fills the terminal height (${p.height})`);
  for (const l of lines) assert.ok([...l].length <= p.width, `line fits ${p.width} columns: ${JSON.stringify(l)}`);
  return `${text}\n`;
}

test('80x24, grouped by pod, sorted by rate', async () => {
  await compare('top-80x24-pod.txt', frame(props(recordedModel(), 80, 24, { selected: 1 })));
});

test('160x40, grouped by netns with owners, sorted by total', async () => {
  await compare('top-160x40-netns.txt', frame(props(recordedModel(), 160, 40, { groupBy: 'netns', sortBy: 'total' })));
});

test('80x24, details of a row: reasons x functions, example flow and stack', async () => {
  await compare('top-80x24-detail.txt', frame(props(recordedModel(), 80, 24, { detailKey: 'storage/postgres-1' })));
});

test('160x40, grouped by reason while typing a filter; paused', async () => {
  await compare('top-160x40-filter.txt', frame(props(recordedModel(), 160, 40, { groupBy: 'reason', filter: 'sock', filterEditing: true, paused: true })));
});

test('80x24, help', async () => {
  await compare('top-80x24-help.txt', frame(props(recordedModel(), 80, 24, { help: true })));
});

test('before the first interval, and a filter that matches nothing', () => {
  const empty = frame(props(new TopModel(), 80, 24));
  assert.match(empty, /waiting for the first interval/);
  const none = frame(props(recordedModel(), 80, 24, { filter: 'zzz' }));
  assert.match(none, /no pod matches "zzz"/);
  assert.match(none, /filter "zzz"/);
});

test('plain snapshot (stdout not a terminal)', async () => {
  const m = recordedModel();
  const text = formatSnapshot(m.rows({ groupBy: 'netns', sortBy: 'rate', filter: '' }), {
    time: new Date(T0 + 6000),
    groupBy: 'netns',
    sortBy: 'rate',
    intervalS: 2,
    status: m.status(),
  });
  assert.doesNotMatch(text, /\u001b/, 'no escape sequences');
  await compare('top-plain.txt', text);
});

test('NO_COLOR: no style props at all; with colors, lines are styled', () => {
  const styled = (p: TopScreenProps): boolean => {
    const el = TopScreen(p) as ReactElement<{ children: ReactElement[] }>;
    const kids = (el.props.children as unknown as ReactElement<Record<string, unknown>>[]).filter((k) => isValidElement(k));
    return kids.some((k) => 'color' in k.props || 'inverse' in k.props || 'bold' in k.props);
  };
  const m = recordedModel();
  assert.equal(styled(props(m, 80, 24)), false);
  assert.equal(styled({ ...props(m, 80, 24), colors: true }), true);
});
