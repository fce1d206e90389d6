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

const root = fileURLToPath(new URL('../../../../', import.meta.url));

async function fixtureFormats(): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const dir of ['test/fixtures/kernel', 'test/fixtures/tracefs']) {
    for (const f of await readdir(join(root, dir))) {
      if (!/\.format$|^kfree_skb-format-.*\.txt$/.test(f)) continue;
      const fmt = parseFormat(await readFile(join(root, dir, f), 'utf8'));
      out.set(`${dir}/${f}`, new Set(fmt.reasons.values()));
    }
  }
  return out;
}

function assertCovered(where: string, names: Iterable<string>): void {
  const missing = [...names].filter((n) => lookupReason(n) === undefined);
  assert.deepEqual(missing, [], `${where}: reasons without notes in src/enrich/reason-catalog.ts`);
  for (const n of names) assert.ok(isReasonClass(reasonClass(n)), `${where}: ${n}`);
}

test('every reason name of every fixture kernel has a class and notes', async () => {
  const formats = await fixtureFormats();
  assert.ok(formats.size >= 5, 'the fixture formats were found');
  assert.ok([...formats.values()].some((s) => s.size > 100), 'a fixture with the full 6.18 table');
  for (const [where, names] of formats) assertCovered(where, names);
});

const LIVE = '/sys/kernel/tracing/events/skb/kfree_skb/format';
test('every reason name of the running kernel has a class and notes', { skip: existsSync(LIVE) ? false : `no ${LIVE}` }, async () => {
  const fmt = parseFormat(await readFile(LIVE, 'utf8'));
  assertCovered('running kernel', fmt.reasons.values());
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
