/**
 * The tracefs source against the real skb:kfree_skb tracepoint (root).
 *
 * The tracepoint carries no netns, and other tests on this machine make NO_SOCKET and NETFILTER_DROP
 * drops at the same locations at the same time. So each test sends from its own process in a fresh
 * netns and gives the source the in-kernel filter `common_pid == <sender pid>`: loopback UDP is
 * received in softirq on the sender's own stack (at local_bh_enable in dev_queue_xmit), and an
 * nftables OUTPUT drop happens in the sender's syscall, so exactly the sender's drops are counted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { access, mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createNetns, kernelTestSkipReason, waitFor, type TestNetns } from '../helpers/netns.js';
import { TracefsSource } from '../../src/source/tracefs/index.js';
import { instancePid } from '../../src/source/tracefs/instance.js';
import type { DropSample } from '../../src/source/types.js';
import type { TracepointFormat } from '../../src/kernel/types.js';
import { localParseFormat } from '../unit/source/tracefs/local-format.js';
import { dropFunction, dropFunctions, reasonCode } from '../helpers/running-kernel.js';

const TRACEFS = '/sys/kernel/tracing';
const FORMAT_FILE = join(TRACEFS, 'events/skb/kfree_skb/format');

async function skipReason(): Promise<string | null> {
  const reason = kernelTestSkipReason();
  if (reason !== null) return reason;
  try {
    await access(FORMAT_FILE);
  } catch {
    return `no ${FORMAT_FILE} (tracefs not mounted or no skb:kfree_skb)`;
  }
  return null;
}
const skip = await skipReason();

/** Function start and end (next symbol) from /proc/kallsyms. */
async function functionRanges(names: readonly string[]): Promise<Map<string, { start: bigint; end: bigint }>> {
  const text = await readFile('/proc/kallsyms', 'utf8');
  const addrs: bigint[] = [];
  const starts = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [addr, , name] = line.split(/\s+/);
    if (addr === undefined || name === undefined) continue;
    const a = BigInt(`0x${addr}`);
    addrs.push(a);
    // core or module (nft_do_chain is in nf_tables where that is a module)
    if (names.includes(name) && !starts.has(name)) starts.set(name, a);
  }
  addrs.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const out = new Map<string, { start: bigint; end: bigint }>();
  for (const [name, start] of starts) {
    assert.notEqual(start, 0n, 'kallsyms shows zero addresses (kptr_restrict?)');
    const end = addrs.find((a) => a > start) ?? start + 0x100000n;
    out.set(name, { start, end });
  }
  return out;
}

const SENDER = `
const dgram = require('node:dgram');
const [n, family, port, size] = process.argv.slice(1).map(Number);
const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
sock.on('error', () => {});
const payload = Buffer.alloc(size, 0x6b);
const addr = family === 6 ? '::1' : '127.0.0.1';
process.stdin.once('data', () => {
  let sent = 0, failed = 0;
  const next = () => {
    if (sent + failed >= n) { process.stdout.write(sent + ' ' + failed + '\\n'); sock.close(); process.exit(0); }
    sock.send(payload, port, addr, (err) => { if (err) failed++; else sent++; next(); });
  };
  next();
});
`;

/** A sender process in the netns that waits for go() before sending, so its pid can go in the filter. */
interface GatedSender {
  readonly pid: number;
  /** Sends; resolves with datagrams sent and sends that failed (EPERM from an OUTPUT drop). */
  go(): Promise<{ sent: number; failed: number }>;
  kill(): void;
}

