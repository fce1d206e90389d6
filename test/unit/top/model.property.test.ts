/** Properties of top's model and layout for any data: totals are conserved, lines fit the terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TopModel } from '../../../src/top/model.js';
import { screenLines } from '../../../src/top/layout.js';
import { initialUi } from '../../../src/top/keys.js';
import { GROUP_BYS, type TopInterval, type TopSample } from '../../../src/top/types.js';

const sampleArb: fc.Arbitrary<TopSample> = fc.record({
  reason: fc.option(fc.constantFrom('NO_SOCKET', 'NETFILTER_DROP', 'TCP_CSUM', 'UNKNOWN_999'), { nil: null }),
  function: fc.option(fc.constantFrom('__udp4_lib_rcv', 'nft_do_chain', 'tcp_v4_rcv', 'a_very_long_kernel_function_name_that_does_not_fit_anywhere'), { nil: null }),
  scope: fc.option(fc.constantFrom('pod' as const, 'host' as const, 'netns' as const), { nil: null }),
  namespace: fc.option(fc.constantFrom('default', 'kube-system', 'x'.repeat(63)), { nil: null }),
  pod: fc.option(fc.constantFrom('web-0', 'db-1', 'p'.repeat(63)), { nil: null }),
  netns: fc.option(fc.integer({ min: 4026531833, max: 4026532999 }), { nil: null }),
  delta: fc.nat({ max: 1_000_000 }),
});

const intervalsArb = fc.array(
  fc.record({ intervalS: fc.double({ min: 0.1, max: 60, noNaN: true }), samples: fc.array(sampleArb, { maxLength: 12 }) }),
  { minLength: 1, maxLength: 6 },
);

function build(intervals: { intervalS: number; samples: TopSample[] }[]): TopModel {
  const m = new TopModel({ historyLength: 8 });
  intervals.forEach((i, n) => {
    const interval: TopInterval = { endMs: n * 1000, intervalS: i.intervalS, samples: i.samples, status: { source: 'x', lostEvents: 0, unattributed: 0, error: null } };
    m.ingest(interval);
  });
  return m;
}

test('every grouping shows the same total and rate; rows are sorted; a filter keeps a subset', () => {
  fc.assert(
    fc.property(intervalsArb, fc.string({ maxLength: 4 }), (intervals, filter) => {
      const m = build(intervals);
      const all = intervals.flatMap((i) => i.samples).reduce((a, s) => a + s.delta, 0);
      const lastS = intervals.at(-1)!.intervalS;
      const lastRate = intervals.at(-1)!.samples.reduce((a, s) => a + s.delta, 0) / lastS;
      for (const groupBy of GROUP_BYS) {
        const rows = m.rows({ groupBy, sortBy: 'rate', filter: '' });
        assert.equal(rows.reduce((a, r) => a + r.total, 0), all, `${groupBy}: totals add up`);
        const rate = rows.reduce((a, r) => a + r.rate, 0);
        assert.ok(Math.abs(rate - lastRate) <= 1e-6 * Math.max(1, lastRate), `${groupBy}: rates add up`);
        for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.rate >= rows[i]!.rate);
        const byTotal = m.rows({ groupBy, sortBy: 'total', filter: '' });
        for (let i = 1; i < byTotal.length; i++) assert.ok(byTotal[i - 1]!.total >= byTotal[i]!.total);
        const keys = new Set(rows.map((r) => r.key));
        assert.equal(keys.size, rows.length, 'one row per group');
        for (const r of m.rows({ groupBy, sortBy: 'rate', filter })) assert.ok(keys.has(r.key));
        for (const r of rows) {
          const cells = m.breakdown(groupBy, r.key).cells;
          assert.equal(cells.reduce((a, c) => a + c.total, 0), r.total, 'a breakdown adds up to its row');
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('every screen has exactly its height in lines, none wider than the terminal', () => {
  fc.assert(
    fc.property(intervalsArb, fc.integer({ min: 20, max: 300 }), fc.integer({ min: 5, max: 80 }), fc.constantFrom(...GROUP_BYS), fc.nat({ max: 40 }), fc.boolean(), fc.boolean(), (intervals, width, height, groupBy, selected, help, detail) => {
      const m = build(intervals);
      const rows = m.rows({ groupBy, sortBy: 'rate', filter: '' });
      const ui = initialUi(groupBy);
      const lines = screenLines({
        width,
        height,
        rows,
        status: m.status(),
        groupBy,
        sortBy: ui.sortBy,
        filter: '',
        filterEditing: false,
        selected,
        paused: false,
        help,
        detail: detail && rows[0] ? m.breakdown(groupBy, rows[0].key) : null,
        intervals: m.intervalCount(),
        intervalS: 1,
        updated: '00:00:00',
      });
      assert.equal(lines.length, height);
      for (const l of lines) assert.ok([...l.text].length <= width, `${width}: ${l.text}`);
      if (!help && !(detail && rows[0]) && rows.length > 0) {
        assert.equal(lines.filter((l) => l.kind === 'selected').length, 1, 'the selection is always visible');
      }
    }),
    { numRuns: 300 },
  );
});
