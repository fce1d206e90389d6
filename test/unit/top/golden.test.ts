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
import { Pipeline } from '../../../src/pipeline.js';
import { fromReport } from '../../../src/top/from-report.js';
import { ReplaySource, mapResolver, sample, tableSymbolizer } from '../../helpers/fake-source.js';

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
  assert.ok(!text.includes('\u001b'), 'no escape sequences');
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

test('from the pipeline (replayed source totals -> IntervalReport -> rows): 80x24 by function', async () => {
  const HOST = 4026531833;
  const POD = 4026532177;
  const OTHER = 4026532300;
  const a = 0xffffffff8024cd0fn; // unix_stream_recvmsg+0x3ef (seed example)
  const b = 0xffffffff8044b472n; // arp_rcv+0x112 (seed example)
  const c = 0xffffffffc0a01234n; // outside every symbol: shown as its address
  const source = new ReplaySource(
    [
      [sample(a, 3, POD, 51), sample(b, 12, HOST, 2)],
      [sample(a, 3, POD, 51), sample(b, 12, HOST, 9), sample(a, 104, OTHER, 4), sample(c, 2, OTHER, 1)],
      [sample(a, 3, POD, 70), sample(b, 12, HOST, 9), sample(a, 104, OTHER, 4), sample(c, 2, OTHER, 1)],
    ],
    [],
  );
  const symbolizer = tableSymbolizer([
    [0xffffffff8024c920n, 'unix_stream_recvmsg', Number(0xffffffff8024cea1n - 0xffffffff8024c920n), null],
    [0xffffffff8044b360n, 'arp_rcv', Number(0xffffffff8044b487n - 0xffffffff8044b360n), null],
  ]);
  const reasons = new Map([[2, 'NOT_SPECIFIED'], [3, 'NO_SOCKET'], [12, 'NETFILTER_DROP'], [104, 'QUEUE_PURGE']]);
  let t = T0;
  const now = () => new Date((t += 2000));
  const resolver = mapResolver(HOST, new Map([[POD, { namespace: 'default', pod: 'web-0', uid: 'uid-web-0' }]]));
  const pipeline = new Pipeline({ source, symbolizer, reasons, resolver, now });
  const m = new TopModel({ historyLength: 40 });
  for (let i = 0; i < 3; i++) m.ingest(fromReport(await pipeline.tick(), 'bpftrace'));
  assert.deepEqual(
    m.rows({ groupBy: 'function', sortBy: 'total', filter: '' }).map((r) => [r.key, r.total, r.rate]),
    [
      ['unix_stream_recvmsg', 74, 9.5],
      ['arp_rcv', 9, 0],
      ['0xffffffffc0a01234', 1, 0],
    ],
  );
  await compare('top-80x24-function-pipeline.txt', frame(props(m, 80, 24, { groupBy: 'function', sortBy: 'total' })));
});

test('the local feed passes the latest example flow and stack of a key to its rows', async () => {
  const HOST = 4026531833;
  const POD = 4026532177;
  const source = new ReplaySource([[sample(0xffffffff81a00010n, 3, POD, 5)]]);
  const symbolizer = tableSymbolizer([[0xffffffff81a00000n, 'unix_stream_recvmsg', 0x100, null]]);
  const resolver = mapResolver(HOST, new Map([[POD, { namespace: 'default', pod: 'web-0', uid: 'uid-web-0' }]]));
  const pipeline = new Pipeline({ source, symbolizer, reasons: new Map([[3, 'NO_SOCKET']]), resolver, now: () => new Date(T0) });
  const m = new TopModel({ historyLength: 40 });
  const report = await pipeline.tick();
  m.ingest(fromReport(report, 'bpf', (e) => (e.netns === POD ? { example: 'udp 10.0.0.5:41234 -> 10.0.0.7:53 on eth0', stack: ['f+0x10'] } : undefined)));
  const [row] = m.rows({ groupBy: 'pod', sortBy: 'total', filter: '' });
  assert.equal(row?.example, 'udp 10.0.0.5:41234 -> 10.0.0.7:53 on eth0');
});
