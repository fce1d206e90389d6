/**
 * BpftraceSource against the real kernel and real bpftrace (0.17 on this machine; 0.23 through a Debian
 * trixie chroot when scripts/trixie-chroot.sh has built one). Drops are made in fresh network namespaces
 * so the counts for their netns inodes are exact.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { TracepointFormat, TracepointField } from '../../src/kernel/types.js';
import type { DropSample } from '../../src/source/types.js';
import { BpftraceSource } from '../../src/source/bpftrace/index.js';
import { createNetns, waitFor, type TestNetns } from '../helpers/netns.js';
import { FORMAT_PATH, bpftraceOf, bpftraceSkipReason, processGone } from '../helpers/tracer.js';
import { reasonCode } from '../helpers/running-kernel.js';

const run = promisify(execFile);
// The running kernel's codes (numbering drifts between kernels); unused when skipped.
const NO_SOCKET = bpftraceSkipReason() === null ? reasonCode('NO_SOCKET') : -1;
const NETFILTER_DROP = bpftraceSkipReason() === null ? reasonCode('NETFILTER_DROP') : -1;

/** Minimal local parse of the format file (fields only), so this test does not depend on src/kernel. */
function readFormat(): TracepointFormat {
  const text = readFileSync(FORMAT_PATH, 'utf8');
  const fields: TracepointField[] = [];
  for (const m of text.matchAll(/field:(.+?)\s+(\w+)(?:\[\d*\])?;\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/g)) {
    const [, type = '', name = '', offset = '0', size = '0', signed = '0'] = m;
    if (name.startsWith('common_')) continue;
    fields.push({ name, type: type.trim(), offset: Number(offset), size: Number(size), signed: signed === '1' });
  }
  return { name: 'kfree_skb', id: Number(/ID: (\d+)/.exec(text)?.[1] ?? 0), fields, printFmt: '', reasons: new Map() };
}


function sum(samples: readonly DropSample[], netns: number, reasonCode: number, protocol: number): number {
  return samples.filter((s) => s.netns === netns && s.reasonCode === reasonCode && s.protocol === protocol).reduce((a, s) => a + s.count, 0);
}


/** Waits until the total for (netns, reason, protocol) reaches `want`; checks it never decreases; returns the last total. */
async function waitTotal(src: BpftraceSource, netns: number, reason: number, protocol: number, want: number): Promise<number> {
  let last = 0;
  await waitFor(
    async () => {
      const t = sum(await src.collect(), netns, reason, protocol);
      assert.ok(t >= last, `total went backwards: ${last} -> ${t}`);
      last = t;
      return t >= want;
    },
    30_000,
    200,
  );
  // One more read after a pause: it must not go past the exact count.
  await new Promise((r) => setTimeout(r, 300));
  const all = await src.collect();
  const t = sum(all, netns, reason, protocol);
  assert.ok(t >= last, `total went backwards: ${last} -> ${t}`);
  if (t !== want) {
    const show = all.map((s) => ({ ...s, address: `0x${s.address.toString(16)}` }));
    console.error(`netns ${netns}: want ${want}, have ${t}:`, JSON.stringify(show), JSON.stringify(src.stats()));
  }
  return t;
}

function exactCountSuite(title: string, makeSource: (format: TracepointFormat) => BpftraceSource, skip: string | null, probe: string): void {
  describe(title, { skip: skip ?? false, timeout: 240_000 }, () => {
    let src: BpftraceSource | undefined;
    const namespaces: TestNetns[] = [];
    const newNs = async (): Promise<TestNetns> => {
      const ns = await createNetns('kdropbt');
      namespaces.push(ns);
      return ns;
    };

    before(async () => {
      src = makeSource(readFormat());
      await src.start();
    });

    after(async () => {
      await src?.stop();
      for (const ns of namespaces) await ns.remove();
      const left = await bpftraceOf(process.pid);
      for (const pid of left) process.kill(pid, 'SIGKILL');
    });

    test(`the program attaches ${probe}`, () => {
      assert.match(src!.programText, new RegExp(`^${probe} \\{`, 'm'));
    });

    test('IPv4 UDP to a closed port: exactly N with NO_SOCKET for the netns', async () => {
      const ns = await newNs();
      await ns.sendUdp(37, { family: 4, port: 9 });
      assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x0800, 37), 37);
      const s = (await src!.collect()).filter((x) => x.netns === ns.inode);
      assert.ok(s.every((x) => x.address > 0xffff000000000000n), 'kernel text addresses');
      assert.ok(s.every((x) => x.bytes !== null && x.bytes >= x.count * 16), 'bytes include the payload');
    });

    test('IPv6 UDP to a closed port: exactly N with NO_SOCKET, protocol 0x86dd', async () => {
      const ns = await newNs();
      await ns.sendUdp(23, { family: 6, port: 9 });
      assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x86dd, 23), 23);
    });

    test('nftables drop rule: exactly N with NETFILTER_DROP', async () => {
      const ns = await newNs();
      // (test/helpers/netns.ts addNftDrop's one-line ruleset lacks a ';' after the chain block on nft 1.0.6)
      await ns.exec(['nft', 'table inet kdroptest { chain input { type filter hook input priority 0; policy accept; udp dport 4242 drop; }; }']);
      await ns.sendUdp(19, { family: 4, port: 4242 });
      assert.equal(await waitTotal(src!, ns.inode, NETFILTER_DROP, 0x0800, 19), 19);
      assert.equal(sum(await src!.collect(), ns.inode, NO_SOCKET, 0x0800), 0);
    });

    test('SIGKILL of bpftrace: restarted once, totals N+M, never decreasing', async () => {
      const ns = await newNs();
      await ns.sendUdp(41, { family: 4, port: 9 });
      assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x0800, 41), 41);
      const oldPid = src!.pid;
      assert.ok(oldPid !== undefined);
      process.kill(oldPid, 'SIGKILL');
      const restarted = await waitFor(() => src!.pid !== undefined && src!.pid !== oldPid, 60_000, 100);
      assert.ok(restarted, 'bpftrace was restarted');
      assert.equal(src!.stats().restarts, 1);
      // Still 41 after the restart (the dead instance's counts are the base).
      assert.equal(sum(await src!.collect(), ns.inode, NO_SOCKET, 0x0800), 41);
      await ns.sendUdp(29, { family: 4, port: 9 });
      assert.equal(await waitTotal(src!, ns.inode, NO_SOCKET, 0x0800, 70), 70);
      assert.equal(src!.stats().restarts, 1);
    });

    test('stop(): final counts kept, no bpftrace of ours left', async () => {
      const ns = await newNs();
      await ns.sendUdp(11, { family: 4, port: 9 });
      // No collect before stop: the counts must come from the exit print.
      await src!.stop();
      assert.equal(sum(await src!.collect(), ns.inode, NO_SOCKET, 0x0800), 11);
      assert.deepEqual(await bpftraceOf(process.pid), []);
      assert.equal(src!.stats().lostEvents, 0);
      assert.equal(src!.stats().badLines, 0);
    });
  });
}

