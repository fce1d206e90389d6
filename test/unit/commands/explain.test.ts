import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ErrorCodes, isKdropError } from '../../../src/errors.js';
import { explain, formatExplanation, runExplain } from '../../../src/commands/explain.js';
import type { KernelReasons } from '../../../src/kernel/btf-reasons.js';
import { defaultHostPaths } from '../../../src/host-paths.js';

const S = 1 << 16;
const kernel: KernelReasons = {
  names: new Map([[2, 'NOT_SPECIFIED'], [3, 'NO_SOCKET'], [12, 'NETFILTER_DROP'], [200, 'BRAND_NEW'], [2 * S + 1, 'OVS_DROP_LAST_ACTION']]),
  subsystems: new Map([[1, 'MAC80211_UNUSABLE'], [2, 'OPENVSWITCH']]),
};

const unknown = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => isKdropError(err, ErrorCodes.UNKNOWN_REASON) && pattern.test(err.message));

test('explain by name: any case, with or without prefix; codes from the running kernel', () => {
  for (const q of ['NO_SOCKET', 'no_socket', 'SKB_DROP_REASON_NO_SOCKET', ' skb_drop_reason_no_socket ']) {
    const e = explain(q, kernel);
    assert.equal(e.name, 'NO_SOCKET');
    assert.deepEqual(e.codes, [3]);
    assert.equal(e.class, 'error');
  }
  const text = formatExplanation(explain('netfilter_drop', kernel));
  assert.match(text, /^NETFILTER_DROP\n {2}class: {6}policy\n {2}code: {7}12\n {2}meaning: {4}A netfilter rule/);
  assert.match(text, /raised in: {2}nf_hook_slow/);
  assert.match(text, /check next:\n {4}- nft list ruleset/);
});

test('explain by code (decimal, hex), subsystem codes included', () => {
  assert.equal(explain('12', kernel).name, 'NETFILTER_DROP');
  assert.equal(explain('0xc', kernel).name, 'NETFILTER_DROP');
  const ovs = explain(String(2 * S + 1), kernel);
  assert.equal(ovs.name, 'OVS_DROP_LAST_ACTION');
  assert.equal(ovs.subsystem, 'openvswitch');
  assert.match(formatExplanation(ovs), /code: {7}131073 \(0x20001\)\n {2}subsystem: {2}openvswitch/);
});

test('a name only the running kernel knows: class unknown, said plainly', () => {
  const e = explain('BRAND_NEW', kernel);
  assert.equal(e.class, 'unknown');
  assert.equal(e.documented, false);
  assert.match(e.meaning, /no notes/);
});

test('explain without kernel access: names from the catalog, codes refused', () => {
  const e = explain('QUEUE_PURGE', null);
  assert.equal(e.class, 'benign');
  assert.match(formatExplanation(e), /code: {7}\(running kernel not read\)/);
  unknown(() => explain('3', null), /numeric code, but the running kernel's reason table could not be read/);
});

test('unknown reasons and codes: KDROP_E_UNKNOWN_REASON saying what was found', () => {
  unknown(() => explain('NO_SOKET', kernel), /NO_SOKET, neither in kdrop's table nor in this kernel's/);
  unknown(() => explain('999', kernel), /code 999, which this kernel does not name \(kdrop shows it as UNKNOWN_999\)/);
  unknown(() => explain(String(2 * S + 9), kernel), /subsystem 2 \(OPENVSWITCH\), reason 9.*UNKNOWN_OPENVSWITCH_9/);
  unknown(() => explain(String(7 * S + 1), kernel), /subsystem 7 \(unknown subsystem\).*UNKNOWN_SUBSYS7_1/);
  unknown(() => explain('no socket!', kernel), /not a reason name/);
});

test('runExplain --json', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  assert.equal(await runExplain({ query: 'socket_rcvbuff', json: true, paths: defaultHostPaths, out, kernel }), 0);
  const doc = JSON.parse(text) as Record<string, unknown>;
  assert.equal(doc['name'], 'SOCKET_RCVBUFF');
  assert.equal(doc['class'], 'congestion');
  assert.deepEqual(doc['codes'], []);
  assert.ok(Array.isArray(doc['check']));
});

test('the CLI: kdrop explain prints the notes (exit 0); an unknown reason exits 2 with KDROP_E_UNKNOWN_REASON', async () => {
  const { startCli } = await import('../../helpers/cli.js');
  // --tracefs to a missing directory: no kernel table, so the test does not depend on this host.
  const ok = startCli(['--tracefs', '/nonexistent-kdrop-tracefs', 'explain', 'skb_drop_reason_socket_rcvbuff'], { KDROP_LOG_LEVEL: 'warn' });
  assert.equal(await ok.exited, 0);
  assert.equal(ok.stdoutLines[0], 'SOCKET_RCVBUFF');
  assert.ok(ok.stdoutLines.includes('  class:      congestion'));
  const bad = startCli(['--tracefs', '/nonexistent-kdrop-tracefs', 'explain', 'NO_SUCH_REASON'], { KDROP_LOG_LEVEL: 'warn' });
  assert.equal(await bad.exited, 2);
  assert.match(bad.stderrLines.join('\n'), /unknown drop reason "NO_SUCH_REASON".*\[KDROP_E_UNKNOWN_REASON\]/);
});
