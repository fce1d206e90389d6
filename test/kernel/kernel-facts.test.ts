/** Kernel facts on the real host: tracefs, the kfree_skb format, kallsyms, netns inodes. Needs root. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readlink, rmdir, writeFile } from 'node:fs/promises';
import { defaultHostPaths } from '../../src/host-paths.js';
import { readBtfEnum } from '../../src/kernel/btf-file.js';
import { dropReasonNames } from '../../src/kernel/btf-reasons.js';
import { hasField, readTracepointFormat, reasonName } from '../../src/kernel/format.js';
import { readHostNetnsInode, readNetnsInode } from '../../src/enrich/proc-scan.js';
import { findTracefs } from '../../src/kernel/tracefs.js';
import { KallsymsSymbolizer } from '../../src/symbolize/kallsyms-symbolizer.js';
import { createNetns, kernelTestSkipReason } from '../helpers/netns.js';
import { dropFunction } from '../helpers/running-kernel.js';

const skip = kernelTestSkipReason() ?? false;

/** Code of `name` in this kernel's BTF enum skb_drop_reason (a source independent of the format file). */
async function btfCode(name: string): Promise<number> {
  const btf = dropReasonNames(await readBtfEnum('/sys/kernel/btf/vmlinux', 'skb_drop_reason'));
  const code = [...btf].find(([, n]) => n === name)?.[0];
  assert.ok(code !== undefined, `${name} in BTF enum skb_drop_reason`);
  return code;
}

test('findTracefs + readTracepointFormat: kfree_skb with reason NO_SOCKET at the code BTF gives it', { skip }, async () => {
  const dir = await findTracefs(defaultHostPaths, { mount: true });
  const f = await readTracepointFormat(dir);
  assert.equal(f.name, 'kfree_skb');
  assert.ok(hasField(f, 'location') && hasField(f, 'reason') && hasField(f, 'protocol'));
  assert.equal(reasonName(f, await btfCode('NO_SOCKET')), 'NO_SOCKET');
  assert.equal(reasonName(f, await btfCode('NOT_SPECIFIED')), 'NOT_SPECIFIED');
  // The raw format file agrees with the parsed ID.
  const raw = await readFile(`${dir}/events/skb/kfree_skb/format`, 'utf8');
  assert.ok(raw.includes(`ID: ${f.id}\n`));
});

test('KallsymsSymbolizer resolves the UDPv4 receive function (__udp4_lib_rcv, udp_rcv on 7.x) +0x10', { skip }, async () => {
  const udp = dropFunction('udp4');
  const text = await readFile('/proc/kallsyms', 'utf8');
  const line = text.split('\n').find((l) => l.endsWith(` ${udp}`) && / [tT] /.test(l));
  assert.ok(line !== undefined, `${udp} in /proc/kallsyms`);
  const address = BigInt(`0x${line.split(' ')[0] ?? ''}`);
  assert.notEqual(address, 0n);
  const s = await KallsymsSymbolizer.load(defaultHostPaths);
  const r = s.resolve(address + 0x10n);
  assert.ok(r !== null);
  assert.equal(r.function, udp);
  assert.equal(r.offset, 0x10);
  assert.equal(r.module, null);
  assert.ok(r.size !== null && r.size > 0x10);
  assert.equal(s.reloads(), 0);
});

test('readNetnsInode(self) equals readlink /proc/self/ns/net; a fresh netns differs from the host', { skip }, async () => {
  const link = await readlink('/proc/self/ns/net');
  const expected = Number(/net:\[(\d+)\]/.exec(link)?.[1]);
  assert.equal(await readNetnsInode('/proc', 'self'), expected);
  // pid 1's link may be unreadable (no CAP_SYS_PTRACE over it, as in this sandbox): then kdrop's own netns.
  const pid1 = await readlink('/proc/1/ns/net').then((l) => Number(/net:\[(\d+)\]/.exec(l)?.[1]), () => null);
  const host = await readHostNetnsInode('/proc');
  assert.equal(host, pid1 ?? expected);
  const ns = await createNetns('kdropfacts');
  try {
    assert.notEqual(ns.inode, expected);
    assert.notEqual(ns.inode, host);
  } finally {
    await ns.remove();
  }
});

test('symbolizer agrees with the kernel\'s own %pS (function, offset and size) for real drop locations', { skip }, async () => {
  const dir = await findTracefs(defaultHostPaths, { mount: true });
  const instance = `${dir}/instances/kdrop-test-facts-${process.pid}`;
  await mkdir(instance);
  const ns = await createNetns('kdropfacts');
  let trace: string;
  try {
    await writeFile(`${instance}/events/skb/kfree_skb/enable`, '1');
    await ns.sendUdp(5);
    await writeFile(`${instance}/events/skb/kfree_skb/enable`, '0');
    trace = await readFile(`${instance}/trace`, 'utf8');
  } finally {
    await ns.remove();
    await writeFile(`${instance}/events/skb/kfree_skb/enable`, '0').catch(() => undefined);
    await rmdir(instance);
  }
  const seen = new Set<string>();
  for (const m of trace.matchAll(/location=([A-Za-z_][\w.]*)\+0x([0-9a-f]+)\/0x([0-9a-f]+)/g)) seen.add(m[0]);
  const udp = dropFunction('udp4');
  assert.ok([...seen].some((l) => l.startsWith(`location=${udp}+`)), `a NO_SOCKET drop at ${udp} in ${[...seen].join(', ')}`);
  const kallsyms = await readFile('/proc/kallsyms', 'utf8');
  const s = await KallsymsSymbolizer.load(defaultHostPaths);
  let compared = 0;
  for (const l of seen) {
    const [, name = '', off = '', size = ''] = /location=(.+)\+0x([0-9a-f]+)\/0x([0-9a-f]+)/.exec(l) ?? [];
    const lines = kallsyms.split('\n').filter((x) => x.endsWith(` ${name}`) && / [tT] /.test(x));
    if (lines.length !== 1) continue; // a static name defined in several files is ambiguous
    const base = BigInt(`0x${lines[0]?.split(' ')[0] ?? ''}`);
    assert.deepEqual(s.resolve(base + BigInt(`0x${off}`)), { function: name, offset: Number.parseInt(off, 16), size: Number.parseInt(size, 16), module: null }, l);
    compared++;
  }
  assert.ok(compared >= 1);
});

test('BTF enum skb_drop_reason names agree with the tracepoint print fmt table', { skip }, async () => {
  const f = await readTracepointFormat(await findTracefs(defaultHostPaths, { mount: true }));
  const btf = dropReasonNames(await readBtfEnum('/sys/kernel/btf/vmlinux', 'skb_drop_reason'));
  assert.ok([...btf.values()].includes('NO_SOCKET') && [...btf.values()].includes('NETFILTER_DROP'), 'BTF has the reasons the tests use');
  assert.deepEqual([...btf].sort((a, b) => a[0] - b[0]), [...f.reasons].sort((a, b) => a[0] - b[0]));
});
