import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareText } from '../../../src/vocabulary/order.js';

test('compareText: UTF-16 code-unit order, 0 only for equal strings, antisymmetric', () => {
  const names = ['tcp_v4_rcv', '__udp4_lib_rcv', 'Zfunc', 'nft_do_chain', 'rx_dropped', 'ListenOverflows', 'eth0', 'eth10', 'eth2', ''];
  assert.deepEqual([...names].sort(compareText), ['', 'ListenOverflows', 'Zfunc', '__udp4_lib_rcv', 'eth0', 'eth10', 'eth2', 'nft_do_chain', 'rx_dropped', 'tcp_v4_rcv']);
  for (const a of names) {
    for (const b of names) {
      assert.equal(compareText(a, b), -compareText(b, a) || 0, `${a} vs ${b}`);
      assert.equal(compareText(a, b) === 0, a === b);
    }
  }
});

// The agent runs for days: a locale comparison anywhere on its per-interval paths makes ICU's collation
// data (~2 MiB of the Node binary) resident. The terminal view (top) and kubectl's plugin may use it.
test('no localeCompare on the agent paths (sources, stages, agent, pipeline)', () => {
  const src = fileURLToPath(new URL('../../../../src/', import.meta.url));
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });
  const dirs = ['source', 'symbolize', 'enrich', 'aggregate', 'export', 'agent', 'vocabulary'];
  const files = [...dirs.flatMap((d) => walk(join(src, d))), join(src, 'pipeline.ts'), join(src, 'compose.ts')];
  const found = files.filter((f) => /\.localeCompare\(/.test(readFileSync(f, 'utf8'))).map((f) => relative(src, f));
  assert.deepEqual(found, []);
});