function gatedSender(ns: TestNetns, n: number, family: 4 | 6, port: number): GatedSender {
  const child: ChildProcessWithoutNullStreams = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SENDER, String(n), String(family), String(port), '16']);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the sender');
  return {
    pid,
    async go() {
      child.stdin.write('go\n');
      const code = await exited;
      const m = /^(\d+) (\d+)$/.exec(out.trim());
      if (code !== 0 || m === null) throw new Error(`sender failed (exit ${code}): ${out} ${err}`);
      return { sent: Number(m[1]), failed: Number(m[2]) };
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

async function ourInstances(): Promise<string[]> {
  return (await readdir(join(TRACEFS, 'instances'))).filter((name) => instancePid(name) === process.pid);
}

function describeSamples(samples: readonly DropSample[]): string {
  return samples.map((s) => `${s.count}x 0x${s.address.toString(16)} reason=${s.reasonCode} proto=${s.protocol}`).join('; ') || 'none';
}

function total(samples: readonly DropSample[]): number {
  return samples.reduce((sum, s) => sum + s.count, 0);
}

describe('tracefs source on the real skb:kfree_skb tracepoint', { skip: skip ?? false }, () => {
  let format: TracepointFormat;
  let ranges: Map<string, { start: bigint; end: bigint }>;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    format = localParseFormat(await readFile(FORMAT_FILE, 'utf8'));
    ranges = await functionRanges([dropFunction('udp4'), dropFunction('udp6')]);
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  async function scenario(opts: {
    family: 4 | 6;
    port: number;
    count: number;
    nftOutputDrop?: boolean;
    /** Do not collect before stop(): the final counts must come from the drain in stop(). */
    drainOnlyAtStop?: boolean;
  }): Promise<{ samples: DropSample[]; source: TracefsSource; sent: { sent: number; failed: number } }> {
    const ns = await createNetns('kdroptf');
    cleanups.push(() => ns.remove());
    if (opts.nftOutputDrop === true) {
      await ns.exec(['nft', `table inet kdroptf { chain output { type filter hook output priority 0; policy accept; udp dport ${opts.port} drop; }; }`]);
    }
    const sender = gatedSender(ns, opts.count, opts.family, opts.port);
    cleanups.push(async () => sender.kill());
    const source = new TracefsSource({
      tracefsDir: TRACEFS,
      format,
      filter: `common_pid == ${sender.pid}`,
      bufferSizeKb: 256,
      ...(opts.drainOnlyAtStop === true ? { pollIntervalMs: 3_600_000 } : {}),
    });
    cleanups.push(() => source.stop());
    await source.start();
    const name = source.instanceName;
    assert.ok(name !== null && instancePid(name) === process.pid, `instance name ${name}`);
    assert.deepEqual(source.features, { reason: true, netns: false, bytes: false });
    const sent = await sender.go();
    assert.equal(sent.sent + sent.failed, opts.count);
    if (opts.drainOnlyAtStop === true) {
      // The events sit unread in the instance's ring buffers until stop() drains them.
      const entries = async (): Promise<number> => {
        let n = 0;
        for (const cpu of await readdir(join(TRACEFS, 'instances', name, 'per_cpu'))) {
          const stats = await readFile(join(TRACEFS, 'instances', name, 'per_cpu', cpu, 'stats'), 'utf8');
          n += Number(/^entries: (\d+)$/m.exec(stats)?.[1] ?? 0);
        }
        return n;
      };
      assert.ok(await waitFor(async () => (await entries()) >= opts.count, 30_000), `ring buffers hold ${await entries()} entries`);
    } else {
      const reached = await waitFor(async () => total(await source.collect()) >= opts.count, 30_000);
      assert.ok(reached, `saw ${describeSamples(await source.collect())}`);
    }
    await source.stop();
    await source.stop(); // idempotent
    assert.deepEqual(await ourInstances(), [], 'no instance of ours is left after stop()');
    await assert.rejects(access(join(TRACEFS, 'instances', name)));
    const samples = await source.collect();
    return { samples, source, sent };
  }

  /** Asserts one key only, at an address inside one of `fns`, with this reason, protocol and count. */
  function assertOnly(samples: DropSample[], fns: string | readonly string[], reasonCode: number, protocol: number, count: number): void {
    const names = typeof fns === 'string' ? [fns] : fns;
    assert.equal(samples.length, 1, `one key expected, got ${describeSamples(samples)}`);
    const [s] = samples;
    assert.ok(s !== undefined);
    const inside = names.filter((fn) => {
      const range = ranges.get(fn);
      return range !== undefined && s.address > range.start && s.address < range.end;
    });
    const shown = names.map((fn) => `${fn} [0x${ranges.get(fn)?.start.toString(16)}, 0x${ranges.get(fn)?.end.toString(16)})`).join(' or ');
    assert.equal(inside.length, 1, `0x${s.address.toString(16)} lies inside ${shown}`);
    assert.equal(s.reasonCode, reasonCode);
    assert.equal(s.protocol, protocol);
    assert.equal(s.netns, null);
    assert.equal(s.bytes, null);
    assert.equal(s.count, count);
  }

  test('IPv4 UDP to a closed port: exactly N NO_SOCKET drops inside the kernel\'s UDPv4 receive function', async () => {
    const N = 37;
    const { samples, source } = await scenario({ family: 4, port: 40111, count: N });
    assertOnly(samples, dropFunction('udp4'), reasonCode('NO_SOCKET'), 0x0800, N);
    assert.equal(source.stats().badLines, 0);
    assert.equal(source.stats().lostEvents, 0);
  });

  test('IPv6 UDP to a closed port: exactly N NO_SOCKET drops inside the kernel\'s UDPv6 receive function', async () => {
    const N = 23;
    const { samples } = await scenario({ family: 6, port: 40112, count: N });
    assertOnly(samples, dropFunction('udp6'), reasonCode('NO_SOCKET'), 0x86dd, N);
  });

  // Where the nftables drop is freed depends on the kernel: nf_hook_slow frees NF_DROP verdicts on older
  // kernels; on newer ones (6.18 checked here) nft_do_chain frees the skb itself (nft_do_chain+0x3e8), on
  // input and output hooks alike. Both exist everywhere, so either is accepted (kallsyms read after the
  // table exists: nf_tables may be a module).
  test('nftables drop rule: exactly N NETFILTER_DROP drops inside nf_hook_slow or nft_do_chain', async () => {
    const N = 19;
    const { samples, sent } = await scenario({ family: 4, port: 40113, count: N, nftOutputDrop: true });
    assert.equal(sent.failed, N, 'every send was refused by the OUTPUT drop');
    const nft = dropFunctions('nft');
    for (const [fn, range] of await functionRanges(nft)) ranges.set(fn, range);
    assertOnly(samples, nft, reasonCode('NETFILTER_DROP'), 0x0800, N);
  });

  test('stop() drains what is still in the ring buffers: no counted event is lost', async () => {
    const N = 41;
    const { samples } = await scenario({ family: 4, port: 40114, count: N, drainOnlyAtStop: true });
    assertOnly(samples, dropFunction('udp4'), reasonCode('NO_SOCKET'), 0x0800, N);
  });

  test('start() removes stale kdrop-<dead pid>-* instances and keeps live ones', async () => {
    const dead = spawn('true');
    const deadPid = dead.pid;
    await new Promise((r) => dead.on('exit', r));
    assert.ok(deadPid !== undefined);
    const stale = `kdrop-${deadPid}-stale01`;
    const live = 'kdrop-1-live01'; // pid 1 is always alive (an own-pid name this process did not create counts as stale)
    await mkdir(join(TRACEFS, 'instances', stale));
    await mkdir(join(TRACEFS, 'instances', live));
    cleanups.push(() => rmdir(join(TRACEFS, 'instances', stale)).catch(() => undefined));
    cleanups.push(() => rmdir(join(TRACEFS, 'instances', live)).catch(() => undefined));
    await access(join(TRACEFS, 'instances', stale, 'events/skb/kfree_skb/enable'));
    const source = new TracefsSource({ tracefsDir: TRACEFS, format, filter: 'common_pid == 1' });
    cleanups.push(() => source.stop());
    await source.start();
    try {
      await assert.rejects(access(join(TRACEFS, 'instances', stale)), 'the stale instance was removed');
      await access(join(TRACEFS, 'instances', live)); // a live pid's instance stays
    } finally {
      await source.stop();
      await rmdir(join(TRACEFS, 'instances', live));
    }
    assert.deepEqual(await ourInstances(), []);
  });

  test('stop() called while start() is still running waits for it and leaves no instance behind', async () => {
    const source = new TracefsSource({ tracefsDir: TRACEFS, format, filter: 'common_pid == 1' });
    const started = source.start();
    const stopped = source.stop();
    await started;
    await stopped;
    assert.deepEqual(await ourInstances(), []);
    assert.deepEqual(await source.collect(), []);
  });

  test('a start() that fails halfway (bad filter) leaves no instance behind', async () => {
    const name = `kdrop-${process.pid}-badfilter`;
    const source = new TracefsSource({ tracefsDir: TRACEFS, format, filter: 'no_such_field == 1', instanceName: name });
    await assert.rejects(source.start(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'KDROP_E_CONFIG');
      assert.match(err.message, /no_such_field/);
      return true;
    });
    await assert.rejects(access(join(TRACEFS, 'instances', name)));
    await source.stop(); // still fine after a failed start
    assert.deepEqual(await source.collect(), []);
    assert.deepEqual(await ourInstances(), []);
  });
});
