import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { topCommand } from '../../../src/commands/top-command.js';
import { topConfig } from '../../../src/config/top-config.js';
import type { TopFeed } from '../../../src/top/feed.js';
import type { TopInterval } from '../../../src/top/types.js';
import { defaultHostPaths } from '../../../src/host-paths.js';
import { KdropError, ErrorCodes, isKdropError } from '../../../src/errors.js';
import { recordedIntervals } from '../top/recorded.js';

function fakeFeed(script: (TopInterval | null | Error)[], retryable: boolean): TopFeed & { finished: number } {
  const f = {
    label: 'fake',
    retryable,
    fatal: new AbortController().signal,
    fatalError: () => null,
    finished: 0,
    async next() {
      const n = script.shift() ?? null;
      if (n instanceof Error) throw n;
      return n;
    },
    async finish() {
      f.finished++;
      return null;
    },
  };
  return f;
}

async function run(feed: TopFeed, first: TopInterval | null, flags: Parameters<typeof topConfig>[0]): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const cfg = topConfig({ interval: '100ms', ...flags }, {});
  const code = await topCommand(cfg, defaultHostPaths, { out, signal: new AbortController().signal, interactive: false }, { openFeed: async () => ({ feed, first }) });
  return { code, text };
}

test('plain mode: one snapshot per interval, the first one at once when the feed has one (agent)', async () => {
  const [a, b, c] = recordedIntervals();
  const feed = fakeFeed([b!, c!], true);
  const { code, text } = await run(feed, a!, { count: '3', groupBy: 'netns' });
  assert.equal(code, 0);
  const snaps = text.split('\n\n').filter((s) => s.trim() !== '');
  assert.equal(snaps.length, 3);
  assert.match(snaps[0]!, /^kdrop top \S+ {2}group netns {2}sort rate {2}interval 0\.1s {2}source bpftrace/);
  assert.match(snaps[2]!, /\n4026532301 +pod default\/web-0 +10 +170 /);
  assert.equal(feed.finished, 1);
});

test('plain mode: a retryable failure shows in the status and clears on the next good read; a local failure is fatal', async () => {
  const [a] = recordedIntervals();
  const err = new KdropError(ErrorCodes.AGENT_API, 'cannot reach the agent at http://x', { found: 'ECONNREFUSED' });
  const { text } = await run(fakeFeed([err, null], true), a!, { count: '3' });
  const snaps = text.split('\n\n').filter((s) => s.trim() !== '');
  assert.match(snaps[1]!.split('\n')[0]!, /error: cannot reach the agent at http:\/\/x$/);
  assert.doesNotMatch(snaps[2]!.split('\n')[0]!, /error/);
  await assert.rejects(run(fakeFeed([new Error('tracer gone')], false), null, { count: '2' }), /tracer gone/);
});

test('top config: defaults, NO_COLOR, and every bad flag in one CONFIG error', () => {
  const c = topConfig({}, {});
  assert.deepEqual([c.intervalMs, c.groupBy, c.sortBy, c.colors, c.agent, c.plain], [2000, 'pod', 'rate', true, undefined, false]);
  assert.equal(topConfig({}, { NO_COLOR: '1' }).colors, false);
  assert.equal(topConfig({}, { NO_COLOR: '' }).colors, true, 'an empty NO_COLOR does not count (no-color.org)');
  assert.throws(
    () => topConfig({ groupBy: 'host', sort: 'name', interval: '10ms' }, {}),
    (e) => isKdropError(e, ErrorCodes.CONFIG) && /--group-by: expected one of pod, namespace, reason, function, netns, node/.test(e.message) && /--sort/.test(e.message) && /--interval/.test(e.message),
  );
});