exactCountSuite('BpftraceSource on the system bpftrace', (format) => new BpftraceSource({ format, readIntervalMs: 1000, restart: { maxRestarts: 3, initialDelayMs: 200, maxDelayMs: 2000 } }), bpftraceSkipReason(), 'tracepoint:skb:kfree_skb');

// bpftrace 0.23 (rawtracepoint dialect) from a Debian 13 chroot built by scripts/trixie-chroot.sh.
const chrootDir = `${process.env['KDROP_TOOLS_CACHE'] ?? '/var/cache/kdrop-tools'}/trixie-chroot`;
const chrootSkip = bpftraceSkipReason() ?? (existsSync(`${chrootDir}/.kdrop-ready`) ? null : `no trixie chroot at ${chrootDir} (run scripts/trixie-chroot.sh)`);
const script = fileURLToPath(new URL('../../../scripts/trixie-chroot.sh', import.meta.url));
let mountedHere = false;
if (chrootSkip === null) {
  before(async () => {
    mountedHere = !existsSync(`${chrootDir}/proc/self`);
    await run('bash', [script, 'mount']);
  });
  after(async () => {
    if (mountedHere) await run('bash', [script, 'umount']).catch(() => undefined);
  });
}
exactCountSuite(
  'BpftraceSource on bpftrace 0.23 in a trixie chroot (rawtracepoint)',
  (format) => new BpftraceSource({ format, command: ['chroot', chrootDir, 'bpftrace'], readIntervalMs: 1000, restart: { maxRestarts: 3, initialDelayMs: 200, maxDelayMs: 2000 } }),
  chrootSkip,
  'rawtracepoint:kfree_skb',
);

describe('no orphaned bpftrace when kdrop is killed', { skip: bpftraceSkipReason() ?? false, timeout: 120_000 }, () => {
  const indexUrl = new URL('../../src/source/bpftrace/index.js', import.meta.url).href;
  /** Starts a source in a child node process and returns the child and its bpftrace pid. */
  async function startChild(deathSignal: boolean): Promise<{ child: import('node:child_process').ChildProcess; bpftrace: number }> {
    const { spawn } = await import('node:child_process');
    const code = `
      const { BpftraceSource } = await import(${JSON.stringify(indexUrl)});
      const format = { name: 'kfree_skb', id: 0, printFmt: '', reasons: new Map(),
        fields: ${JSON.stringify(readFormat().fields)} };
      const src = new BpftraceSource({ format, deathSignal: ${deathSignal} });
      await src.start();
      process.stdout.write(String(src.pid) + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      child.on('exit', () => reject(new Error('child exited before starting bpftrace')));
    });
    return { child, bpftrace: pid };
  }
  test('SIGKILL of kdrop: the death signal ends its bpftrace', async () => {
    const { child, bpftrace } = await startChild(true);
    try {
      child.kill('SIGKILL');
      assert.ok(await waitFor(() => processGone(bpftrace), 20_000, 100), `bpftrace ${bpftrace} outlived its kdrop`);
    } finally {
      if (!(await processGone(bpftrace))) process.kill(bpftrace, 'SIGKILL');
    }
  });

  test('without the death signal, the next start() removes the stale bpftrace', async () => {
    const { child, bpftrace } = await startChild(false);
    let src: BpftraceSource | undefined;
    try {
      child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await processGone(bpftrace), false, 'without a death signal bpftrace survives its parent');
      src = new BpftraceSource({ format: readFormat() });
      await src.start();
      assert.ok(await waitFor(() => processGone(bpftrace), 20_000, 100), `stale bpftrace ${bpftrace} was not removed`);
    } finally {
      await src?.stop();
      if (!(await processGone(bpftrace))) process.kill(bpftrace, 'SIGKILL');
    }
  });
});
