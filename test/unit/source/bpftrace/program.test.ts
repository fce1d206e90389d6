import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TracepointFormat } from '../../../../src/kernel/types.js';
import {
  generateProgram,
  programKeyFields,
  countStatementLine,
  protocolIsNetworkOrder,
  dialectForVersion,
  type BpftraceDialect,
} from '../../../../src/source/bpftrace/index.js';

function format(names: readonly string[]): TracepointFormat {
  return { name: 'kfree_skb', id: 1, fields: names.map((name) => ({ name, type: 'void *', offset: 0, size: 8, signed: false })), printFmt: '', reasons: new Map() };
}
/** Pre-5.17 (no reason), 5.17..6.10 (reason), 6.11+ (reason + rx_sk). */
const gen0 = format(['skbaddr', 'location', 'protocol']);
const gen1 = format(['skbaddr', 'location', 'protocol', 'reason']);
const gen2 = format(['skbaddr', 'location', 'rx_sk', 'protocol', 'reason']);
const v = (minor: number): BpftraceDialect => dialectForVersion({ major: 0, minor, patch: 0 });
const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../../../../../test/fixtures/bpftrace/${name}`, import.meta.url)), 'utf8');

test('0.17 program on a 6.11+ kernel is the one recorded against real bpftrace 0.17', () => {
  assert.equal(generateProgram({ format: gen2, dialect: v(17), netns: true }), fixture('program-v0.17.bt'));
});

test('0.23 program on a 6.11+ kernel is the one recorded against real bpftrace 0.23', () => {
  assert.equal(generateProgram({ format: gen2, dialect: v(23), netns: true }), fixture('program-v0.23.bt'));
});

test('classic tracepoint, args->field (0.17)', () => {
  const p = generateProgram({ format: gen1, dialect: v(17), netns: true });
  assert.match(p, /^tracepoint:skb:kfree_skb \{$/m);
  assert.match(p, /\$skb = \(struct sk_buff \*\)args->skbaddr;/);
  assert.match(p, /@c\[args->location, \(uint32\)args->reason, args->protocol, \$ns\] = count\(\);/);
  assert.match(p, /@b\[args->location, \(uint32\)args->reason, args->protocol, \$ns\] = sum\(\$skb->len\);/);
  assert.doesNotMatch(p, /args\./);
  assert.doesNotMatch(p, /rx_sk/, 'no rx_sk before 6.11');
  assert.doesNotMatch(p, /clear\(|printf\("[^k]|self:signal/);
  assert.match(p, /\$dev->nd_net\.net->ns\.inum/);
  assert.match(p, /\$sk->__sk_common\.skc_net\.net->ns\.inum/);
});

test('newer tracepoint dialect uses args.field and a SIGUSR1 probe from 0.22', () => {
  const p20 = generateProgram({ format: gen2, dialect: v(20), netns: true });
  assert.match(p20, /@c\[args\.location, \(uint32\)args\.reason, args\.protocol, \$ns\] = count\(\);/);
  assert.match(p20, /\(struct sock \*\)args\.rx_sk/);
  assert.doesNotMatch(p20, /args->/);
  assert.doesNotMatch(p20, /self:signal/);
  const p22 = generateProgram({ format: gen2, dialect: v(22), netns: true });
  assert.match(p22, /^self:signal:SIGUSR1 \{ print\(@b\); print\(@c\); print\(@kdrop_end\); \}$/m);
});

test('rawtracepoint dialect: prototype-order args, 64-bit location, raw protocol', () => {
  const p = generateProgram({ format: gen2, dialect: v(23), netns: true });
  assert.match(p, /^rawtracepoint:kfree_skb \{$/m);
  assert.match(p, /\(struct sk_buff \*\)arg0/);
  assert.match(p, /@c\[\(uint64\)arg1, \(uint32\)arg2, \$skb->protocol, \$ns\] = count\(\);/);
  assert.match(p, /\(struct sock \*\)arg3/);
  assert.doesNotMatch(p, /tracepoint:skb/);
  assert.equal(protocolIsNetworkOrder(v(23)), true);
  assert.equal(protocolIsNetworkOrder(v(17)), false);
});

test('no reason field: the key has no reason; rawtracepoint has no arg2', () => {
  const p = generateProgram({ format: gen0, dialect: v(17), netns: true });
  assert.match(p, /@c\[args->location, args->protocol, \$ns\] = count\(\);/);
  assert.doesNotMatch(p, /reason/);
  const r = generateProgram({ format: gen0, dialect: v(23), netns: true });
  assert.doesNotMatch(r, /arg2|arg3/);
  assert.deepEqual(programKeyFields({ format: gen0, netns: true }), ['location', 'protocol', 'netns']);
});

test('netns off: no BTF walk, no $ns in the key', () => {
  const p = generateProgram({ format: gen1, dialect: v(17), netns: false });
  assert.doesNotMatch(p, /\$ns|nd_net|skc_net/);
  assert.match(p, /@c\[args->location, \(uint32\)args->reason, args->protocol\] = count\(\);/);
  assert.deepEqual(programKeyFields({ format: gen1, netns: false }), ['location', 'reason', 'protocol']);
  assert.deepEqual(programKeyFields({ format: gen2, netns: true }), ['location', 'reason', 'protocol', 'netns']);
});

test('BEGIN sets the end marker map and prints the ready marker; countStatementLine finds count()', () => {
  const p = generateProgram({ format: gen2, dialect: v(17), netns: true });
  assert.match(p.split('\n')[0] ?? '', /^BEGIN \{ @kdrop_end = 1; printf\("kdrop-ready\\n"\); \}$/);
  const line = countStatementLine(p);
  assert.match(p.split('\n')[line - 1] ?? '', /@c\[.*count\(\)/);
  // the recorded map-full helper errors of 0.17 name line 12 for this program
  assert.equal(line, 12);
});
