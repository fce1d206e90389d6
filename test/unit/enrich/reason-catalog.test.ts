/**
 * The reason catalog: every reason of every fixture kernel and of the running kernel has a class and
 * notes; the documented examples are classed as the issue says; docs/reasons.md is up to date.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFormat } from '../../../src/kernel/format.js';
import { REASON_CLASSES, catalogEntries, isReasonClass, lookupReason, reasonClass, reasonClassOf } from '../../../src/enrich/reason-catalog.js';
import { renderReasonsDoc } from '../../../src/enrich/reason-docs.js';
import { explain, formatExplanation } from '../../../src/commands/explain.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** Reason names of every fixture kernel: tracepoint formats, and the BTF reason lists of the VM matrix's kernels. */
async function fixtureReasons(): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const dir of ['test/fixtures/kernel', 'test/fixtures/tracefs']) {
    for (const f of await readdir(join(root, dir))) {
      const text = () => readFile(join(root, dir, f), 'utf8');
      if (/\.format$|^kfree_skb-format-.*\.txt$/.test(f)) out.set(`${dir}/${f}`, new Set(parseFormat(await text()).reasons.values()));
      if (/^reasons-.*\.txt$/.test(f)) out.set(`${dir}/${f}`, new Set(parseReasonList(await text()).values()));
    }
  }
  return out;
}

/** A reasons-*.txt fixture (scripts/kernel-reasons.ts): `# label` then `CODE NAME` lines. */
function parseReasonList(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\d+) ([A-Z0-9_]+)$/.exec(line);
    assert.ok(m !== null, `reason list line: ${line}`);
    out.set(Number(m[1]), m[2] as string);
  }
  return out;
}

function assertCovered(where: string, names: Iterable<string>): void {
  const missing = [...names].filter((n) => lookupReason(n) === undefined);
  assert.deepEqual(missing, [], `${where}: reasons without notes in src/enrich/reason-catalog.ts`);
  for (const n of names) assert.ok(isReasonClass(reasonClass(n)), `${where}: ${n}`);
}

test('every reason name of every fixture kernel has a class and notes', async () => {
  const all = await fixtureReasons();
  const lists = [...all].filter(([where]) => where.includes('/reasons-'));
  assert.ok(all.size >= 8, 'the fixture formats and reason lists were found');
  assert.ok(lists.length >= 3, 'the BTF reason lists of the VM matrix kernels (6.1, 6.12, 7.x)');
  assert.ok([...all.values()].some((s) => s.has('SKB_RX_HEADROOM')), 'the 6.18.44 build that added SKB_RX_HEADROOM');
  assert.ok(lists.some(([, s]) => [...s].some((n) => n.startsWith('QDISC_DROP_'))), 'a kernel with qdisc subsystem reasons');
  for (const [where, names] of all) assertCovered(where, names);
});

const LIVE = '/sys/kernel/tracing/events/skb/kfree_skb/format';
test('every reason of the running kernel is explained, by its kernel name (class unknown where kdrop has no notes)', { skip: existsSync(LIVE) ? false : `no ${LIVE}` }, async (t) => {
  // A kernel update that adds a reason must not turn this red: the name the kernel gives is explained
  // with class unknown; the names without notes are listed so they can be added to the catalog.
  const fmt = parseFormat(await readFile(LIVE, 'utf8'));
  const kernel = { names: fmt.reasons, subsystems: new Map<number, string>() };
  const undocumented: string[] = [];
  for (const [code, name] of fmt.reasons) {
    const e = explain(String(code), kernel);
    assert.equal(e.name, name);
    assert.deepEqual(e.codes, [code]);
    assert.ok(isReasonClass(e.class));
    assert.equal(e.class, reasonClass(name));
    if (!e.documented) undocumented.push(name);
  }
  if (undocumented.length > 0) t.diagnostic(`reasons of the running kernel without notes (class unknown): ${undocumented.join(', ')}`);
});

test('a reason the catalog lacks is explained by the kernel\'s name with class unknown', () => {
  const kernel = { names: new Map([[3, 'NO_SOCKET'], [200, 'BRAND_NEW_REASON']]), subsystems: new Map<number, string>() };
  for (const query of ['200', 'brand_new_reason', 'SKB_DROP_REASON_BRAND_NEW_REASON']) {
    const e = explain(query, kernel);
    assert.equal(e.name, 'BRAND_NEW_REASON', query);
    assert.equal(e.class, 'unknown');
    assert.equal(e.documented, false);
    assert.deepEqual(e.codes, [200]);
    assert.match(formatExplanation(e), /class: +unknown/);
  }
  assert.equal(reasonClass('BRAND_NEW_REASON'), 'unknown');
  assert.equal(reasonClassOf('BRAND_NEW_REASON'), 'unknown');
  assert.throws(() => explain('BRAND_NEW_REASON', { names: new Map([[3, 'NO_SOCKET']]), subsystems: new Map() }), /unknown drop reason/);
});

test('classes of the documented examples', () => {
  const expect: Record<string, string> = {
    NETFILTER_DROP: 'policy', TC_INGRESS: 'policy', TC_EGRESS: 'policy', XDP: 'policy', SOCKET_FILTER: 'policy', IP_RPFILTER: 'policy',
    SOCKET_RCVBUFF: 'congestion', SOCKET_BACKLOG: 'congestion', CPU_BACKLOG: 'congestion', QDISC_DROP: 'congestion', TCP_LISTEN_OVERFLOW: 'congestion',
    TCP_CSUM: 'error', UDP_CSUM: 'error', IP_CSUM: 'error', IP_INHDR: 'error', IP_OUTNOROUTES: 'error', IP_INNOROUTES: 'error', NEIGH_FAILED: 'error', NO_SOCKET: 'error',
    SOCKET_CLOSE: 'benign', QUEUE_PURGE: 'benign',
    NOT_SPECIFIED: 'unknown', UNKNOWN_999: 'unknown', UNKNOWN_OPENVSWITCH_3: 'unknown', SOMETHING_NEW_IN_7_0: 'unknown',
  };
  for (const [name, cls] of Object.entries(expect)) assert.equal(reasonClass(name), cls, name);
  assert.equal(reasonClassOf(null), null);
});

test('lookups are case-insensitive and take the SKB_DROP_REASON_ prefix', () => {
  assert.equal(lookupReason('skb_drop_reason_no_socket')?.name, 'NO_SOCKET');
  assert.equal(lookupReason(' netfilter_drop ')?.class, 'policy');
  assert.equal(lookupReason('RX_DROP_U_MIC_FAIL')?.subsystem, 'mac80211');
  assert.equal(lookupReason('UNKNOWN_3'), undefined);
});

test('every catalog entry is complete and every class is used', () => {
  const seen = new Set<string>();
  for (const e of catalogEntries()) {
    assert.ok(!seen.has(e.name), `${e.name} listed twice`);
    seen.add(e.name);
    assert.match(e.name, /^[A-Z0-9_]+$/);
    assert.ok(e.meaning.length > 20 && e.raisedIn.length > 0 && e.check.length > 0, `${e.name} incomplete`);
  }
  for (const c of REASON_CLASSES) assert.ok(catalogEntries().some((e) => e.class === c), `class ${c} unused`);
});

test('docs/reasons.md is generated from the catalog and up to date (npm run docs:reasons)', async () => {
  const doc = await readFile(join(root, 'docs/reasons.md'), 'utf8');
  assert.equal(doc, renderReasonsDoc(), 'docs/reasons.md is out of date: run npm run docs:reasons');
  for (const e of catalogEntries()) assert.ok(doc.includes(`### ${e.name}\n`), e.name);
});
