import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeriesStore, seriesKey } from '../../../src/aggregate/series.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const byPod = (s: SeriesStore) =>
  Object.fromEntries(s.snapshot().map((p) => [p.overflow ? 'OVERFLOW' : (p.attributes['pod'] ?? ''), { drops: p.drops, bytes: p.bytes }]));

test('seriesKey is independent of attribute order', () => {
  assert.equal(seriesKey({ a: '1', b: '2' }), seriesKey({ b: '2', a: '1' }));
  assert.notEqual(seriesKey({ a: '1' }), seriesKey({ a: '2' }));
});

test('adds are cumulative per attribute set, bytes null until reported', () => {
  const c = clock();
  const s = new SeriesStore({ now: c.now });
  s.add({ pod: 'a' }, 3, 30);
  s.add({ pod: 'a' }, 2, 20);
  s.add({ pod: 'b' }, 1, null);
  s.add({ pod: 'c' }, 0, null); // nothing happened: no series
  assert.deepEqual(byPod(s), { a: { drops: 5, bytes: 50 }, b: { drops: 1, bytes: null } });
  assert.equal(s.stats().active, 2);
});

test('beyond the limit, new attribute sets go to one overflow series and are counted', () => {
  const s = new SeriesStore({ limit: 2, now: clock().now });
  s.add({ pod: 'a' }, 1, 10);
  s.add({ pod: 'b' }, 1, 10);
  s.add({ pod: 'c' }, 4, 40);
  s.add({ pod: 'd' }, 5, 50);
  s.add({ pod: 'a' }, 1, 10); // existing series keep counting
  assert.deepEqual(byPod(s), { a: { drops: 2, bytes: 20 }, b: { drops: 1, bytes: 10 }, OVERFLOW: { drops: 9, bytes: 90 } });
  const overflow = s.snapshot().find((p) => p.overflow);
  assert.deepEqual(overflow?.attributes, { 'otel.metric.overflow': 'true' });
  assert.equal(s.stats().overflowDrops, 9);
  assert.equal(s.stats().active, 3);
  // Totals are preserved: nothing is silently lost.
  assert.equal(s.snapshot().reduce((n, p) => n + p.drops, 0), 12);
});

test('series not updated for the TTL are removed by sweep; a new drop starts the series over', () => {
  const c = clock();
  const s = new SeriesStore({ ttlMs: 60_000, now: c.now });
  s.add({ pod: 'a' }, 5, null);
  s.add({ pod: 'b' }, 1, null);
  c.t += 30_000;
  s.add({ pod: 'b' }, 1, null);
  c.t += 30_000; // a: 60 s without drops, b: 30 s
  assert.equal(s.sweep(), 1);
  assert.deepEqual(Object.keys(byPod(s)), ['b']);
  s.add({ pod: 'a' }, 2, null);
  const a = s.snapshot().find((p) => p.attributes['pod'] === 'a');
  assert.equal(a?.drops, 2);
  assert.equal(a?.startTimeMs, c.t);
  assert.equal(s.stats().expired, 1);
});

test('ttl 0 keeps series forever', () => {
  const c = clock();
  const s = new SeriesStore({ ttlMs: 0, now: c.now });
  s.add({ pod: 'a' }, 1, null);
  c.t += 365 * 24 * 3600_000;
  assert.equal(s.sweep(), 0);
  assert.equal(s.stats().active, 1);
});

test('expirePod marks the pod\'s series; they are removed after the grace period, unless updated again', () => {
  const c = clock();
  const s = new SeriesStore({ ttlMs: 0, retireGraceMs: 10_000, now: c.now });
  s.add({ pod: 'gone' }, 1, null, 'uid-gone');
  s.add({ pod: 'back' }, 1, null, 'uid-back');
  s.add({ pod: 'stays' }, 1, null, 'uid-stays');
  assert.equal(s.expirePod('uid-gone') + s.expirePod('uid-back'), 2);
  c.t += 5_000;
  assert.equal(s.sweep(), 0, 'still exported during the grace period');
  s.add({ pod: 'back' }, 1, null, 'uid-back-2'); // e.g. a StatefulSet pod recreated under the same name
  c.t += 5_000;
  assert.equal(s.sweep(), 1);
  assert.deepEqual(Object.keys(byPod(s)).sort(), ['back', 'stays']);
  assert.equal(s.expirePod('uid-stays', 0), 1);
  assert.equal(s.sweep(), 1);
});

test('expiry frees room under the limit for new series', () => {
  const c = clock();
  const s = new SeriesStore({ limit: 1, ttlMs: 1000, now: c.now });
  s.add({ pod: 'a' }, 1, null);
  s.add({ pod: 'b' }, 1, null); // overflow
  c.t += 1000;
  s.sweep(); // both a and the overflow series expire
  s.add({ pod: 'c' }, 1, null);
  assert.deepEqual(Object.keys(byPod(s)), ['c']);
});

test('property: under pod churn with expiry, the store never holds more than limit + 1 series and totals are exact', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ pod: fc.integer({ min: 0, max: 500 }), n: fc.integer({ min: 1, max: 9 }), dt: fc.integer({ min: 0, max: 5000 }) }), { maxLength: 400 }),
      fc.integer({ min: 1, max: 50 }),
      (events, limit) => {
        const c = clock();
        const s = new SeriesStore({ limit, ttlMs: 20_000, now: c.now });
        let expiredDrops = 0;
        let total = 0;
        for (const e of events) {
          c.t += e.dt;
          s.add({ pod: String(e.pod) }, e.n, null);
          total += e.n;
          const before = s.snapshot();
          s.sweep();
          const after = new Set(s.snapshot().map((p) => seriesKey(p.attributes)));
          for (const p of before) if (!after.has(seriesKey(p.attributes))) expiredDrops += p.drops;
          assert.ok(s.stats().active <= limit + 1);
        }
        const live = s.snapshot().reduce((n, p) => n + p.drops, 0);
        assert.equal(live + expiredDrops, total);
      },
    ),
    { numRuns: 100 },
  );
});

test('expirePod finds a pod series by UID (not exported); a series still fed by another pod stays', () => {
  const c = clock();
  const s = new SeriesStore({ ttlMs: 0, retireGraceMs: 1000, now: c.now });
  s.add({ pod: 'web-0' }, 1, null, 'uid-old');
  s.add({ pod: 'web-0' }, 1, null, 'uid-new'); // recreated under the same name
  s.add({ pod: 'api' }, 1, null, 'uid-api');
  s.add({ scope: 'host' }, 1, null, null);
  assert.equal(s.expirePod('uid-old'), 0, 'web-0 is still fed by uid-new');
  assert.equal(s.expirePod('uid-api'), 1);
  assert.equal(s.expirePod('uid-unknown'), 0);
  c.t += 1000;
  assert.equal(s.sweep(), 1);
  assert.deepEqual(Object.keys(byPod(s)).sort(), ['', 'web-0']);
});
