/**
 * Golden test of `kdrop watch` output (text and --json) from a recorded run: cumulative snapshots as a
 * source reported them, symbolized with the seed's System.map lines. Regenerate the golden files with
 * KDROP_UPDATE_GOLDEN=1 after an intended change, and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { Pipeline } from '../../../src/pipeline.js';
import { runWatch, type OpenedPipeline } from '../../../src/commands/watch.js';
import { ReplaySource, mapResolver, sample, tableSymbolizer } from '../../helpers/fake-source.js';

const golden = (name: string) => fileURLToPath(new URL(`../../../../test/fixtures/golden/${name}`, import.meta.url));
const HOST = 4026531833;
const POD = 4026532177;
const OTHER = 4026532300;

function recorded(): { source: ReplaySource; opened: OpenedPipeline } {
  const a = 0xffffffff8024cd0fn; // unix_stream_recvmsg+0x3ef (seed example)
  const b = 0xffffffff8044b472n; // arp_rcv+0x112 (seed example)
  const c = 0xffffffffc0a01234n; // outside every symbol: printed as a raw address
  const source = new ReplaySource(
    [
      [sample(a, 3, POD, 51, 5100), sample(b, 12, HOST, 2, 120)],
      [sample(a, 3, POD, 51, 5100), sample(b, 12, HOST, 9, 540), sample(a, 104, OTHER, 4, 400), sample(c, 2, OTHER, 1, 60)],
    ],
    [sample(a, 3, POD, 56, 5600), sample(b, 12, HOST, 9, 540), sample(a, 104, OTHER, 4, 400), sample(c, 2, OTHER, 1, 60), sample(b, 999, HOST, 1, 42, 0x86dd)],
  );
  const symbolizer = tableSymbolizer([
    [0xffffffff8024c920n, 'unix_stream_recvmsg', Number(0xffffffff8024cea1n - 0xffffffff8024c920n), null],
    [0xffffffff8044b360n, 'arp_rcv', Number(0xffffffff8044b487n - 0xffffffff8044b360n), null],
  ]);
  const reasons = new Map([[2, 'NOT_SPECIFIED'], [3, 'NO_SOCKET'], [12, 'NETFILTER_DROP'], [104, 'QUEUE_PURGE']]);
  let t = Date.parse('2026-11-26T10:00:00.000Z');
  const now = () => {
    const d = new Date(t);
    t += 5000;
    return d;
  };
  const resolver = mapResolver(HOST, new Map([[POD, { namespace: 'default', pod: 'web-0', uid: 'uid-web-0' }]]));
  const pipeline = new Pipeline({ source, symbolizer, reasons, resolver, now });
  return { source, opened: { pipeline, sourceName: 'bpftrace', reasons: true, close: () => source.stop() } };
}

async function render(json: boolean, all: boolean, classes: ('policy' | 'error' | 'benign')[] = []): Promise<string> {
  const { opened } = recorded();
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const code = await runWatch(opened, { intervalMs: 5, json, count: 2, filter: { reasons: [], excludeReasons: [], classes, functions: [], netns: [], all } }, { out, signal: new AbortController().signal });
  assert.equal(code, 0);
  return text;
}

async function compare(name: string, actual: string): Promise<void> {
  if (process.env['KDROP_UPDATE_GOLDEN'] === '1') await writeFile(golden(name), actual);
  assert.equal(actual, await readFile(golden(name), 'utf8'));
}

test('watch text output matches the golden file', async () => {
  await compare('watch.txt', await render(false, false));
});

test('watch --all text output shows the routine reasons too', async () => {
  const text = await render(false, true);
  await compare('watch-all.txt', text);
  assert.match(text, /4 packets dropped at unix_stream_recvmsg\+0x3ef \(QUEUE_PURGE, benign\) \[netns 4026532300\]/);
});

test('watch --json output matches the golden file and every record has the contract fields', async () => {
  const text = await render(true, false);
  await compare('watch.ndjson', text);
  const fields = ['time', 'interval_s', 'count', 'bytes', 'address', 'function', 'offset', 'module', 'location', 'reason', 'reason_code', 'reason_class', 'protocol', 'network_type', 'netns', 'scope', 'namespace', 'pod'];
  const lines = text.trim().split('\n');
  assert.ok(lines.length >= 4);
  for (const line of lines) {
    const rec = JSON.parse(line) as Record<string, unknown>;
    for (const f of fields) assert.ok(f in rec, `missing ${f}`);
  }
});

test('the final partial interval is printed before the closing line', async () => {
  const text = await render(false, false);
  const lines = text.trim().split('\n');
  assert.equal(lines[0], 'Monitoring for dropped packets');
  assert.equal(lines.at(-1), 'Stopping dropped packet monitor');
  assert.equal(lines.at(-2), '1 packet dropped at arp_rcv+0x112 (UNKNOWN_999, unknown) [host]');
});

test('watch --class keeps only those classes (benign only when named)', async () => {
  const policy = (await render(false, false, ['policy'])).split('\n').filter((l) => l.includes('dropped at'));
  assert.deepEqual(policy, ['2 packets dropped at arp_rcv+0x112 (NETFILTER_DROP, policy) [host]', '7 packets dropped at arp_rcv+0x112 (NETFILTER_DROP, policy) [host]']);
  const benign = (await render(false, false, ['benign'])).split('\n').filter((l) => l.includes('dropped at'));
  assert.deepEqual(benign, ['4 packets dropped at unix_stream_recvmsg+0x3ef (QUEUE_PURGE, benign) [netns 4026532300]']);
  const json = (await render(true, false, ['error'])).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(json.length > 0 && json.every((r) => r['reason_class'] === 'error' && r['reason'] === 'NO_SOCKET'));
});
