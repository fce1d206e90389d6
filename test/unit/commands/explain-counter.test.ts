import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runExplain } from '../../../src/commands/explain.js';
import { COUNTER_TABLE, lookupCounter } from '../../../src/enrich/counter-catalog.js';
import { CounterMetric } from '../../../src/export/metric-names.js';
import { counterMetricKey } from '../../../src/aggregate/counter-series.js';

async function explain(query: string, json = false): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  assert.equal(await runExplain({ query, json, paths: { proc: '/nonexistent', sys: '/nonexistent', tracefs: null }, out, kernel: null }), 0);
  return text;
}

test('kdrop explain ListenOverflows: a kernel counter, where it is read, its metric and what to check', async () => {
  const text = await explain('ListenOverflows');
  assert.match(text, /^ListenOverflows \(kernel counter, not a drop reason\)\n/);
  assert.match(text, /metric: +kdrop\.tcp\.listen\.overflows/);
  assert.match(text, /consume_skb/);
  assert.match(text, /ss -ltn/);
  const rec = JSON.parse(await explain('tcpext.listenoverflows', true)) as Record<string, unknown>;
  assert.equal(rec['kind'], 'counter');
  assert.equal(rec['source'], 'netstat');
});

test('conntrack names with or without a prefix; rx_dropped names both the interface and the NIC counter; reasons still work', async () => {
  assert.deepEqual(lookupCounter('conntrack_insert_failed').map((c) => c.file), ['conntrack']);
  assert.deepEqual(lookupCounter('drop').map((c) => c.file), ['conntrack']);
  assert.deepEqual(lookupCounter('rx_dropped').map((c) => c.file), ['dev', 'nic']);
  assert.equal(lookupCounter('NO_SOCKET').length, 0);
  assert.match(await explain('NETFILTER_DROP'), /conntrack counters beside it/);
});

test('every counter in the catalog has a metric and a watch line', () => {
  for (const c of COUNTER_TABLE) {
    assert.ok((CounterMetric as Record<string, unknown>)[counterMetricKey(c)], `${c.file} ${c.counter} has no metric`);
    assert.match(c.line(2, 'eth0'), new RegExp(`\\(.*${c.counter}\\)$`));
  }
});
