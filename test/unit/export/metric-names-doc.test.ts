/** docs/metrics.md must document every name src/export/metric-names.ts exports (and say the same units). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CounterMetric, DropMetric, ResourceAttr, SAMPLE_EVENT_NAME, SampleAttr, SelfAttr, SelfMetric } from '../../../src/export/metric-names.js';
import { ALL_LABELS, Attr, CounterAttr, DEFAULT_LABELS, OPT_IN_LABELS } from '../../../src/vocabulary/attributes.js';
import { DEFAULT_SERIES_LIMIT, DEFAULT_SERIES_TTL_MS } from '../../../src/aggregate/series.js';

const doc = await readFile(new URL('../../../../docs/metrics.md', import.meta.url), 'utf8');
const rows = doc.split('\n').filter((l) => l.startsWith('|'));

test('every metric is documented with its unit and Prometheus name on one table row', () => {
  for (const m of [...Object.values(DropMetric), ...Object.values(SelfMetric), ...Object.values(CounterMetric)]) {
    const row = rows.find((r) => r.startsWith(`| \`${m.name}\` `));
    assert.ok(row, `no table row for ${m.name}`);
    assert.ok(row.includes(`\`${m.unit}\``), `${m.name}: unit ${m.unit} not on its row`);
    assert.ok(row.includes(`\`${m.prometheus}\``), `${m.name}: Prometheus name ${m.prometheus} not on its row`);
  }
});

test('every attribute and resource attribute is documented; default/opt-in split matches', () => {
  for (const a of [...Object.values(Attr), ...Object.values(SelfAttr), ...Object.values(ResourceAttr), ...Object.values(CounterAttr)]) assert.ok(doc.includes(`\`${a}`), `${a} undocumented`);
  const optInSection = doc.slice(doc.indexOf('Opt-in'), doc.indexOf('An attribute whose value'));
  const defaultSection = doc.slice(doc.indexOf('Exported by default'), doc.indexOf('Opt-in'));
  for (const a of DEFAULT_LABELS) assert.ok(defaultSection.includes(`| \`${a}\``), `${a} not in the default table`);
  for (const a of OPT_IN_LABELS) assert.ok(optInSection.includes(`| \`${a}\``), `${a} not in the opt-in table`);
  assert.equal(ALL_LABELS.length, DEFAULT_LABELS.length + OPT_IN_LABELS.length);
});

test('documented limits match the code', () => {
  assert.ok(doc.includes(`At most **${DEFAULT_SERIES_LIMIT} series per drop metric**`));
  assert.ok(doc.includes(`**${DEFAULT_SERIES_TTL_MS / 60_000} minutes**`));
});

test('every sample log attribute, the event name and every trace record field are documented', () => {
  const logs = doc.slice(doc.indexOf('## Sampled drops as OTLP log records'));
  for (const a of Object.values(SampleAttr)) assert.ok(logs.includes(`\`${a}\``), `${a} undocumented`);
  assert.ok(logs.includes(`\`${SAMPLE_EVENT_NAME}\``));
  const trace = doc.slice(doc.indexOf('## `kdrop trace --json` records'), doc.indexOf('## Sampled drops as OTLP log records'));
  for (const f of ['src_addr', 'src_port', 'dst_addr', 'dst_port', 'transport', 'tcp_flags', 'icmp_type', 'icmp_code', 'ifindex', 'ifname', 'len', 'stack', 'suppressed']) {
    assert.ok(trace.includes(`| \`${f}\` |`), `trace field ${f} undocumented`);
  }
});

test('every field of the watch --json counter record is documented', async () => {
  const { toCounterRecord } = await import('../../../src/export/counter-format.js');
  const section = doc.slice(doc.indexOf('### Counter records'), doc.indexOf('## `kdrop trace --json` records'));
  const rec = toCounterRecord({ end: new Date(0), intervalS: 1 } as never, { file: 'netstat', counter: 'ListenOverflows', iface: null, direction: null, netns: 1, owner: { scope: 'host', namespace: null, pod: null, podUid: null }, count: 1 });
  for (const f of Object.keys(rec)) assert.ok(section.includes(`| \`${f}\` |`), `counter record field ${f} undocumented`);
});
